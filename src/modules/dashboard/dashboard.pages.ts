// `/`: the dashboard — running, queued and warm browsers, capacity per pool, workers' health
// and recent failures. It updates itself over server-sent events when a session changes
// state, a worker's status changes or the warm pool moves.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import { authMacro } from "../../http/plugins/auth";
import { htmlEventStream } from "../../http/sse";
import { html, type SafeHtml } from "../../../views/html";
import { badge, empty, page, time } from "../../../views/ui";
import { listPools } from "../pools/pools.service";
import { listWorkers } from "../workers/workers.service";
import { explicitPoolsByWorker, poolSetOf, servesPool } from "../workers/worker-pools";

interface Counts {
  poolId: string;
  status: string;
  n: number;
}

function snapshot(deps: AppDeps) {
  const q = deps.db.$client;
  const bySession = q.query<Counts, []>("SELECT pool_id AS poolId, status, count(*) AS n FROM sessions WHERE status IN ('queued','starting','running','paused','stopping') GROUP BY pool_id, status").all();
  const byWorker = new Map(
    q.query<{ workerId: string; n: number }, []>("SELECT worker_id AS workerId, count(*) AS n FROM sessions WHERE status IN ('starting','running','paused','stopping') AND worker_id IS NOT NULL GROUP BY worker_id").all().map((r) => [r.workerId, r.n]),
  );
  const warm = new Map(q.query<{ poolId: string; n: number }, []>("SELECT pool_id AS poolId, count(*) AS n FROM warm_browsers WHERE status = 'ready' GROUP BY pool_id").all().map((r) => [r.poolId, r.n]));
  const failures = q
    .query<{ id: string; status: string; endReason: string | null; endedAt: number | null }, []>(
      "SELECT id, status, end_reason AS endReason, ended_at AS endedAt FROM sessions WHERE status IN ('failed','crashed','timed_out') ORDER BY ended_at DESC LIMIT 8",
    )
    .all();
  return { bySession, byWorker, warm, failures, pools: listPools(deps.db), workers: listWorkers(deps.db), explicit: explicitPoolsByWorker(deps.db) };
}

function version(deps: AppDeps): string {
  const q = deps.db.$client;
  const ev = q.query<{ v: number | null }, []>("SELECT max(id) AS v FROM session_events").get()?.v ?? 0;
  const w = q.query<{ v: string | null }, []>("SELECT group_concat(id || status || capacity || all_pools || coalesce(last_error, '')) || (SELECT count(*) FROM worker_pools) AS v FROM workers").get()?.v ?? "";
  const p = q.query<{ v: string | null }, []>("SELECT group_concat(id || state || max_sessions || min_warm) AS v FROM pools").get()?.v ?? "";
  const warm = q.query<{ v: number }, []>("SELECT count(*) AS v FROM warm_browsers WHERE status = 'ready'").get()?.v ?? 0;
  return `${ev}.${warm}.${Bun.hash(w + p).toString(36)}`;
}

function stat(label: string, value: number | string, detail: string): SafeHtml {
  return html`<div class="card stat-card"><p class="stat-label">${label}</p><p class="stat">${value}</p><p class="muted small">${detail}</p></div>`;
}

