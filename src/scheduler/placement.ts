// What placement knows of the world: the workers (each one's pools, capacity, whether it is
// online — its provider registered — or unhealthy, draining, or reached over SSH) and the pools
// (session limit, placement policy, warm settings). Read afresh on every decision. The
// scheduler does not read the workers' or pools' modules: boot.ts hands it a catalog built
// over them (modules/workers/placement-catalog.ts), and tests may hand it any other.
import type { pools } from "../db/schema";
import { Capacity, type PlacementWorker } from "./capacity";

export type PoolRow = typeof pools.$inferSelect;

export interface CatalogWorker extends PlacementWorker {
  /** Takes no new browsers; its warm browsers are given back. */
  draining: boolean;
  /** Reached over SSH: its browsers outlive a power cut of this machine (warm claims keep the fsync). */
  remote: boolean;
}

export interface SchedulerCatalog {
  /** Every registered worker, whatever its status. */
  workers(): CatalogWorker[];
  pool(poolId: string): PoolRow | undefined;
  pools(): PoolRow[];
}

/** The slots of the catalog's workers, limited by each pool's maxSessions and placed by its policy. */
export function capacityOf(catalog: SchedulerCatalog): Capacity {
  return new Capacity(
    () => catalog.workers(),
    (poolId) => catalog.pool(poolId)?.maxSessions ?? 0,
    (poolId) => catalog.pool(poolId)?.placement ?? "spread",
  );
}
