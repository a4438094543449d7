// /schedules: every schedule with its deployment, cron, time zone, overlap policy, an enable
// toggle, the next fire times, statistics and a chart of its last runs; and a create form.
// Viewers read; members create, pause/resume and delete, through the same service and checks as
// the API (a refusal is shown next to its field and nothing is stored). The table refreshes
// itself every 10 s (htmx polling of /schedules/table).
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { DomainError } from "../../lib/errors";
import { html, htmlResponse, type SafeHtml } from "../../../views/html";
import { badge, empty, input, notice, page, select, seeOther, time, type FieldErrors } from "../../../views/ui";
import { audit } from "../audit/audit.service";
import { runsChart } from "./schedules.chart";
import type { ScheduleInput, ScheduleService, ScheduleView } from "./schedules.service";
import { OVERLAP_POLICIES, type OverlapPolicy } from "./schedules.store";
import type { DeploymentPageSlots } from "../deployments/deployments.pages";

interface FormState {
  values?: Record<string, string | undefined>;
  errors?: FieldErrors;
}

const canWrite = (a: Actor) => a.role !== "viewer";
const pct = (x: number | null) => (x === null ? html`<span class="muted">—</span>` : `${Math.round(x * 100)} %`);
const ms = (x: number | null) => (x === null ? "—" : x < 1000 ? `${x} ms` : `${(x / 1000).toFixed(1)} s`);

function toggle(v: ScheduleView, actor: Actor): SafeHtml {
  const { row } = v;
  if (!canWrite(actor)) return badge(row.enabled ? "enabled" : "paused");
  return html`<form method="post" action="/schedules/${row.id}/enabled" class="inline" hx-post="/schedules/${row.id}/enabled" hx-target="#schedule-${row.id}" hx-swap="outerHTML">
<input type="hidden" name="enabled" value="${row.enabled ? "false" : "true"}"><button type="submit" class="secondary small" aria-label="${row.enabled ? "Pause" : "Resume"} schedule ${row.id}">${row.enabled ? "Pause" : "Resume"}</button></form> ${badge(row.enabled ? "enabled" : "paused")}`;
}

export function scheduleRow(v: ScheduleView, actor: Actor): SafeHtml {
  const { row, stats, clock } = v;
  const failure = stats.lastFailure;
  return html`<tr id="schedule-${row.id}"><td>${row.deploymentName}<br><span class="muted small">${row.id}</span></td>
<td><code>${row.cron}</code><br><span class="small">${row.timezone}</span></td><td>${row.overlap}</td><td>${toggle(v, actor)}</td>
<td>${v.nextRuns.length ? html`<ol class="next-runs small">${v.nextRuns.slice(0, 3).map((n) => html`<li>${time(n)}</li>`)}</ol>` : html`<span class="muted">paused</span>`}</td>
<td class="small">${stats.runs} runs · ${pct(stats.successRate)} ok<br>p50 ${ms(stats.p50DurationMs)} · p95 ${ms(stats.p95DurationMs)}
${clock.skipped || clock.missed ? html`<br>${clock.skipped} skipped · ${clock.missed} missed` : ""}
${failure ? html`<br><span class="error">last failure ${time(failure.at)}: ${failure.error ?? failure.status}</span>` : ""}
${clock.lastError ? html`<br><span class="error">trigger failed ${time(clock.lastError.at)}: ${clock.lastError.message}</span>` : ""}</td>
<td>${runsChart(stats.recentRuns)}</td>
<td>${canWrite(actor) ? html`<form method="post" action="/schedules/${row.id}/delete" class="inline" data-confirm="Delete this schedule of ${row.deploymentName}?"><button type="submit" class="danger small">Delete</button></form>` : ""}</td></tr>`;
}

function table(views: ScheduleView[], actor: Actor): SafeHtml {
  return html`<div id="schedules-table" hx-get="/schedules/table" hx-trigger="every 10s" hx-swap="outerHTML">${
    views.length
      ? html`<div class="table-wrap"><table class="schedules"><thead><tr><th scope="col">Deployment</th><th scope="col">Cron</th><th scope="col">Overlap</th><th scope="col">Enabled</th><th scope="col">Next runs</th><th scope="col">Statistics</th><th scope="col">Last runs</th><th scope="col"></th></tr></thead>
<tbody>${views.map((v) => scheduleRow(v, actor))}</tbody></table></div>`
      : empty("No schedules yet.", canWrite(actor) ? "Create one below." : "A member can create them.")
  }</div>`;
}

