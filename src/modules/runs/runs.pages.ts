// The runs pages: /runs (the list, live over server-sent events, filtered by deployment and
// status) and /runs/:id (status, attempts, timeline, the log tail growing as the code prints,
// result and output files, a link to its browser's live view while it runs, Cancel and
// Re-run). Who may see and act: runs.access.ts and the API's roles.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { authMacro } from "../../http/plugins/auth";
import { htmlEventStream } from "../../http/sse";
import { html, type SafeHtml } from "../../../views/html";
import { page, seeOther } from "../../../views/ui";
import { roleRank } from "../users/users.service";
import { storageOf } from "../profiles/session-storage";
import { canSeeAll } from "../sessions/sessions.access";
import { runsOf } from "./runs.routes";
import { visibleRun } from "./runs.access";
import { deploymentIdByName, deploymentName, listRunEvents, listRuns, RUN_STATUSES, type RunRow, type RunStatus } from "./runs.store";
import { logTail, runEventsTimeline, runOutput, runRows, runStatusLine } from "./runs.html";

const LIST_LIMIT = 100;
const Filters = t.Object({ deployment: t.Optional(t.String({ maxLength: 64 })), status: t.Optional(t.String({ maxLength: 16 })), v: t.Optional(t.String({ maxLength: 64 })) }, { additionalProperties: false });
const IdParams = t.Object({ id: t.String({ maxLength: 64 }) });

/** Every run state change appends a run event: the newest event id is the list's version. */
function eventsVersion(deps: AppDeps, runId?: string): string {
  const r = runId
    ? deps.db.$client.query<{ v: number | null }, [string]>("SELECT max(id) AS v FROM run_events WHERE run_id = ?").get(runId)
    : deps.db.$client.query<{ v: number | null }, []>("SELECT max(id) AS v FROM run_events").get();
  return String(r?.v ?? 0);
}

