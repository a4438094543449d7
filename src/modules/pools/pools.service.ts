// Work pools: named capacity with defaults (browser flavour and viewport, limits, warm size,
// placement). Every install has a pool named "default", which cannot be deleted.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { selectRows } from "../../db/fast-rows";
import { pools, SESSION_TERMINAL, sessions, warmBrowsers } from "../../db/schema";
import { BadRequest, Conflict, NotFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { normalizeAllowList } from "../../security/egress/allow-list";
import { resolveProxyId } from "../proxies/proxies.service";
import type { BrowserLimits } from "../../providers/provider";

export type Pool = typeof pools.$inferSelect;

/** Fields a user may set; limits are enforced by the route schema and again here. */
export interface PoolInput {
  flavour?: Pool["flavour"];
  viewport?: { width: number; height: number };
  maxSessions?: number;
  minWarm?: number;
  maxDurationSec?: number;
  idleTimeoutSec?: number;
  queueTimeoutSec?: number;
  warmMaxAgeSec?: number;
  placement?: Pool["placement"];
  state?: Pool["state"];
  /** Egress allow-list entries (src/security/egress/allow-list.ts); replaces the whole list. */
  egressAllow?: string[];
  /** Default proxy of the pool's sessions (name or id); null: none. */
  proxy?: string | null;
  /** CPU limit of each browser, in CPUs (0.1 … 64, up to three decimals). */
  cpus?: number;
  /** Size cap of each writable place of a browser (downloads, uploads), MiB. */
  storageMb?: number;
}

export const POOL_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const POOL_LIMITS = {
  maxSessions: [1, 1000],
  minWarm: [0, 100],
  maxDurationSec: [10, 7 * 24 * 3600],
  idleTimeoutSec: [1, 24 * 3600],
  queueTimeoutSec: [0, 600],
  warmMaxAgeSec: [60, 7 * 24 * 3600],
  // Each writable place is tmpfs inside the container's memory limit (1 GiB): kept well below it.
  storageMb: [16, 768],
} as const;

/** CPUs one browser container may use: a tenth of a core up to a large host's cores. */
export const POOL_CPU_LIMITS = { min: 0.1, max: 64 } as const;

/** What a pool's row means for its browser containers (the provider applies it, docker-container.ts). */
export function browserLimitsOf(pool: Pick<Pool, "cpuMillis" | "storageMb">): BrowserLimits {
  return { nanoCpus: pool.cpuMillis * 1_000_000, storageBytes: pool.storageMb * 1024 * 1024 };
}

function cpuMillisOf(cpus: number): number {
  const millis = Math.round(cpus * 1000);
  if (!Number.isFinite(cpus) || cpus < POOL_CPU_LIMITS.min || cpus > POOL_CPU_LIMITS.max || Math.abs(millis - cpus * 1000) > 1e-6) {
    throw new BadRequest(`"cpus" must be a number of CPUs from ${POOL_CPU_LIMITS.min} to ${POOL_CPU_LIMITS.max} with at most three decimals, e.g. 1 or 1.5.`);
  }
  return millis;
}

export function ensureDefaultPool(db: Db): Pool {
  const existing = db.select().from(pools).where(eq(pools.name, "default")).get();
  if (existing) return existing;
  db.insert(pools).values({ id: newId("pool"), name: "default" }).onConflictDoNothing().run();
  return db.select().from(pools).where(eq(pools.name, "default")).get()!;
}

// Both are on every session create (and the capacity checks): cached statements, not the builder.
export function findPoolByName(db: Db, name: string): Pool | undefined {
  return selectRows(db.$client, pools, "name = ?", [name])[0];
}

export function findPoolById(db: Db, id: string): Pool | undefined {
  return selectRows(db.$client, pools, "id = ?", [id])[0];
}

export function listPools(db: Db): Pool[] {
  return db.select().from(pools).orderBy(pools.name).all();
}

export function getPool(db: Db, name: string): Pool {
  const p = findPoolByName(db, name);
  if (!p) throw new NotFound(`Pool "${name.slice(0, 64)}"`);
  return p;
}

function columns(input: PoolInput): Partial<typeof pools.$inferInsert> {
  for (const [k, [min, max]] of Object.entries(POOL_LIMITS)) {
    const v = input[k as keyof typeof POOL_LIMITS];
    if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) throw new BadRequest(`"${k}" must be a whole number from ${min} to ${max}.`);
  }
  const out: Partial<typeof pools.$inferInsert> = {};
  for (const k of ["flavour", "maxSessions", "minWarm", "maxDurationSec", "idleTimeoutSec", "queueTimeoutSec", "warmMaxAgeSec", "placement", "state", "storageMb"] as const)
    if (input[k] !== undefined) (out as Record<string, unknown>)[k] = input[k];
  if (input.cpus !== undefined) out.cpuMillis = cpuMillisOf(input.cpus);
  if (input.egressAllow !== undefined) out.egressAllow = normalizeAllowList(input.egressAllow, '"egressAllow"');
  if (input.viewport) {
    out.viewportWidth = input.viewport.width;
    out.viewportHeight = input.viewport.height;
  }
  return out;
}

