// The session network's first part: no session is accepted on a pool whose online workers do
// not all have a verified egress guard (503 egress_guard_missing, nothing created). It runs
// before the warm-browser claim, so a warm browser cannot bypass it either.
import type { NetworkPart } from "./session-network";
import type { EgressGuard } from "../../security/egress/guard";
import type { Db } from "../../db/client";
import type { ProbeResult } from "../../http/context";
import { listWorkers } from "../workers/workers.service";

export function egressPart(guard: EgressGuard): NetworkPart {
  return {
    name: "egress",
    async prepare(_owner, _sessionId, pool) {
      await guard.assertPoolReady(pool);
      return null;
    },
  };
}

/** /readyz: ready while at least one online worker has its guard or is having it installed at start (or the guard is off, said loudly). */
export function egressProbe(db: Db, guard: EgressGuard): () => Promise<ProbeResult> {
  return async () => {
    if (!guard.enabled) return { name: "egress_guard", ok: true, detail: "OFF (BROWSERGRID_EGRESS_GUARD=off): browsers can reach private networks and this host" };
    const online = listWorkers(db).filter((w) => w.status === "online");
    // A first install in flight counts: a session asked for meanwhile waits for it (guard.verify).
    const installing = online.filter((w) => guard.installingFirst(w.id));
    const missing = online.filter((w) => guard.status(w.id).state !== "ok" && !installing.includes(w));
    const ok = online.length === 0 || missing.length < online.length;
    const detail = [missing.length ? `missing on ${missing.map((w) => `${w.name} (${guard.status(w.id).reason})`).join(", ")}` : "", installing.length ? `being installed on ${installing.map((w) => w.name).join(", ")}` : ""].filter(Boolean).join("; ");
    return { name: "egress_guard", ok, detail: detail || undefined };
  };
}
