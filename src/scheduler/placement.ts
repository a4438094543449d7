// The slots sessions run in, as the database describes them: each worker's pools and capacity
// (online only while its provider is registered, with the reason when it is unhealthy), and
// each pool's session limit and placement policy. Read afresh on every placement (capacity.ts).
import type { Db } from "../../db/client";
import { findPoolById } from "../pools/pools.service";
import { explicitPoolsByWorker, poolSetOf } from "../workers/worker-pools";
import { listWorkers } from "../workers/workers.service";
import { Capacity } from "./capacity";
import type { ProviderRegistry } from "./sessions.contracts";

export function workerCapacity(db: Db, providers: ProviderRegistry): Capacity {
  return new Capacity(
    () => {
      const explicit = explicitPoolsByWorker(db);
      return listWorkers(db).map((w) => ({
        id: w.id,
        pools: poolSetOf(w, explicit),
        capacity: w.capacity,
        online: w.status === "online" && !!providers.get(w.id),
        unhealthy: w.status === "unhealthy" ? `worker "${w.name}" is unhealthy (${w.lastError ?? "its engine misses deadlines"})` : null,
      }));
    },
    (poolId) => findPoolById(db, poolId)?.maxSessions ?? 0,
    (poolId) => findPoolById(db, poolId)?.placement ?? "spread",
  );
}
