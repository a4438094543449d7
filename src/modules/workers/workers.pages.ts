// /workers: health, load and host keys of every worker; admins add a worker (an SSH one in two
// steps: BrowserGrid connects, shows the host key's fingerprint, and stores nothing until
// the admin confirms it), drain, resume and remove. The SSH private key of an unconfirmed
// add waits in memory for at most five minutes, for that login session only, never in a page.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { BadRequest, DomainError } from "../../lib/errors";
import { randomSecret } from "../../lib/ids";
import { html, type SafeHtml } from "../../../views/html";
import { badge, empty, input, notice, page, seeOther, time, type FieldErrors } from "../../../views/ui";
import { HostKeyMismatch } from "../../providers/ssh-connection";
import { probeSshWorker } from "../../providers/ssh-docker";
import { audit } from "../audit/audit.service";
import { listWarm } from "../../scheduler/warm.store";
import { drainWorker, findWorkerByEndpoint, listWorkers, removeDrainedWorkers, requestWorkerRemoval, resumeWorker, updateWorker, validateWorkerInput, type AddWorkerInput } from "./workers.service";
import { addCheckedWorker, checkReachable, poolsChanged } from "./workers.runtime";
import { poolNamesOfWorker } from "./worker-pools";
import { poolNamesFromForm, poolSetFromForm, PoolsFormFields, poolsFieldset } from "./worker-pools.form";

const PENDING_TTL_MS = 5 * 60_000;

interface Pending {
  owner: string;
  input: AddWorkerInput;
  fingerprint: string;
  dockerVersion: string;
  until: number;
}

interface State {
  values?: { endpoint?: string; name?: string; capacity?: string; pools?: "all" | string[] };
  /** A worker's pools form that was refused: its id and the message. */
  poolsError?: { workerId: string; message: string };
  errors?: FieldErrors;
  message?: string;
  confirm?: { id: string; p: Pending };
}

/** The adds waiting for their host key to be confirmed (the expired ones dropped). */
function pendingBox(m: Map<string, Pending>) {
  const now = Date.now();
  for (const [k, v] of m) if (v.until <= now) m.delete(k);
  return m;
}
const ownerOf = (a: Actor) => a.authSessionId ?? a.userId ?? a.keyId ?? "?";

