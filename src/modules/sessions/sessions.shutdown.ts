// What stopping the appliance (SIGTERM, SIGINT, `systemctl stop`) leaves behind: nothing of the
// sessions it ends. A browser left running after its server is gone holds a slot and memory
// and, with its cdpUrl, stays usable by whoever has the URL until the next start of the same
// install, or forever when that never comes (a temporary data dir, an uninstall).
//
// The rule:
// - Sessions without keepAlive end through the normal end path ("completed", reason "server shut
//   down"): their clients are told why, persisting profiles are saved, downloads are copied,
//   and their containers are removed. So do sessions still queued or starting: their HTTP
//   request dies with the process.
// - Keep-alive sessions that are running (or paused) keep their containers: the next start of
//   the same install adopts them (reconciliation) and their clients reconnect to the same
//   cdpUrl. `browsergrid cleanup` removes them when no next start is coming.
// - Warm browsers are discarded (the next start fills the pool again).
// - Bounded: the graceful part gets `graceMs`; then every container of the install that is not
//   a kept keep-alive session's is force-removed by label, and what could not be removed by
//   `totalMs` is logged by id.
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import * as store from "./sessions.store";
import type { ProviderRegistry } from "./sessions.contracts";
import type { SessionService } from "./sessions.service";
import { listWarm } from "../../scheduler/warm.store";
import type { WarmPool } from "../../scheduler/warm-pool";

export const SHUTDOWN_REASON = "server shut down";
const SHUTDOWN_GRACE_MS = 15_000;
export const SHUTDOWN_TOTAL_MS = 20_000;

export interface ShutdownReport {
  ended: string[];
  kept: string[];
  /** Containers the final sweep removed (the graceful part did not get to them in time). */
  forceRemoved: string[];
  /** Containers still there when time ran out, or whose removal failed: `browsergrid cleanup` removes them. */
  left: string[];
}

/** A keep-alive session that outlives the process (its browser is up and may be adopted). */
function survivesShutdown(row: Pick<store.SessionRow, "keepAlive" | "status">): boolean {
  return row.keepAlive && (row.status === "running" || row.status === "paused");
}

export async function endSessionsForShutdown(
  deps: { db: Db; log: Logger; providers: ProviderRegistry; sessions: SessionService; warm: WarmPool },
  opts: { graceMs?: number; totalMs?: number } = {},
): Promise<ShutdownReport> {
  const startedAt = Date.now();
  const graceMs = opts.graceMs ?? SHUTDOWN_GRACE_MS;
  const totalMs = opts.totalMs ?? SHUTDOWN_TOTAL_MS;
  const { db, log, providers, sessions, warm } = deps;
  const report: ShutdownReport = { ended: [], kept: [], forceRemoved: [], left: [] };

  // No new browser from here on: warm refills stop and queued requests are refused.
  await sessions.shutdown();

  const live = store.liveSessions(db);
  const keptRows = live.filter(survivesShutdown);
  report.kept = keptRows.map((s) => s.id);
  const ending = live.filter((s) => !survivesShutdown(s));
  const graceful = Promise.all([
    ...ending.map((s) =>
      sessions.stop(s.id, SHUTDOWN_REASON).then(
        () => void report.ended.push(s.id),
        (err) => log.warn("shutdown: session end failed", { sessionId: s.id, err }),
      ),
    ),
    ...listWarm(db).map((w) => warm.discard(w, SHUTDOWN_REASON)),
  ]).then(() => sessions.removalsSettled());
  await within(graceful, graceMs - (Date.now() - startedAt));

  // Whatever is still there (a browser that was starting, a removal that is slow or failed, a
  // warm browser still starting) goes by label; a kept session's container is the only exception.
  const keptHandles = new Set(keptRows.map((s) => s.containerId).filter((h): h is string => !!h));
  const keptIds = new Set(report.kept);
  const sweep = Promise.all(
    [...providers.entries()].map(async ([workerId, provider]) => {
      const owned = await provider.listOwned().catch((err) => {
        log.warn("shutdown: worker unreachable; its browsers are left", { workerId, err });
        return [];
      });
      await Promise.all(
        owned
          .filter((c) => !keptHandles.has(c.handle) && !keptIds.has(c.sessionId))
          .map((c) =>
            provider.stop(c.handle).then(
              () => void report.forceRemoved.push(c.handle),
              () => void report.left.push(c.handle),
            ),
          ),
      );
    }),
  );
  const swept = await within(sweep, totalMs - (Date.now() - startedAt));
  if (!swept) report.left.push("(removal still in flight when time ran out)");

  if (report.left.length) log.warn("shutdown: browsers left running; `browsergrid cleanup` removes them", { left: report.left });
  log.info("sessions shut down", { ended: report.ended.length, kept: report.kept, forceRemoved: report.forceRemoved.length, ms: Date.now() - startedAt });
  return report;
}

/** True when `work` settled within `ms`; the work itself is not cancelled. */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))));
  try {
    return await Promise.race([work.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
