// Reconciliation of runs: the database says which runs are running and in which runner
// container; the workers say which runner containers exist. Converges the two by labels and
// never starts anything new:
//  - a runner container with no running run (or not the run's current one) is removed;
//  - a running run with no attempt in this process (a restart happened) whose runner is gone is
//    failed with the reason "runner vanished during a restart", its session ended;
//  - a running run whose runner is still there (or exited while BrowserGrid was down) is
//    adopted: its attempt is waited for and finished as if the restart never happened;
//  - a running run that never got its runner (the restart came between claim and start) is
//    failed with that reason.
// Queued runs need nothing: the dispatcher (started after this) takes them in order. A worker
// that does not answer is skipped (its runs are left alone until it answers). Running it twice
// changes nothing the second time: ended runs are terminal, adopted ones have an attempt in
// this process, removed runners are gone.
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import type { RunsService } from "./runs.service";
import { getRun, listRunEvents, runningRuns, type RunRow } from "./runs.store";

export const RUNNER_VANISHED = "runner vanished during a restart";

export interface RunReconcileReport {
  removedRunners: string[];
  failedRuns: { id: string; reason: string }[];
  adoptedRuns: string[];
  unreachableWorkers: string[];
}

export async function reconcileRuns(deps: { db: Db; log: Logger; runs: RunsService }): Promise<RunReconcileReport> {
  const { db, runs } = deps;
  const report: RunReconcileReport = { removedRunners: [], failedRuns: [], adoptedRuns: [], unreachableWorkers: [] };
  const workers = new Set(runs.runners.workers());
  const fail = async (run: RunRow, reason: string) => {
    await runs.failRunning(run, reason);
    report.failedRuns.push({ id: run.id, reason });
  };

  for (const workerId of workers) {
    let owned;
    try {
      owned = await runs.runners.listOwnedRunners(workerId);
    } catch (err) {
      deps.log.warn("reconcile runs: worker unreachable", { workerId, err });
      report.unreachableWorkers.push(workerId);
      continue;
    }
    for (const c of owned) {
      const run = getRun(db, c.runId);
      // An attempt under way here may not have stored its handle yet: leave its container be.
      if (run?.status === "running" && (run.runnerHandle === c.handle || (run.runnerHandle === null && runs.hasAttempt(run.id)))) continue;
      await runs.runners.stopRunner(workerId, c.handle).catch((err) => deps.log.warn("reconcile runs: runner not removed", { handle: c.handle, err }));
      report.removedRunners.push(c.handle);
    }
    const handles = new Set(owned.map((c) => c.handle));
    for (const run of runningRuns(db).filter((r) => r.workerId === workerId && !runs.hasAttempt(r.id))) {
      if (!run.runnerHandle) await fail(run, "BrowserGrid restarted before the runner started");
      else if (!handles.has(run.runnerHandle)) await fail(run, RUNNER_VANISHED);
      else {
        await runs.adopt(run, { handle: run.runnerHandle, workerId, sessionId: run.sessionId ?? "", startedAt: attemptStartedAt(db, run) });
        report.adoptedRuns.push(run.id);
      }
    }
  }
  // Running runs of no known worker, or that never got as far as a browser.
  for (const run of runningRuns(db).filter((r) => !runs.hasAttempt(r.id) && (r.workerId === null || !workers.has(r.workerId)))) {
    await fail(run, run.workerId === null ? "BrowserGrid restarted before the run's browser started" : `its worker ${run.workerId} is gone`);
  }
  if (report.removedRunners.length || report.failedRuns.length || report.adoptedRuns.length) deps.log.info("runs reconciled", { ...report });
  return report;
}

/** When the run's current attempt started its runner (its attempt_started event), for what is left of its timeout. */
function attemptStartedAt(db: Db, run: RunRow): number {
  const started = listRunEvents(db, run.id).filter((e) => e.type === "attempt_started" && e.detail?.attempt === run.attempt);
  return started.at(-1)?.at ?? run.startedAt ?? Date.now();
}