function workersPage(deps: AppDeps, actor: Actor, s: State): SafeHtml {
  const admin = actor.role === "admin";
  const workers = listWorkers(deps.db);
  const v = s.values ?? {};
  const e = s.errors ?? {};
  return html`<div class="page-head"><h1>Workers</h1></div>
${notice(s.message, !!s.errors)}
${deps.egress && !deps.egress.enabled ? notice("The egress guard is OFF (BROWSERGRID_EGRESS_GUARD=off): browsers can reach this host, the cloud metadata endpoint, other sessions and private networks.", true) : ""}
${s.confirm ? confirmCard(s.confirm.id, s.confirm.p) : ""}
<section class="card"><h2>Where browsers run</h2>
${
  workers.length
    ? html`<div class="table-wrap"><table><thead><tr><th scope="col">Worker</th><th scope="col">Health</th><th scope="col">Load</th><th scope="col">Last heartbeat</th>${admin ? html`<th scope="col"><span class="sr-only">Actions</span></th>` : ""}</tr></thead>
<tbody>${workers.map((w) => {
        const served = poolNamesOfWorker(deps.db, w);
        return html`<tr id="worker-${w.name}"><td><strong>${w.name}</strong> <span class="muted small">${w.kind} · ${served === "all" ? "all pools" : served.join(", ")}</span>
<div class="small"><code>${w.endpoint}</code></div>${w.hostKeyFingerprint ? html`<div class="small muted">host key <code>${w.hostKeyFingerprint}</code></div>` : ""}</td>
<td>${badge(w.status)}${w.removeRequestedAt ? html` ${badge("removing")}` : ""}${w.lastError ? html`<div class="error small">${w.lastError}</div>` : ""}${guardCell(deps, w.id)}${timeoutsCell(deps, w.id)}</td>
<td>${deps.scheduler.capacity.loadOf(w.id)} / ${w.capacity}</td><td>${time(w.lastHeartbeatAt)}</td>
${
  admin
    ? html`<td class="actions-cell"><form method="post" action="/workers/${w.id}/${w.status === "draining" ? "resume" : "drain"}" class="inline"><button type="submit" class="secondary small" aria-label="${w.status === "draining" ? "Resume" : "Drain"} ${w.name}">${w.status === "draining" ? "Resume" : "Drain"}</button></form>
<form method="post" action="/workers/${w.id}/remove" class="inline" data-confirm="Remove ${w.name}? It is drained first; it goes when its last session ends."><button type="submit" class="danger small" aria-label="Remove ${w.name}">Remove</button></form>
<details${s.poolsError?.workerId === w.id ? html` open` : ""}><summary>Pools</summary><form method="post" action="/workers/${w.id}/pools">${poolsFieldset(deps.db, `pools-${w.id}`, served, s.poolsError?.workerId === w.id ? s.poolsError.message : undefined)}
<button type="submit" class="small" aria-label="Save the pools of ${w.name}">Save pools</button></form></details></td>`
    : ""
}</tr>`;
      })}</tbody></table></div>`
    : empty("No worker yet.", "Add one below: this host's Docker engine, another host over SSH, or local Chromium processes.")
}
</section>
${
  admin
    ? html`<section class="card"><h2>Add a worker</h2>
<form method="post" action="/workers" novalidate>
<div class="form-grid">
${input({ name: "endpoint", label: "Endpoint", value: v.endpoint, error: e.endpoint, required: true, hint: "ssh://user@host[:port], unix:///var/run/docker.sock or local", attrs: html` maxlength="300" autocomplete="off" spellcheck="false"` })}
${input({ name: "name", label: "Name (optional)", value: v.name, error: e.name, attrs: html` maxlength="63" autocomplete="off"` })}
${input({ name: "capacity", label: "Capacity (browsers)", type: "number", value: v.capacity ?? "10", error: e.capacity, attrs: html` min="1" max="500" inputmode="numeric"` })}
</div>
${poolsFieldset(deps.db, "new-worker-pools", v.pools ?? "all", e.pools)}
<div class="field"><label for="f-sshPrivateKey">SSH private key (SSH workers only)</label>
<textarea id="f-sshPrivateKey" name="sshPrivateKey" rows="4" spellcheck="false" autocomplete="off" aria-describedby="sshPrivateKey-hint${e.sshPrivateKey ? " sshPrivateKey-error" : ""}"${e.sshPrivateKey ? html` aria-invalid="true"` : ""}></textarea>
<p class="hint" id="sshPrivateKey-hint">OpenSSH or PEM, without passphrase; stored encrypted. You confirm the host key before anything is saved.</p>
${e.sshPrivateKey ? html`<p class="error" id="sshPrivateKey-error">${e.sshPrivateKey}</p>` : ""}</div>
<div class="actions"><button type="submit">Check and add</button></div>
</form></section>`
    : ""
}`;
}

/** The egress guard under a worker's health: verified, or missing with the reason (sessions there are refused). */
function guardCell(deps: AppDeps, workerId: string): SafeHtml {
  const g = deps.egress?.status(workerId);
  if (!g || g.state === "off") return html`<div class="small muted">egress guard off</div>`;
  if (g.state === "ok") return html`<div class="small muted">egress guard verified</div>`;
  return html`<div class="error small">egress guard missing: ${g.reason ?? "not verified"} — sessions here are refused</div>`;
}

/** Engine calls past their deadline, per kind, when there were any (a stuck or overloaded engine). */
function timeoutsCell(deps: AppDeps, workerId: string): SafeHtml {
  const late = Object.entries(deps.fleet?.engineTimeoutsOf(workerId) ?? {}).filter(([, n]) => n > 0);
  if (!late.length) return html``;
  return html`<div class="small muted engine-timeouts">engine calls past their deadline: ${late.map(([kind, n]) => `${kind} ${n}`).join(", ")}</div>`;
}