function body(deps: AppDeps): SafeHtml {
  const s = snapshot(deps);
  const sum = (status: string[], poolId?: string) => s.bySession.filter((c) => status.includes(c.status) && (!poolId || c.poolId === poolId)).reduce((a, c) => a + c.n, 0);
  const running = sum(["running", "paused"]);
  const queued = sum(["queued"]);
  const starting = sum(["starting"]);
  const warm = [...s.warm.values()].reduce((a, n) => a + n, 0);
  const online = s.workers.filter((w) => w.status === "online").length;
  const poolName = new Map(s.pools.map((p) => [p.id, p.name]));
  const serves = (w: { id: string; allPools: boolean }, poolId: string) => servesPool(poolSetOf(w, s.explicit), poolId);
  const servedNames = (w: { id: string; allPools: boolean }) => (w.allPools ? "all pools" : (s.explicit.get(w.id) ?? []).map((id) => poolName.get(id) ?? id).join(", "));

  return html`<div class="grid stats">
${stat("Running", running, starting ? `${starting} starting` : "sessions with a browser")}
${stat("Queued", queued, "waiting for a free slot")}
${stat("Warm", warm, "browsers ready to claim")}
${stat("Workers online", `${online} / ${s.workers.length}`, s.workers.length ? "reachable now" : "no worker registered")}
</div>
<div class="two-col">
<section class="card"><h2>Capacity per pool</h2>
${
  s.pools.length
    ? html`<div class="table-wrap"><table><thead><tr><th scope="col">Pool</th><th scope="col">In use</th><th scope="col">Warm</th><th scope="col">Queued</th></tr></thead><tbody>${s.pools.map((p) => {
        const used = sum(["starting", "running", "paused", "stopping"], p.id);
        // Shared workers count whole for each pool they serve: an upper bound, as the pools compete for them.
        const workerCap = s.workers.filter((w) => serves(w, p.id) && w.status === "online").reduce((a, w) => a + w.capacity, 0);
        const cap = Math.min(p.maxSessions, workerCap);
        const pct = cap ? Math.min(100, Math.round((used / cap) * 100)) : 0;
        return html`<tr><td><a href="/sessions?pool=${p.name}">${p.name}</a> ${p.state !== "active" ? badge(p.state) : ""}</td>
<td><meter min="0" max="${Math.max(cap, 1)}" value="${used}" aria-label="${p.name}: ${used} of ${cap} slots in use">${pct}%</meter> <span class="small">${used} / ${cap}</span></td>
<td>${s.warm.get(p.id) ?? 0} / ${p.minWarm}</td><td>${sum(["queued"], p.id)}</td></tr>`;
      })}</tbody></table></div>`
    : empty("No pools.")
}
</section>
<section class="card"><h2>Workers</h2>
${
  s.workers.length
    ? html`<div class="table-wrap"><table><thead><tr><th scope="col">Worker</th><th scope="col">Health</th><th scope="col">Sessions</th><th scope="col">Last heartbeat</th></tr></thead><tbody>${s.workers.map(
        (w) => html`<tr><td>${w.name} <span class="muted small">${w.kind} · ${servedNames(w)}</span></td>
<td>${badge(w.status)}${w.lastError ? html`<div class="error small">${w.lastError}</div>` : ""}</td>
<td>${s.byWorker.get(w.id) ?? 0} / ${w.capacity}</td><td>${time(w.lastHeartbeatAt)}</td></tr>`,
      )}</tbody></table></div>`
    : empty("No worker yet.", html`Sessions need one: start Docker on this host, or <a href="/workers">add a worker</a>.`)
}
</section>
</div>
<section class="card"><h2>Recent failures</h2>
${
  s.failures.length
    ? html`<ul class="plain">${s.failures.map(
        (f) => html`<li><a href="/sessions/${f.id}"><code>${f.id}</code></a> ${badge(f.status)} <span class="muted">${f.endReason ?? ""}</span> ${time(f.endedAt)}</li>`,
      )}</ul>`
    : empty("No failed, crashed or timed-out session.", "")
}
</section>`;
}

export function dashboardPages(deps: AppDeps) {
  return new Elysia({ name: "dashboard" })
    .use(authMacro)
    .get(
      "/",
      ({ actor }) =>
        page(
          actor,
          "Dashboard",
          "/",
          html`<div class="page-head"><h1>Dashboard</h1><div class="actions"><a class="button" href="/sessions#new-session">New session</a><a class="button secondary" href="/quickstart">Connect a script</a></div></div>
<div data-sse="/dashboard/stream?v=${version(deps)}" data-sse-parts="dashboard-body"><div id="dashboard-body" aria-live="polite">${body(deps)}</div></div>`,
        ),
      { auth: "viewer", detail: { hide: true } },
    )
    .get(
      "/dashboard/stream",
      ({ request, query }) => htmlEventStream(request, { version: () => version(deps), render: () => [["dashboard-body", body(deps)]] }, { since: query.v, everyMs: 2000 }),
      { auth: "viewer", query: t.Object({ v: t.Optional(t.String({ maxLength: 64 })) }, { additionalProperties: false }), detail: { hide: true } },
    );
}
