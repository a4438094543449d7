// The egress guard's view of the fleet (src/security/egress/guard.ts: GuardFleet), read from
// the workers and pools tables on every call: which workers there are and which pools' egress
// allow-lists apply to each.
import type { Db } from "../../db/client";
import type { GuardFleet } from "../../security/egress/guard";
import { findPoolById, listPools, type Pool } from "../pools/pools.service";
import { poolsOfWorker } from "./worker-pools";
import { listWorkers } from "./workers.service";

export function guardFleet(db: Db): GuardFleet {
  return {
    workers: (poolId) => listWorkers(db, poolId),
    poolAllowLists(workerId) {
      const worker = listWorkers(db).find((w) => w.id === workerId);
      const served = worker ? poolsOfWorker(db, worker) : [];
      const pools = served === "all" ? listPools(db) : served.map((id) => findPoolById(db, id)).filter((p): p is Pool => !!p);
      return pools.map((p) => p.egressAllow);
    },
  };
}