function confirmCard(id: string, p: Pending): SafeHtml {
  return html`<section class="card notice" aria-labelledby="confirm-h" id="confirm-host-key"><h2 id="confirm-h">Confirm the host key of <code>${p.input.endpoint}</code></h2>
<p>BrowserGrid reached the host (Docker ${p.dockerVersion}). It presented this host key:</p>
<p><code class="secret" id="host-key-fingerprint">${p.fingerprint}</code></p>
<p class="hint">Compare it on the host with <code>ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</code>. Once added, a different key is refused.</p>
<div class="actions"><form method="post" action="/workers/confirm" class="inline"><input type="hidden" name="id" value="${id}"><input type="hidden" name="fingerprint" value="${p.fingerprint}"><button type="submit">Trust this key and add the worker</button></form>
<form method="post" action="/workers/confirm" class="inline"><input type="hidden" name="id" value="${id}"><input type="hidden" name="cancel" value="1"><button type="submit" class="secondary">Cancel</button></form></div></section>`;
}

async function discardWarm(deps: AppDeps, workerId: string): Promise<void> {
  await Promise.all(listWarm(deps.db).filter((w) => w.workerId === workerId).map((w) => deps.warm?.discard(w, "worker drained")));
}

const fieldFor = (code: string) => (code === "invalid_endpoint" || code === "worker_unreachable" || code === "host_key_mismatch" ? "endpoint" : code === "invalid_name" ? "name" : code.startsWith("ssh_key") || code === "invalid_ssh_key" ? "sshPrivateKey" : /capacity/.test(code) ? "capacity" : "endpoint");

