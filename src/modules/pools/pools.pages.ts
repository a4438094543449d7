// /pools: capacity, warm size and state of every pool; admins create pools, edit warm size and
// capacity, drain and reopen them. Same services as /api/v1/pools; a refusal is shown next
// to the field it is about.
import { Elysia, t } from "elysia";
import { oneOf } from "../../http/strict-object";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { DomainError } from "../../lib/errors";
import { html, type SafeHtml } from "../../../views/html";
import { badge, empty, input, notice, page, seeOther, select, type FieldErrors } from "../../../views/ui";
import { audit } from "../audit/audit.service";
import { createPool, listPools, updatePool, POOL_CPU_LIMITS, POOL_LIMITS, type Pool, type PoolInput } from "./pools.service";
import { poolView } from "./pools.routes";
import { ALLOW_FORMS } from "../../security/egress/allow-list";
import { listProxies, proxyName } from "../proxies/proxies.service";

/** The pool's default proxy: none or one of the stored proxies. */
function proxyField(deps: AppDeps, form: string, value: string | undefined, error: string | undefined): SafeHtml {
  const options: [string, string][] = [["", "None"], ...listProxies(deps.db).map((x): [string, string] => [x.name, x.name])];
  return select({ name: "proxy", label: "Default proxy", value: value ?? "", options, error, scope: form, attrs: html` form="${form}"` });
}

interface State {
  create?: { values: Record<string, string | undefined>; errors: FieldErrors };
  edit?: { name: string; values: Record<string, string | undefined>; errors: FieldErrors };
  message?: string;
}

const NUMERIC = ["maxSessions", "minWarm", "maxDurationSec", "idleTimeoutSec", "queueTimeoutSec", "storageMb"] as const;
const LABELS: Record<(typeof NUMERIC)[number], string> = {
  maxSessions: "Capacity (max sessions)",
  minWarm: "Warm browsers",
  maxDurationSec: "Max duration (s)",
  idleTimeoutSec: "Idle timeout (s)",
  queueTimeoutSec: "Queue timeout (s)",
  storageMb: "Downloads/uploads cap (MiB)",
};

function numberFields(prefix: string, values: Record<string, string | undefined>, errors: FieldErrors, p?: Pool): SafeHtml {
  return html`${NUMERIC.map((k) => {
    const [min, max] = POOL_LIMITS[k];
    return input({ name: k, label: LABELS[k], type: "number", value: values[k] ?? (p ? String(p[k]) : undefined), error: errors[k], scope: prefix, attrs: html` min="${min}" max="${max}" inputmode="numeric" form="${prefix}"` });
  })}
${input({ name: "cpus", label: "CPUs per browser", type: "number", value: values.cpus ?? (p ? String(p.cpuMillis / 1000) : undefined), error: errors.cpus, scope: prefix, attrs: html` min="${POOL_CPU_LIMITS.min}" max="${POOL_CPU_LIMITS.max}" step="0.001" inputmode="decimal" form="${prefix}"` })}`;
}

/** The egress allow-list: one entry per line. */
function allowField(form: string, value: string, error: string | undefined): SafeHtml {
  const id = `${form}-egressAllow`;
  return html`<div class="field"><label for="${id}">Egress allow-list</label>
<textarea id="${id}" name="egressAllow" form="${form}" rows="3" spellcheck="false" autocomplete="off" aria-describedby="${id}-hint${error ? ` ${id}-error` : ""}"${error ? html` aria-invalid="true"` : ""}>${value}</textarea>
<p class="hint" id="${id}-hint">Private destinations these browsers may reach, one per line: ${ALLOW_FORMS}. Everything private is blocked otherwise.</p>
${error ? html`<p class="error" id="${id}-error">${error}</p>` : ""}</div>`;
}