/** The pool's default proxy column: 400 unknown_proxy when the name matches no stored proxy. */
function proxyColumn(db: Pick<Db, "select">, input: PoolInput): Partial<typeof pools.$inferInsert> {
  if (input.proxy === undefined) return {};
  return { proxyId: input.proxy === null ? null : resolveProxyId(db as Db, input.proxy) };
}

function checkWarmFits(p: Pool): void {
  if (p.minWarm > p.maxSessions) throw new BadRequest(`"minWarm" (${p.minWarm}) cannot exceed "maxSessions" (${p.maxSessions}).`);
}

export function createPool(db: Db, name: string, input: PoolInput): Pool {
  if (!POOL_NAME.test(name)) throw new BadRequest(`Pool name "${name.slice(0, 64)}" must be 1-63 lowercase letters, digits, "-" or "_", starting with a letter or digit.`, "invalid_name");
  return db.transaction((tx) => {
    if (tx.select().from(pools).where(eq(pools.name, name)).get()) throw new Conflict(`A pool named "${name}" exists already.`, "pool_exists");
    const row = { ...(ensureDefaults(name) as Pool), ...columns(input), ...proxyColumn(tx, input) };
    checkWarmFits(row);
    return tx.insert(pools).values(row).returning().get();
  });
}

function ensureDefaults(name: string): typeof pools.$inferInsert {
  return { id: newId("pool"), name };
}

export function updatePool(db: Db, name: string, input: PoolInput): Pool {
  return db.transaction((tx) => {
    const before = tx.select().from(pools).where(eq(pools.name, name)).get();
    if (!before) throw new NotFound(`Pool "${name.slice(0, 64)}"`);
    const set = { ...columns(input), ...proxyColumn(tx, input) };
    checkWarmFits({ ...before, ...set } as Pool);
    if (Object.keys(set).length === 0) return before;
    return tx.update(pools).set(set).where(eq(pools.id, before.id)).returning().get()!;
  });
}

/** Throws (409 pool_in_use / default_pool) when the pool cannot be deleted now, warm browsers aside. */
export function assertPoolDeletable(db: Db, p: Pool): void {
  if (p.name === "default") throw new Conflict(`The "default" pool cannot be deleted.`, "default_pool");
  const only = db.$client
    .query<{ name: string }, [string]>(
      "SELECT w.name FROM workers w JOIN worker_pools wp ON wp.worker_id = w.id WHERE wp.pool_id = ?1 AND w.all_pools = 0 AND NOT EXISTS (SELECT 1 FROM worker_pools o WHERE o.worker_id = w.id AND o.pool_id <> ?1) ORDER BY w.name",
    )
    .all(p.id)
    .map((r) => r.name);
  if (only.length)
    throw new Conflict(`Pool "${p.name}" is the only pool of worker(s) ${only.join(", ")}: give them other pools first (PATCH /api/v1/workers/:id {"pools": [...]}) or remove them.`, "pool_in_use");
  const live = db
    .select({ n: sql<number>`count(*)` })
    .from(sessions)
    .where(and(eq(sessions.poolId, p.id), sql`${sessions.status} NOT IN ${[...SESSION_TERMINAL]}`))
    .get()!.n;
  if (live > 0) throw new Conflict(`Pool "${p.name}" has ${live} live session(s).`, "pool_in_use");
}

/**
 * Deletes a pool that has no live sessions and no warm browsers (the caller stops those first),
 * with its ended sessions' history; workers stop serving it (their worker_pools rows go with the
 * pool). Refused while a worker serves this pool alone: it would be left serving nothing. The
 * default pool stays.
 */
export function deletePool(db: Db, name: string): Pool {
  if (name === "default") throw new Conflict(`The "default" pool cannot be deleted.`, "default_pool");
  return db.transaction((tx) => {
    const p = tx.select().from(pools).where(eq(pools.name, name)).get();
    if (!p) throw new NotFound(`Pool "${name.slice(0, 64)}"`);
    assertPoolDeletable(db, p);
    const warm = tx.select({ n: sql<number>`count(*)` }).from(warmBrowsers).where(eq(warmBrowsers.poolId, p.id)).get()!.n;
    if (warm > 0) throw new Conflict(`Pool "${name}" still has ${warm} warm browser(s) being stopped; try again in a moment.`, "pool_in_use");
    tx.delete(sessions).where(and(eq(sessions.poolId, p.id), inArray(sessions.status, [...SESSION_TERMINAL]))).run();
    tx.delete(pools).where(eq(pools.id, p.id)).run();
    return p;
  });
}