/** The deployments pages' slot: a deployment's own schedules on its page; none where this process has no schedules. */
export function scheduleDeploymentSlots(deps: AppDeps): Pick<DeploymentPageSlots, "schedules"> {
  const svc = deps.schedules;
  if (!svc) return {};
  return {
    schedules: (d, actor) => {
      const views = svc.list({ deployment: d.name });
      const manage = html`<p class="small"><a href="/schedules">${canWrite(actor) ? "Create or change schedules on the Schedules page" : "All schedules"}</a></p>`;
      if (!views.length) return html`${empty("No schedules of this deployment.", canWrite(actor) ? "Create one on the Schedules page." : "A member can create them.")}${manage}`;
      return html`<div class="table-wrap"><table class="schedules"><thead><tr><th scope="col">Deployment</th><th scope="col">Cron</th><th scope="col">Overlap</th><th scope="col">Enabled</th><th scope="col">Next runs</th><th scope="col">Statistics</th><th scope="col">Last runs</th><th scope="col"></th></tr></thead>
<tbody>${views.map((v) => scheduleRow(v, actor))}</tbody></table></div>${manage}`;
    },
  };
}

function createForm(deployments: string[], s: FormState): SafeHtml {
  const v = s.values ?? {};
  const e = s.errors ?? {};
  if (!deployments.length) return html`<section class="card"><h2>New schedule</h2>${empty("No deployments yet.", "Deploy code first; then schedule it here.")}</section>`;
  return html`<section class="card"><h2>New schedule</h2><form method="post" action="/schedules" novalidate>${notice(e.form, true)}
${select({ name: "deployment", label: "Deployment", value: v.deployment, error: e.deployment, options: deployments.map((d) => [d, d]) })}
${input({ name: "cron", label: "Cron", value: v.cron ?? "0 * * * *", error: e.cron, required: true, hint: "5 fields (minute hour day month weekday), or 6 with a leading seconds field: */30 * * * * * is every 30 s.", attrs: html` maxlength="200" spellcheck="false" autocomplete="off"` })}
${input({ name: "timezone", label: "Time zone", value: v.timezone ?? "UTC", error: e.timezone, hint: "IANA name, e.g. UTC, Europe/Berlin, America/New_York.", attrs: html` maxlength="64" autocomplete="off"` })}
${select({ name: "overlap", label: "When a run of it is still going", value: v.overlap ?? "skip", options: [["skip", "skip the tick"], ["queue", "queue another run"], ["allow", "start another run"]] })}
${select({ name: "catchUp", label: "After a server restart", value: v.catchUp ?? "1", options: [["1", "run the latest missed tick"], ["0", "run none of the missed ticks"]] })}
<div class="field"><label for="f-params">Params (JSON object)</label><textarea id="f-params" name="params" rows="4" maxlength="16000" spellcheck="false"${e.params ? html` aria-invalid="true" aria-describedby="params-error"` : ""}>${v.params ?? "{}"}</textarea>${e.params ? html`<p class="error" id="params-error">${e.params}</p>` : ""}</div>
<div class="actions"><button type="submit">Create schedule</button></div></form></section>`;
}

function listPage(svc: ScheduleService | undefined, actor: Actor, s: FormState): SafeHtml {
  if (!svc) return html`<div class="page-head"><h1>Schedules</h1></div>${notice("Schedules are not available on this server: it runs without the runs service.", true)}`;
  return html`<div class="page-head"><h1>Schedules</h1></div>
<section class="card"><h2>Cron schedules</h2><p class="muted small">Times are shown in your local time. Statistics come from the runs each schedule started; skipped and missed ticks are counted since the server started.</p>${table(svc.list(), actor)}</section>
${canWrite(actor) ? createForm(svc.deploymentNames(), s) : ""}`;
}

const Form = t.Object(
  {
    deployment: t.Optional(t.String({ maxLength: 128 })),
    cron: t.Optional(t.String({ maxLength: 400 })),
    timezone: t.Optional(t.String({ maxLength: 128 })),
    overlap: t.Optional(t.String({ maxLength: 16 })),
    catchUp: t.Optional(t.String({ maxLength: 4 })),
    params: t.Optional(t.String({ maxLength: 16000 })),
  },
  { additionalProperties: false },
);
const Params = t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) });

