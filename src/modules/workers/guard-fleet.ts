// The egress guard's view of the fleet (src/security/egress/guard.ts: GuardFleet), read from
// the workers and pools tables on every call: which workers there are and which pools' egress
// allow-lists apply to each.
import type { Db } from "../../db/client";
import type { GuardFleet } from "../../security/egress/guard";
import { listPools, type Pool } from "../pools/pools.service";
import { poolsOfWorker } from "./worker-pools";
import { findWorker, listWorkers } from "./workers.service";

export function guardFleet(db: Db): GuardFleet {
  return {
    workers: (poolId) => listWorkers(db, poolId),
    poolAllowLists(workerId) {
      const worker = findWorker(db, workerId);
      const served = worker ? poolsOfWorker(db, worker) : [];
      if (served === "all") return listPools(db).map((p) => p.egressAllow);
      const byId = new Map(listPools(db).map((p) => [p.id, p]));
      return served.map((id) => byId.get(id)).filter((p): p is Pool => !!p).map((p) => p.egressAllow);
    },
  };
}