export function workerPages(deps: AppDeps) {
  // Built with the page (once per app, by createApp in boot.ts): adds waiting for the host-key confirmation.
  const pendingAdds = new Map<string, Pending>();
  const render = (actor: Actor, s: State, status = 200) => page(actor, "Workers", "/workers", workersPage(deps, actor, s), { status });
  const Id = t.Object({ id: t.String({ maxLength: 64, pattern: "^[A-Za-z0-9_]+$" }) });
  return new Elysia({ name: "worker-pages" })
    .use(authMacro)
    .get("/workers", ({ actor }) => render(actor, {}), { auth: "viewer", detail: { hide: true } })
    .post(
      "/workers",
      async (ctx) => {
        const { actor, body } = ctx;
        const values = { endpoint: body.endpoint, name: body.name, capacity: body.capacity, pools: body.allPools ? ("all" as const) : body.pools === undefined ? [] : [body.pools].flat() };
        try {
          let pools;
          try {
            pools = poolSetFromForm(deps.db, body);
          } catch (err) {
            if (err instanceof DomainError) return render(actor, { values, errors: { pools: err.message } }, 400);
            throw err;
          }
          const capacity = (body.capacity ?? "").trim();
          if (capacity && !/^\d{1,3}$/.test(capacity)) return render(actor, { values, errors: { capacity: "Enter a whole number from 1 to 500." } }, 400);
          const input: AddWorkerInput = {
            endpoint: body.endpoint.trim(),
            pools,
            ...(body.name?.trim() ? { name: body.name.trim() } : {}),
            ...(capacity ? { capacity: Number(capacity) } : {}),
            ...(body.sshPrivateKey?.trim() ? { sshPrivateKey: body.sshPrivateKey.trim() + "\n" } : {}),
          };
          const checked = validateWorkerInput(input);
          const existing = findWorkerByEndpoint(deps.db, checked.endpoint.canonical);
          if (existing) return render(actor, { values, errors: { endpoint: `This endpoint is worker “${existing.name}” already.` } }, 409);
          if (checked.endpoint.kind === "ssh") {
            const probe = await probeSshWorker({ endpoint: checked.endpoint.canonical, privateKey: input.sshPrivateKey! }).catch((err: Error) => {
              throw new BadRequest(`Cannot use ${checked.endpoint.canonical}: ${err.message}`, "worker_unreachable");
            });
            const id = randomSecret(16);
            const p: Pending = { owner: ownerOf(actor), input, fingerprint: probe.fingerprint, dockerVersion: probe.dockerVersion, until: Date.now() + PENDING_TTL_MS };
            pendingBox(pendingAdds).set(id, p);
            return render(actor, { confirm: { id, p } });
          }
          await checkReachable(checked.endpoint, input);
          const w = (await addCheckedWorker(deps, actor, requestIp(ctx), input)).worker;
          return seeOther(`/workers#worker-${w.name}`);
        } catch (e) {
          if (!(e instanceof DomainError) || e.status >= 500) throw e;
          return render(actor, { values, errors: { [fieldFor(e.code)]: e.message } }, e.status);
        }
      },
      {
        auth: "admin",
        body: t.Object(
          { endpoint: t.String({ maxLength: 300 }), name: t.Optional(t.String({ maxLength: 100 })), ...PoolsFormFields, capacity: t.Optional(t.String({ maxLength: 10 })), sshPrivateKey: t.Optional(t.String({ maxLength: 16_384 })) },
          { additionalProperties: false },
        ),
        detail: { hide: true },
      },
    )
    .post(
      "/workers/confirm",
      async (ctx) => {
        const { actor, body } = ctx;
        const box = pendingBox(pendingAdds);
        const p = box.get(body.id);
        if (!p || p.owner !== ownerOf(actor)) return render(actor, { message: "That confirmation has expired: add the worker again.", errors: {} }, 410);
        box.delete(body.id);
        if (body.cancel) return render(actor, { message: "Nothing was added." });
        try {
          // Connect again with the key pinned: a different server now is refused, not trusted.
          await probeSshWorker({ endpoint: p.input.endpoint, privateKey: p.input.sshPrivateKey!, hostKeyFingerprint: body.fingerprint ?? p.fingerprint });
          const w = (await addCheckedWorker(deps, actor, requestIp(ctx), p.input, p.fingerprint)).worker;
          return seeOther(`/workers#worker-${w.name}`);
        } catch (e) {
          const message = e instanceof HostKeyMismatch ? e.message : e instanceof DomainError ? e.message : `Cannot use ${p.input.endpoint}: ${(e as Error).message}`;
          return render(actor, { values: { endpoint: p.input.endpoint }, errors: { endpoint: message } }, 400);
        }
      },
      {
        auth: "admin",
        body: t.Object({ id: t.String({ maxLength: 64 }), fingerprint: t.Optional(t.String({ maxLength: 128 })), cancel: t.Optional(t.String({ maxLength: 1 })) }, { additionalProperties: false }),
        detail: { hide: true },
      },
    )
    .post(
      "/workers/:id/pools",
      async (ctx) => {
        const { actor, body, params } = ctx;
        let w;
        try {
          w = updateWorker(deps.db, params.id, { pools: poolSetFromForm(deps.db, body) });
        } catch (e) {
          if (!(e instanceof DomainError) || e.status >= 500 || e.status === 404) throw e;
          return render(actor, { poolsError: { workerId: params.id, message: e.message } }, e.status);
        }
        audit(deps, actor, "worker.updated", w.id, { fields: ["pools"], pools: poolNamesFromForm(body) }, requestIp(ctx));
        await poolsChanged(deps, w);
        return seeOther(`/workers#worker-${w.name}`);
      },
      { auth: "admin", params: Id, body: t.Object(PoolsFormFields, { additionalProperties: false }), detail: { hide: true } },
    )
    .post(
      "/workers/:id/drain",
      async (ctx) => {
        const w = drainWorker(deps.db, ctx.params.id);
        audit(deps, ctx.actor, "worker.drained", w.id, { name: w.name }, requestIp(ctx));
        await discardWarm(deps, w.id);
        return seeOther(`/workers#worker-${w.name}`);
      },
      { auth: "admin", params: Id, detail: { hide: true } },
    )
    .post(
      "/workers/:id/resume",
      async (ctx) => {
        const w = resumeWorker(deps.db, ctx.params.id);
        audit(deps, ctx.actor, "worker.resumed", w.id, { name: w.name }, requestIp(ctx));
        await deps.fleet?.check(w.id);
        return seeOther(`/workers#worker-${w.name}`);
      },
      { auth: "admin", params: Id, detail: { hide: true } },
    )
    .post(
      "/workers/:id/remove",
      async (ctx) => {
        const w = requestWorkerRemoval(deps.db, ctx.params.id);
        audit(deps, ctx.actor, "worker.removal_requested", w.id, { name: w.name, endpoint: w.endpoint }, requestIp(ctx));
        await discardWarm(deps, w.id);
        const removed = removeDrainedWorkers(deps.db).some((r) => r.id === w.id);
        if (removed) deps.fleet?.sync();
        return render(ctx.actor, { message: removed ? `Worker ${w.name} removed.` : `Worker ${w.name} is draining; it goes when its last session ends.` });
      },
      { auth: "admin", params: Id, detail: { hide: true } },
    );
}
