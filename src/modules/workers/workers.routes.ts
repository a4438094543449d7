// /api/v1/workers — thin handlers. Adding an endpoint that exists returns its worker (200, not a
// second row); an ssh:// worker is contacted before anything is stored (host key pinned, Docker
// asked for its version); DELETE drains first (202 until the last session has ended). A worker
// serves "all" pools or a list (worker-pools.ts); PATCH changes the list.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { BadRequest, Conflict } from "../../lib/errors";
import { audit } from "../audit/audit.service";
import { findPoolByName } from "../pools/pools.service";
import { listWarm } from "../../scheduler/warm.store";
import { addCheckedWorker, checkReachable, poolsChanged } from "./workers.runtime";
import { poolNamesOfWorker, resolvePoolNames } from "./worker-pools";
import { AddWorkerBody, ListWorkersQuery, UpdateWorkerBody, WorkerParams, WorkerResponse } from "./workers.schema";
import {
  drainWorker,
  findWorkerByEndpoint,
  getWorker,
  listWorkers,
  liveSessionCount,
  removeDrainedWorkers,
  requestWorkerRemoval,
  resumeWorker,
  updateWorker,
  validateWorkerInput,
  type AddWorkerInput,
  type Worker,
} from "./workers.service";

export function workerView(deps: Pick<AppDeps, "db" | "scheduler" | "egress" | "fleet">, w: Worker) {
  const iso = (ms: number | null) => (ms ? new Date(ms).toISOString() : null);
  const pools = poolNamesOfWorker(deps.db, w);
  return {
    id: w.id,
    name: w.name,
    pools,
    pool: pools !== "all" && pools.length === 1 ? pools[0]! : null,
    endpoint: w.endpoint,
    kind: w.kind,
    capacity: w.capacity,
    load: deps.scheduler.capacity.loadOf(w.id),
    labels: w.labels ?? {},
    status: w.status,
    removing: w.removeRequestedAt !== null,
    lastHeartbeatAt: iso(w.lastHeartbeatAt),
    lastError: w.lastError,
    hostKeyFingerprint: w.hostKeyFingerprint,
    egressGuard: guardView(deps, w.id),
    engineTimeouts: deps.fleet?.engineTimeoutsOf(w.id) ?? {},
    createdAt: iso(w.createdAt)!,
  };
}

function guardView(deps: Pick<AppDeps, "egress">, workerId: string) {
  const s = deps.egress?.status(workerId) ?? { state: "missing" as const, reason: "no egress guard in this process", verifiedAt: null };
  return { state: s.state, reason: s.reason, verifiedAt: s.verifiedAt ? new Date(s.verifiedAt).toISOString() : null };
}


