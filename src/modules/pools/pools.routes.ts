// /api/v1/pools — thin handlers over pools.service. Everyone signed in reads; admins change.
import { Elysia, t } from "elysia";
import { and, eq, sql } from "drizzle-orm";
import type { AppDeps } from "../../http/context";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { SESSION_TERMINAL, sessions as sessionsTable } from "../../db/schema";
import { audit } from "../audit/audit.service";
import { listWorkers } from "../workers/workers.service";
import { CreatePoolBody, PoolParams, PoolResponse, UpdatePoolBody } from "./pools.schema";
import { assertPoolDeletable, createPool, deletePool, getPool, listPools, updatePool, type Pool } from "./pools.service";
import { listWarm, warmCounts } from "../../scheduler/warm.store";
import { proxyName } from "../proxies/proxies.service";
import { ErrorSchema } from "../../http/errors";

export function poolView(deps: Pick<AppDeps, "db" | "scheduler">, p: Pool) {
  const workers = listWorkers(deps.db, p.id);
  const online = workers.filter((w) => w.status === "online");
  const live = deps.db
    .select({ n: sql<number>`count(*)` })
    .from(sessionsTable)
    .where(and(eq(sessionsTable.poolId, p.id), sql`${sessionsTable.status} NOT IN ${[...SESSION_TERMINAL]}`))
    .get()!.n;
  return {
    id: p.id,
    name: p.name,
    flavour: p.flavour,
    viewport: { width: p.viewportWidth, height: p.viewportHeight },
    maxSessions: p.maxSessions,
    minWarm: p.minWarm,
    maxDurationSec: p.maxDurationSec,
    idleTimeoutSec: p.idleTimeoutSec,
    queueTimeoutSec: p.queueTimeoutSec,
    warmMaxAgeSec: p.warmMaxAgeSec,
    placement: p.placement,
    state: p.state,
    cpus: p.cpuMillis / 1000,
    storageMb: p.storageMb,
    egressAllow: p.egressAllow,
    proxy: p.proxyId ? proxyName(deps.db, p.proxyId) : null,
    createdAt: new Date(p.createdAt).toISOString(),
    stats: {
      liveSessions: live,
      queued: deps.scheduler.capacity.queueDepth(p.id),
      oldestQueuedMs: deps.scheduler.capacity.oldestWaitMs(p.id),
      warm: warmCounts(deps.db, p.id),
      workers: workers.length,
      onlineWorkers: online.length,
      onlineCapacity: online.reduce((n, w) => n + w.capacity, 0),
    },
  };
}

export function poolRoutes(deps: AppDeps) {
  const { db } = deps;
  const detail = (summary: string, description?: string) => ({ tags: ["pools"], summary, ...(description ? { description } : {}) });
  return new Elysia({ name: "pools", prefix: "/api/v1/pools" })
    .use(authMacro)
    .get("/", () => ({ pools: listPools(db).map((p) => poolView(deps, p)) }), {
      auth: "viewer",
      response: t.Object({ pools: t.Array(PoolResponse) }),
      detail: detail("List pools with their load, queue depth and warm browsers"),
    })
    .get("/:name", ({ params }) => poolView(deps, getPool(db, params.name)), {
      auth: "viewer",
      params: PoolParams,
      response: PoolResponse,
      detail: detail("Get one pool"),
    })
    .post(
      "/",
      async (ctx) => {
        const { name, ...input } = ctx.body;
        const p = createPool(db, name, input);
        audit(deps, ctx.actor, "pool.created", p.id, { name }, requestIp(ctx));
        await deps.egress?.poolChanged(p.id); // workers serving every pool allow only what all their pools allow
        deps.warm?.fill(p.id);
        ctx.set.status = 201;
        return poolView(deps, p);
      },
      {
        auth: "admin",
        body: CreatePoolBody,
        response: { 201: PoolResponse, 409: ErrorSchema },
        detail: detail("Create a pool", '409 when a pool of that name exists. Workers that serve "all" pools (the local Docker engine by default) serve it at once; give other workers the pool with PATCH /api/v1/workers/:id {pools}.'),
      },
    )
    .patch(
      "/:name",
      async (ctx) => {
        const p = updatePool(db, ctx.params.name, ctx.body);
        audit(deps, ctx.actor, "pool.updated", p.id, { name: p.name, fields: Object.keys(ctx.body) }, requestIp(ctx));
        if (ctx.body.egressAllow !== undefined) await deps.egress?.poolChanged(p.id); // the guard's rules follow the list
        void deps.warm?.maintain();
        deps.scheduler.capacity.drain(p.id);
        return poolView(deps, p);
      },
      { auth: "admin", params: PoolParams, body: UpdatePoolBody, response: PoolResponse, detail: detail("Change a pool's defaults, limits or state", "Warm browsers that no longer match the pool's defaults are replaced.") },
    )
    .delete(
      "/:name",
      async (ctx) => {
        const before = getPool(db, ctx.params.name);
        const served = listWorkers(db, before.id).map((w) => w.id);
        assertPoolDeletable(db, before); // before its warm browsers are stopped for nothing
        await Promise.all(listWarm(db, before.id).map((w) => deps.warm?.discard(w, "pool deleted")));
        const p = deletePool(db, ctx.params.name);
        audit(deps, ctx.actor, "pool.deleted", p.id, { name: p.name }, requestIp(ctx));
        await Promise.all(served.map((id) => deps.egress?.workerPoolsChanged(id)));
        return { deleted: true, name: p.name };
      },
      {
        auth: "admin",
        params: PoolParams,
        response: { 200: t.Object({ deleted: t.Boolean(), name: t.String() }), 409: ErrorSchema },
        detail: detail(
          "Delete a pool",
          "Only a pool without live sessions, and that no worker serves alone (409 pool_in_use names them: give them other pools first). Its warm browsers are stopped, workers stop serving it, its ended sessions' history goes with it. The default pool stays.",
        ),
      },
    );
}