export function runPages(deps: AppDeps) {
  const { db } = deps;
  const isMember = (a: Actor) => roleRank(a.role) >= roleRank("member");
  const nameOf = (id: string) => deploymentName(db, id) ?? id;

  function rowsFor(q: { deployment?: string; status?: string }) {
    const status = (RUN_STATUSES as readonly string[]).includes(q.status ?? "") ? (q.status as RunStatus) : undefined;
    const deploymentId = q.deployment ? deploymentIdByName(db, q.deployment) : undefined;
    if (q.deployment && !deploymentId) return [];
    return listRuns(db, { deploymentId, status, limit: LIST_LIMIT });
  }
  const filtered = (q: { deployment?: string; status?: string }) => Boolean(q.deployment || q.status);
  const search = (q: { deployment?: string; status?: string }) => new URLSearchParams(Object.entries({ deployment: q.deployment ?? "", status: q.status ?? "" }).filter(([, v]) => v)).toString();

  /** The run page's live parts; `log` is its log text (the live one while it runs). */
  function parts(actor: Actor, r: RunRow, log: string) {
    return [
      ["run-status", runStatusLine(r, { canAct: isMember(actor), sessionLink: canSeeAll(actor) })],
      ["run-events", runEventsTimeline(listRunEvents(db, r.id))],
      ["run-log", logTail(log, r.id)],
      ["run-output", runOutput(r, storageOf(deps).artifacts.listOfRun(r.id))],
    ] as [string, SafeHtml][];
  }
  const runVersion = (id: string) => `${eventsVersion(deps, id)}.${deps.runs?.logs.liveSize(id) ?? 0}`;

  return new Elysia({ name: "run-pages" })
    .use(authMacro)
    .get(
      "/runs",
      ({ actor, query: q }) => {
        const qs = search(q);
        return page(
          actor,
          "Runs",
          "/runs",
          html`<div class="page-head"><h1>Runs</h1></div>
<form method="get" action="/runs" class="filters" role="search">
<div class="field"><label for="f-deployment">Deployment</label><input id="f-deployment" name="deployment" value="${q.deployment ?? ""}"></div>
<div class="field"><label for="f-status">Status</label><select id="f-status" name="status"><option value="">any</option>${RUN_STATUSES.map((s) => html`<option value="${s}"${q.status === s ? html` selected` : ""}>${s}</option>`)}</select></div>
<button type="submit" class="secondary">Filter</button></form>
<div data-sse="/runs/stream?${qs ? `${qs}&` : ""}v=${eventsVersion(deps)}" data-sse-parts="run-rows"><div class="table-wrap"><table><thead><tr><th scope="col">Run</th><th scope="col">Deployment</th><th scope="col">Status</th><th scope="col">Trigger</th><th scope="col">Attempt</th><th scope="col">Created</th><th scope="col">Duration</th></tr></thead>
<tbody id="run-rows">${runRows(rowsFor(q), nameOf, filtered(q))}</tbody></table></div></div>`,
        );
      },
      { auth: "viewer", query: Filters, detail: { hide: true } },
    )
    .get(
      "/runs/stream",
      ({ query: q, request }) => htmlEventStream(request, { version: () => eventsVersion(deps), render: () => [["run-rows", runRows(rowsFor(q), nameOf, filtered(q))]] }, { since: q.v }),
      { auth: "viewer", query: Filters, detail: { hide: true } },
    )
    .get(
      "/runs/:id",
      async ({ actor, params }) => {
        const r = visibleRun(db, actor, params.id);
        const part = new Map(parts(actor, r, await runsOf(deps).logs.text(r)));
        return page(
          actor,
          `Run ${r.id}`,
          "/runs",
          html`<div class="page-head"><h1>Run <code>${r.id}</code></h1></div>
<p><a href="/runs?deployment=${nameOf(r.deploymentId)}">${nameOf(r.deploymentId)}</a> version ${r.version} · trigger ${r.trigger}${r.rerunOf ? html` · re-run of <a href="/runs/${r.rerunOf}"><code>${r.rerunOf}</code></a>` : ""}</p>
<div data-sse="/runs/${r.id}/stream?v=${runVersion(r.id)}" data-sse-parts="run-status run-events run-log run-output">
<section class="card" aria-labelledby="status-h"><h2 id="status-h">Status</h2><div id="run-status">${part.get("run-status")}</div></section>
<section class="card" aria-labelledby="params-h"><h2 id="params-h">Params</h2><pre class="log">${JSON.stringify(r.params, null, 2)}</pre></section>
<section class="card" aria-labelledby="log-h"><h2 id="log-h">Log</h2><div id="run-log" aria-live="polite">${part.get("run-log")}</div></section>
<section class="card" aria-labelledby="output-h"><h2 id="output-h">Output</h2><div id="run-output">${part.get("run-output")}</div></section>
<section class="card" aria-labelledby="events-h"><h2 id="events-h">Timeline</h2><div id="run-events">${part.get("run-events")}</div></section>
</div>`,
        );
      },
      { auth: "viewer", params: IdParams, detail: { hide: true } },
    )
    .get(
      "/runs/:id/stream",
      ({ actor, params, query: q, request }) => {
        visibleRun(db, actor, params.id);
        const svc = runsOf(deps);
        // The version moves with every run event and every new log line. The last live log seen
        // stays shown once the run's log has gone to the blob store (the page's reload reads it).
        let lastLog = svc.logs.liveText(params.id) ?? "";
        return htmlEventStream(
          request,
          {
            version: () => runVersion(params.id),
            render: () => {
              lastLog = svc.logs.liveText(params.id) ?? lastLog;
              return parts(actor, visibleRun(db, actor, params.id), lastLog);
            },
          },
          { since: q.v, everyMs: 500 },
        );
      },
      { auth: "viewer", params: IdParams, query: t.Object({ v: t.Optional(t.String({ maxLength: 64 })) }), detail: { hide: true } },
    )
    .post(
      "/runs/:id/cancel",
      async ({ actor, params }) => {
        const r = visibleRun(db, actor, params.id);
        await runsOf(deps).cancel(r.id);
        return seeOther(`/runs/${r.id}`);
      },
      { auth: "member", params: IdParams, detail: { hide: true } },
    )
    .post(
      "/runs/:id/rerun",
      async ({ actor, params }) => {
        const r = visibleRun(db, actor, params.id);
        const again = await runsOf(deps).rerun(r.id, actor.userId ?? actor.keyId ?? null);
        return seeOther(`/runs/${again.id}`);
      },
      { auth: "member", params: IdParams, detail: { hide: true } },
    );
}
