// Reconciliation: the database says what should exist, providers say what does. Converges
// the two by labels and never creates anything: a labelled container with no live session is
// removed; a live session whose container is gone is ended as crashed. Running it twice
// changes nothing the second time.
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import * as store from "./sessions.store";
import type { ProviderRegistry } from "./sessions.contracts";
import type { SessionService } from "./sessions.service";
import { listWarm } from "../../scheduler/warm.store";
import type { WarmPool } from "../../scheduler/warm-pool";

export interface ReconcileReport {
  removedContainers: string[];
  endedSessions: { id: string; status: string; reason: string }[];
  unreachableWorkers: string[];
}

/**
 * `atBoot`: no HTTP request survived the restart, so sessions still queued or starting can
 * never be answered: they fail, and their half-started browsers go.
 */
export async function reconcileSessions(
  deps: { db: Db; log: Logger; providers: ProviderRegistry; sessions: SessionService; warm?: WarmPool },
  opts: { atBoot: boolean },
): Promise<ReconcileReport> {
  const report: ReconcileReport = { removedContainers: [], endedSessions: [], unreachableWorkers: [] };
  const { db, providers, sessions } = deps;

  if (opts.atBoot)
    for (const row of store.liveSessions(db).filter((s) => s.status === "queued" || (s.status === "starting" && !s.workerId))) {
      await sessions.end(row.id, "failed", "server restarted before the browser started");
      report.endedSessions.push({ id: row.id, status: "failed", reason: "server restarted" });
    }

  for (const [workerId, provider] of providers.entries()) {
    let owned;
    try {
      owned = await provider.listOwned();
    } catch (err) {
      deps.log.warn("reconcile: worker unreachable", { workerId, err });
      report.unreachableWorkers.push(workerId);
      continue;
    }
    const live = store.liveSessions(db, workerId);
    const liveById = new Map(live.map((s) => [s.id, s]));
    // A claimed warm browser's container is labelled with the warm id: find its session by container.
    const liveByHandle = new Map(live.filter((s) => s.containerId).map((s) => [s.containerId!, s]));
    // Read in the same synchronous step as `live`, so a claim cannot fall between the two reads.
    const warm = new Map(listWarm(db).filter((w) => w.workerId === workerId).map((w) => [w.id, w]));

    for (const c of owned) {
      const s = liveById.get(c.sessionId) ?? liveByHandle.get(c.handle);
      const w = !s && c.warm ? warm.get(c.sessionId) : undefined;
      if (w && (w.status === "starting" || (w.containerId === c.handle && c.running))) continue; // a warm browser, starting or waiting to be claimed
      const orphan = !s || (s.containerId !== null && s.containerId !== c.handle);
      const abandonedStart = opts.atBoot && s?.status === "starting";
      if (orphan || abandonedStart) {
        if (abandonedStart && s) {
          await sessions.end(s.id, "failed", "server restarted before the browser started");
          report.endedSessions.push({ id: s.id, status: "failed", reason: "server restarted" });
        }
        await provider.stop(c.handle).catch((err) => deps.log.warn("reconcile: remove failed", { handle: c.handle, err }));
        report.removedContainers.push(c.handle);
      }
    }

    const runningHandles = new Set(owned.filter((c) => c.running).map((c) => c.handle));
    for (const w of warm.values()) if (w.status === "ready" && w.containerId && !runningHandles.has(w.containerId)) deps.warm?.onBrowserDied(w.containerId);
    for (const s of live) {
      if (s.status === "queued" || s.status === "starting") continue;
      if (s.status === "stopping" && opts.atBoot) {
        // The server died mid-stop: finish it.
        if (s.containerId) await provider.stop(s.containerId).catch(() => {});
        store.transition(db, s.id, ["stopping"], "completed", { endedAt: Date.now(), endReason: s.endReason ?? "stopped" }, { type: "completed", detail: { reason: "stop finished by reconciliation" } });
        report.endedSessions.push({ id: s.id, status: "completed", reason: "stop finished" });
        continue;
      }
      if (s.status === "stopping" || (s.containerId && runningHandles.has(s.containerId))) continue;
      await sessions.end(s.id, "crashed", "browser container is gone");
      report.endedSessions.push({ id: s.id, status: "crashed", reason: "container gone" });
    }
  }
  if (report.removedContainers.length || report.endedSessions.length) deps.log.info("reconciled", { ...report });
  return report;
}