function poolsPage(deps: AppDeps, actor: Actor, s: State): SafeHtml {
  const admin = actor.role === "admin";
  const pools = listPools(deps.db);
  return html`<div class="page-head"><h1>Pools</h1></div>
${notice(s.message)}
${pools.length ? "" : empty("No pools.")}
${pools.map((p) => {
  const v = poolView(deps, p);
  const ed = s.edit?.name === p.name ? s.edit : undefined;
  return html`<section class="card" id="pool-${p.name}" aria-labelledby="pool-${p.name}-h">
<div class="page-head"><h2 id="pool-${p.name}-h" class="inline-h">${p.name} ${badge(p.state)}</h2>
${
  admin
    ? html`<form method="post" action="/pools/${p.name}/state" class="inline"${p.state === "active" ? html` data-confirm="Drain ${p.name}? Running sessions finish; new ones are refused."` : ""}>
<input type="hidden" name="state" value="${p.state === "active" ? "draining" : "active"}"><button type="submit" class="${p.state === "active" ? "danger" : "secondary"} small">${p.state === "active" ? "Drain" : "Reopen"}</button></form>`
    : ""
}</div>
<dl class="props"><dt>In use</dt><dd>${v.stats.liveSessions} of ${Math.min(p.maxSessions, v.stats.onlineCapacity)} slots${v.stats.queued ? ` · ${v.stats.queued} queued` : ""}</dd>
<dt>Warm</dt><dd>${v.stats.warm.ready} ready${v.stats.warm.starting ? `, ${v.stats.warm.starting} starting` : ""} (target ${p.minWarm})</dd>
<dt>Workers</dt><dd>${v.stats.onlineWorkers} of ${v.stats.workers} online, capacity ${v.stats.onlineCapacity}</dd>
<dt>Browser</dt><dd>${p.flavour}, ${p.viewportWidth} × ${p.viewportHeight}</dd>
<dt>Limits</dt><dd>max ${p.maxDurationSec} s per session · idle ${p.idleTimeoutSec} s · queue ${p.queueTimeoutSec} s</dd>
<dt>Per browser</dt><dd>${p.cpuMillis / 1000} CPU · downloads and uploads up to ${p.storageMb} MiB each</dd>
<dt>Default proxy</dt><dd>${v.proxy ? html`<a href="/proxies/${v.proxy}">${v.proxy}</a>` : html`<span class="muted">none</span>`}</dd></dl>
${
  admin
    ? html`<details${ed ? html` open` : ""}><summary>Edit capacity, warm size, timeouts, proxy and allow-list</summary>
<form method="post" action="/pools/${p.name}" id="edit-${p.name}" novalidate></form>
<div class="form-grid">${numberFields(`edit-${p.name}`, ed?.values ?? {}, ed?.errors ?? {}, p)}
${proxyField(deps, `edit-${p.name}`, ed?.values.proxy ?? (p.proxyId ? (proxyName(deps.db, p.proxyId) ?? "") : ""), ed?.errors.proxy)}</div>
${allowField(`edit-${p.name}`, ed?.values.egressAllow ?? p.egressAllow.join("\n"), ed?.errors.egressAllow)}
<div class="actions"><button type="submit" form="edit-${p.name}">Save ${p.name}</button></div></details>`
    : ""
}
</section>`;
})}
${
  admin
    ? html`<section class="card"><h2>New pool</h2>
<form method="post" action="/pools" id="new-pool" novalidate></form>
<div class="form-grid">
${input({ name: "name", label: "Name", value: s.create?.values.name, error: s.create?.errors.name, hint: "lowercase letters, digits, - and _", scope: "new-pool", attrs: html` maxlength="63" autocomplete="off" form="new-pool"` })}
${select({ name: "flavour", label: "Browser", value: s.create?.values.flavour ?? "headless-shell", options: [["headless-shell", "Headless shell"], ["chromium", "Chromium (full)"]], scope: "new-pool", attrs: html` form="new-pool"` })}
${numberFields("new-pool", s.create?.values ?? {}, s.create?.errors ?? {})}
${proxyField(deps, "new-pool", s.create?.values.proxy, s.create?.errors.proxy)}
</div>
${allowField("new-pool", s.create?.values.egressAllow ?? "", s.create?.errors.egressAllow)}
<div class="actions"><button type="submit" form="new-pool">Create pool</button></div></section>`
    : ""
}`;
}

/** Form strings → PoolInput; a field that is not a whole number gets its message here. */
function parseNumbers(body: Record<string, string | undefined>, errors: FieldErrors): PoolInput {
  const out: Record<string, number> = {};
  for (const k of NUMERIC) {
    const raw = (body[k] ?? "").trim();
    if (raw === "") continue;
    const [min, max] = POOL_LIMITS[k];
    if (!/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) errors[k] = `Enter a whole number from ${min} to ${max}.`;
    else out[k] = Number(raw);
  }
  const cpus = (body.cpus ?? "").trim();
  if (cpus !== "") {
    if (!/^\d{1,2}(\.\d{1,3})?$/.test(cpus) || Number(cpus) < POOL_CPU_LIMITS.min || Number(cpus) > POOL_CPU_LIMITS.max) {
      errors.cpus = `Enter a number of CPUs from ${POOL_CPU_LIMITS.min} to ${POOL_CPU_LIMITS.max}, e.g. 1 or 1.5.`;
    } else out.cpus = Number(cpus);
  }
  return out;
}