export function workerRoutes(deps: AppDeps) {
  const { db } = deps;
  const detail = (summary: string, description?: string) => ({ tags: ["workers"], summary, ...(description ? { description } : {}) });
  return new Elysia({ name: "workers", prefix: "/api/v1/workers" })
    .use(authMacro)
    .get(
      "/",
      ({ query }) => {
        const pool = query.pool ? findPoolByName(db, query.pool) : undefined;
        if (query.pool && !pool) return { workers: [] };
        return { workers: listWorkers(db, pool?.id).map((w) => workerView(deps, w)) };
      },
      { auth: "viewer", query: ListWorkersQuery, response: t.Object({ workers: t.Array(WorkerResponse) }), detail: detail("List workers with status, heartbeat and load") },
    )
    .get("/:id", ({ params }) => workerView(deps, getWorker(db, params.id)), {
      auth: "viewer",
      params: WorkerParams,
      response: WorkerResponse,
      detail: detail("Get one worker"),
    })
    .post(
      "/",
      async (ctx) => {
        const { pool, pools, ...body } = ctx.body;
        if (pool !== undefined && pools !== undefined) throw new BadRequest('Give "pools" (a list, or "all") or the older "pool", not both.', "pools_conflict");
        const requested = pools ?? (pool !== undefined ? [pool] : undefined);
        const input: AddWorkerInput = { ...body, pools: requested ? resolvePoolNames(db, requested) : "all" };
        const checked = validateWorkerInput(input);
        if (!requested && checked.endpoint.kind !== "docker") input.pools = resolvePoolNames(db, ["default"]);
        const existing = findWorkerByEndpoint(db, checked.endpoint.canonical);
        if (existing?.removeRequestedAt) throw new Conflict(`Worker ${existing.name} at this endpoint is being removed; add it again once it is gone.`, "worker_removing");
        if (existing) return workerView(deps, existing); // one endpoint is one worker: 200 with the row that exists
        const fingerprint = await checkReachable(checked.endpoint, input);
        const { worker, created } = await addCheckedWorker(deps, ctx.actor, requestIp(ctx), input, fingerprint);
        if (!created) return workerView(deps, worker); // a concurrent add won the race
        ctx.set.status = 201;
        return workerView(deps, getWorker(db, worker.id));
      },
      {
        auth: "admin",
        body: AddWorkerBody,
        response: { 200: WorkerResponse, 201: WorkerResponse },
        detail: detail(
          "Add a worker",
          "201 when added, 200 with the existing worker when the endpoint is known already. ssh:// workers are contacted first: the host key is pinned (hostKeyFingerprint in the response) and a changed key is refused later.",
        ),
      },
    )
    .patch(
      "/:id",
      async (ctx) => {
        const { pools, ...rest } = ctx.body;
        const w = updateWorker(db, ctx.params.id, { ...rest, ...(pools !== undefined ? { pools: resolvePoolNames(db, pools) } : {}) });
        audit(deps, ctx.actor, "worker.updated", w.id, { fields: Object.keys(ctx.body), ...(pools !== undefined ? { pools } : {}) }, requestIp(ctx));
        if (pools !== undefined) await poolsChanged(deps, w);
        else deps.scheduler.capacity.drainAll(); // more capacity: queued requests may take it now
        return workerView(deps, w);
      },
      {
        auth: "admin",
        params: WorkerParams,
        body: UpdateWorkerBody,
        response: WorkerResponse,
        detail: detail(
          "Rename a worker, change its capacity, labels or the pools it serves",
          'pools: "all" or a non-empty list of pool names (400 unknown_pool names an unknown one, 400 no_pools for an empty list). Sessions running on it keep running; its warm browsers of pools it no longer serves are stopped.',
        ),
      },
    )
    .post(
      "/:id/egress-guard",
      async (ctx) => {
        const w = getWorker(db, ctx.params.id);
        if (!deps.egress) throw new BadRequest("This process has no egress guard.", "feature_unavailable");
        const s = await deps.egress.install(w.id);
        audit(deps, ctx.actor, "worker.egress_guard_applied", w.id, { name: w.name, state: s.state, reason: s.reason }, requestIp(ctx));
        return workerView(deps, getWorker(db, w.id));
      },
      {
        auth: "admin",
        params: WorkerParams,
        response: WorkerResponse,
        detail: detail(
          "Install the worker's egress guard again",
          "Re-applies the nftables guard on the worker's host (creating it when it vanished, e.g. after a reboot or a manual delete) and verifies it; egressGuard in the response says whether it is in place. A guard that vanishes while BrowserGrid runs is never re-installed by itself: sessions there are refused (503 egress_guard_missing) until this is called or BrowserGrid restarts.",
        ),
      },
    )
    .post(
      "/:id/drain",
      async (ctx) => {
        const w = drainWorker(db, ctx.params.id);
        audit(deps, ctx.actor, "worker.drained", w.id, { name: w.name }, requestIp(ctx));
        await discardWarm(deps, w.id);
        return workerView(deps, w);
      },
      { auth: "admin", params: WorkerParams, response: WorkerResponse, detail: detail("Drain a worker: no new sessions, running ones finish") },
    )
    .post(
      "/:id/resume",
      async (ctx) => {
        const w = resumeWorker(db, ctx.params.id);
        audit(deps, ctx.actor, "worker.resumed", w.id, { name: w.name }, requestIp(ctx));
        await deps.fleet?.check(w.id);
        return workerView(deps, getWorker(db, w.id));
      },
      { auth: "admin", params: WorkerParams, response: WorkerResponse, detail: detail("End draining; the worker takes sessions again once it answers") },
    )
    .delete(
      "/:id",
      async (ctx) => {
        const w = requestWorkerRemoval(db, ctx.params.id);
        audit(deps, ctx.actor, "worker.removal_requested", w.id, { name: w.name, endpoint: w.endpoint }, requestIp(ctx));
        await discardWarm(deps, w.id);
        const last = workerView(deps, getWorker(db, w.id)); // its pools, read while its relations exist
        const removed = removeDrainedWorkers(db).some((r) => r.id === w.id);
        if (removed) deps.fleet?.sync();
        ctx.set.status = removed ? 200 : 202;
        return { removed, liveSessions: removed ? 0 : liveSessionCount(db, w.id), worker: last };
      },
      {
        auth: "admin",
        params: WorkerParams,
        response: { 200: t.Object({ removed: t.Boolean(), liveSessions: t.Number(), worker: WorkerResponse }), 202: t.Object({ removed: t.Boolean(), liveSessions: t.Number(), worker: WorkerResponse }) },
        detail: detail("Remove a worker", "Drains it first: 200 when it is gone now, 202 while sessions still run on it (the row goes when the last one ends)."),
      },
    );
}

async function discardWarm(deps: AppDeps, workerId: string): Promise<void> {
  await Promise.all(listWarm(deps.db).filter((w) => w.workerId === workerId).map((w) => deps.warm?.discard(w, "worker drained")));
}