/** Form values → service input; problems found before the service sees them go to `errors`. */
function inputOf(body: typeof Form.static, errors: FieldErrors): ScheduleInput & { deployment: string } {
  const deployment = (body.deployment ?? "").trim();
  if (!deployment) errors.deployment = "Choose a deployment.";
  const cron = (body.cron ?? "").trim();
  if (!cron) errors.cron = "Enter a cron expression.";
  const overlap = (OVERLAP_POLICIES as readonly string[]).includes(body.overlap ?? "skip") ? ((body.overlap ?? "skip") as OverlapPolicy) : undefined;
  if (!overlap) errors.form = "Choose skip, queue or allow for overlapping runs.";
  let params: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(body.params?.trim() || "{}");
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error();
    params = parsed as Record<string, unknown>;
  } catch {
    errors.params = 'Params must be a JSON object, e.g. {"url": "https://example.com"}.';
  }
  return { deployment, cron, timezone: (body.timezone ?? "").trim() || "UTC", overlap, catchUp: body.catchUp === "0" ? 0 : 1, params };
}

function fieldOf(e: DomainError): string {
  if (e.code === "invalid_cron") return "cron";
  if (e.code === "invalid_timezone") return "timezone";
  if (e.status === 404) return "deployment";
  if (e.status === 400) return "params";
  return "form";
}

export function schedulePages(deps: AppDeps) {
  const render = (a: Actor, s: FormState, status = 200) => page(a, "Schedules", "/schedules", listPage(deps.schedules, a, s), { status });
  const refused = (e: unknown): e is DomainError => e instanceof DomainError && e.status < 500;

  return new Elysia({ name: "schedule-pages" })
    .use(authMacro)
    .get("/schedules", ({ actor }) => render(actor, {}), { auth: "viewer", detail: { hide: true } })
    .get("/schedules/table", ({ actor }) => htmlResponse(deps.schedules ? table(deps.schedules.list(), actor) : html``), { auth: "viewer", detail: { hide: true } })
    .post(
      "/schedules",
      async (ctx) => {
        const { actor, body } = ctx;
        const svc = deps.schedules;
        if (!svc) return render(actor, {}, 503);
        const errors: FieldErrors = {};
        const { deployment, ...input } = inputOf(body, errors);
        if (Object.values(errors).some(Boolean)) return render(actor, { values: body, errors }, 400);
        try {
          const v = await svc.create(deployment, input, actor.userId ?? null);
          audit(deps, actor, "schedule.created", v.row.id, { deployment, cron: v.row.cron, timezone: v.row.timezone, overlap: v.row.overlap, via: "ui" }, requestIp(ctx));
          return seeOther(`/schedules#schedule-${v.row.id}`);
        } catch (e) {
          if (!refused(e)) throw e;
          return render(actor, { values: body, errors: { [fieldOf(e)]: e.message } }, e.status);
        }
      },
      { auth: "member", body: Form, detail: { hide: true } },
    )
    .post(
      "/schedules/:id/enabled",
      async (ctx) => {
        const { actor, params, body, request } = ctx;
        const svc = deps.schedules;
        if (!svc) return render(actor, {}, 503);
        const v = await svc.update(params.id, { enabled: body.enabled === "true" });
        audit(deps, actor, "schedule.updated", v.row.id, { deployment: v.row.deploymentName, fields: ["enabled"], enabled: v.row.enabled, via: "ui" }, requestIp(ctx));
        return request.headers.get("hx-request") ? htmlResponse(scheduleRow(v, actor)) : seeOther(`/schedules#schedule-${v.row.id}`);
      },
      { auth: "member", params: Params, body: t.Object({ enabled: t.Union([t.Literal("true"), t.Literal("false")]) }), detail: { hide: true } },
    )
    .post(
      "/schedules/:id/delete",
      (ctx) => {
        const svc = deps.schedules;
        if (!svc) return render(ctx.actor, {}, 503);
        const row = svc.remove(ctx.params.id);
        audit(deps, ctx.actor, "schedule.deleted", row.id, { deployment: row.deploymentName, cron: row.cron, via: "ui" }, requestIp(ctx));
        return seeOther("/schedules");
      },
      { auth: "member", params: Params, detail: { hide: true } },
    );
}