/** The service names the field in quotes ("minWarm" cannot exceed …): put it there. */
function fieldOf(e: DomainError, fallback: string): string {
  if (e.code === "unknown_proxy") return "proxy";
  return /^"(\w+)"/.exec(e.message)?.[1] ?? (e.code === "invalid_name" || e.code === "pool_exists" ? "name" : fallback);
}

// Values are short numbers and names, except the allow-list textarea (256 lines of up to 255 characters).
const Form = t.Record(t.String({ maxLength: 32 }), t.String({ maxLength: 66_000 }), { maxProperties: 16 });
const allowLines = (raw: string | undefined) => (raw ?? "").split(/\r?\n/).map((l) => l.trim()).filter(Boolean);

export function poolPages(deps: AppDeps) {
  const render = (actor: Actor, s: State, status = 200) => page(actor, "Pools", "/pools", poolsPage(deps, actor, s), { status });
  return new Elysia({ name: "pool-pages" })
    .use(authMacro)
    .get("/pools", ({ actor }) => render(actor, {}), { auth: "viewer", detail: { hide: true } })
    .post(
      "/pools",
      (ctx) => {
        const { actor, body } = ctx;
        const errors: FieldErrors = {};
        const input = parseNumbers(body, errors);
        const flavour = body.flavour === "chromium" ? "chromium" : "headless-shell";
        if (!body.name?.trim()) errors.name = "Give the pool a name.";
        if (Object.values(errors).some(Boolean)) return render(actor, { create: { values: body, errors } }, 400);
        try {
          const p = createPool(deps.db, body.name!.trim(), { ...input, flavour, egressAllow: allowLines(body.egressAllow), ...(body.proxy ? { proxy: body.proxy } : {}) });
          audit(deps, actor, "pool.created", p.id, { name: p.name }, requestIp(ctx));
          deps.warm?.fill(p.id);
          return seeOther(`/pools#pool-${p.name}`);
        } catch (e) {
          if (!(e instanceof DomainError) || e.status >= 500) throw e;
          return render(actor, { create: { values: body, errors: { [fieldOf(e, "name")]: e.message } } }, e.status);
        }
      },
      { auth: "admin", body: Form, detail: { hide: true } },
    )
    .post(
      "/pools/:name",
      async (ctx) => {
        const { actor, body, params } = ctx;
        const errors: FieldErrors = {};
        const input = parseNumbers(body, errors);
        if (Object.values(errors).some(Boolean)) return render(actor, { edit: { name: params.name, values: body, errors } }, 400);
        try {
          const p = updatePool(deps.db, params.name, {
            ...input,
            ...(body.egressAllow !== undefined ? { egressAllow: allowLines(body.egressAllow) } : {}),
            ...(body.proxy !== undefined ? { proxy: body.proxy === "" ? null : body.proxy } : {}),
          });
          audit(deps, actor, "pool.updated", p.id, { name: p.name, fields: Object.keys(input) }, requestIp(ctx));
          if (body.egressAllow !== undefined) await deps.egress?.poolChanged(p.id);
          void deps.warm?.maintain();
          deps.scheduler.capacity.drain(p.id);
          return seeOther(`/pools#pool-${p.name}`);
        } catch (e) {
          if (!(e instanceof DomainError) || e.status >= 500 || e.status === 404) throw e;
          return render(actor, { edit: { name: params.name, values: body, errors: { [fieldOf(e, "maxSessions")]: e.message } } }, e.status);
        }
      },
      { auth: "admin", params: t.Object({ name: t.String({ maxLength: 63 }) }), body: Form, detail: { hide: true } },
    )
    .post(
      "/pools/:name/state",
      (ctx) => {
        const { actor, body, params } = ctx;
        const p = updatePool(deps.db, params.name, { state: body.state });
        audit(deps, actor, body.state === "draining" ? "pool.drained" : "pool.reopened", p.id, { name: p.name }, requestIp(ctx));
        void deps.warm?.maintain();
        deps.scheduler.capacity.drain(p.id);
        return seeOther(`/pools#pool-${p.name}`);
      },
      { auth: "admin", params: t.Object({ name: t.String({ maxLength: 63 }) }), body: t.Object({ state: oneOf(["active", "draining", "paused"]) }, { additionalProperties: false }), detail: { hide: true } },
    );
}
