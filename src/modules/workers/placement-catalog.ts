// The scheduler's view of the workers and pools tables (src/scheduler/placement.ts), built by
// boot.ts: a worker is online for placement only while its provider is registered, and an
// unhealthy one carries the reason a refused request is told.
import type { Db } from "../../db/client";
import type { ProviderRegistry } from "../../providers/registry";
import type { SchedulerCatalog } from "../../scheduler/placement";
import { findPoolById, listPools } from "../pools/pools.service";
import { explicitPoolsByWorker, poolSetOf } from "./worker-pools";
import { listWorkers } from "./workers.service";

export function placementCatalog(db: Db, providers: Pick<ProviderRegistry, "get">): SchedulerCatalog {
  return {
    workers: () => {
      const explicit = explicitPoolsByWorker(db);
      return listWorkers(db).map((w) => ({
        id: w.id,
        pools: poolSetOf(w, explicit),
        capacity: w.capacity,
        online: w.status === "online" && !!providers.get(w.id),
        unhealthy: w.status === "unhealthy" ? `worker "${w.name}" is unhealthy (${w.lastError ?? "its engine misses deadlines"})` : null,
        draining: w.status === "draining",
        remote: w.endpoint.startsWith("ssh://"), // stored canonical (providers/endpoint.ts)
      }));
    },
    pool: (poolId) => findPoolById(db, poolId),
    pools: () => listPools(db),
  };
}
