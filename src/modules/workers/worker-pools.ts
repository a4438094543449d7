// Which pools a worker serves. A worker serves either every pool ("all": pools created later
// included; the local Docker engine's default) or an explicit, non-empty list of pools (the
// worker_pools rows). A worker that should take no new sessions is drained, never left with an
// empty list: "serves nothing" would be a second, silent spelling of drain.
import type { Db } from "../../db/client";
import { workerPools, workers } from "../../db/schema";
import { BadRequest } from "../../lib/errors";
import { eq } from "drizzle-orm";
import { findPoolByName } from "../pools/pools.service";

/** "all", or the ids of the pools served. */
export type PoolSet = "all" | readonly string[];

/** How many pools one request may name (a pool list longer than this is a mistake, not a setting). */
export const MAX_WORKER_POOLS = 100;

/** The pools a request names ("all", or pool names) as a PoolSet; 400 unknown_pool names the first unknown one. */
export function resolvePoolNames(db: Db, names: "all" | readonly string[]): PoolSet {
  if (names === "all") return "all";
  if (names.length === 0) throw new BadRequest('"pools" cannot be empty: a worker serves at least one pool (or "all"). To stop sending it sessions, drain it.', "no_pools");
  if (names.length > MAX_WORKER_POOLS) throw new BadRequest(`"pools" names at most ${MAX_WORKER_POOLS} pools; use "all" instead.`);
  const ids = new Set<string>();
  for (const name of names) {
    const pool = findPoolByName(db, name);
    if (!pool) throw new BadRequest(`Unknown pool "${String(name).slice(0, 64)}": use GET /api/v1/pools for the pool names.`, "unknown_pool");
    ids.add(pool.id);
  }
  return [...ids];
}

/** Replaces what a worker serves (one transaction: it never serves nothing in between). */
export function writeWorkerPools(db: Pick<Db, "update" | "delete" | "insert">, workerId: string, pools: PoolSet): void {
  db.update(workers).set({ allPools: pools === "all" }).where(eq(workers.id, workerId)).run();
  db.delete(workerPools).where(eq(workerPools.workerId, workerId)).run();
  if (pools !== "all" && pools.length) db.insert(workerPools).values(pools.map((poolId) => ({ workerId, poolId }))).run();
}

/** Every explicit worker → pool ids relation (placement reads this on every decision: one cached statement). */
export function explicitPoolsByWorker(db: Db): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of db.$client.query<{ w: string; p: string }, []>("SELECT worker_id AS w, pool_id AS p FROM worker_pools").all()) {
    const list = out.get(r.w);
    if (list) list.push(r.p);
    else out.set(r.w, [r.p]);
  }
  return out;
}

/** What a worker serves, given every explicit relation (explicitPoolsByWorker). */
export function poolSetOf(worker: { id: string; allPools: boolean }, explicit: ReadonlyMap<string, string[]>): PoolSet {
  return worker.allPools ? "all" : (explicit.get(worker.id) ?? []);
}

/** What one worker serves. */
export function poolsOfWorker(db: Db, worker: { id: string; allPools: boolean }): PoolSet {
  if (worker.allPools) return "all";
  return db.$client
    .query<{ p: string }, [string]>("SELECT pool_id AS p FROM worker_pools WHERE worker_id = ?")
    .all(worker.id)
    .map((r) => r.p);
}

/** The pool names a worker serves, sorted, or "all" (API, UI, CLI). */
export function poolNamesOfWorker(db: Db, worker: { id: string; allPools: boolean }): "all" | string[] {
  if (worker.allPools) return "all";
  return db.$client
    .query<{ n: string }, [string]>("SELECT p.name AS n FROM worker_pools wp JOIN pools p ON p.id = wp.pool_id WHERE wp.worker_id = ? ORDER BY p.name")
    .all(worker.id)
    .map((r) => r.n);
}

export function servesPool(pools: PoolSet, poolId: string): boolean {
  return pools === "all" || pools.includes(poolId);
}
