// The run lifecycle: trigger → queued → (the deployment's concurrency allows it) an attempt
// runs → succeeded, or failed and queued again after a backoff while attempts remain, else
// failed; timed_out and cancelled end it at once. The database holds every run's state; this
// service holds the attempts under way, their logs, and the dispatcher that starts them.
//
// The dispatcher: one loop (`pump`), woken by a trigger, an attempt's end, a cancel, and a
// timer set for the earliest retry's `notBefore`. It walks the queued runs oldest first (FIFO)
// and starts each whose deployment has fewer running runs than its manifest's `concurrency`
// (default 1). A run waiting out a retry backoff holds no slot, so newer runs may start
// meanwhile. Pumps never overlap: a wake during one runs another after it.
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import { newId } from "../../lib/ids";
import { NotFound } from "../../lib/errors";
import type { ArtifactService } from "../artifacts/artifacts.service";
import type { BlobStore } from "../../storage/blob-store";
import { RUN_DEFAULTS, systemClock, versionNumberOf, type ResolvedVersion, type RunBrowsers, type RunClock, type RunDeployments, type RunRunners } from "./runs.ports";
import { RunLogs } from "./runs.logs";
import { runAttempt, type AdoptedRunner, type AttemptOutcome } from "./runs.attempt";
import { activeCountOfSchedule, deploymentName, getRun, insertRun, queuedRuns, runningRuns, transitionRun, type RunRow } from "./runs.store";

export type RunTrigger = RunRow["trigger"];

export interface TriggerInput {
  deploymentName?: string;
  deploymentId?: string;
  params?: Record<string, unknown>;
  version?: number;
  trigger: RunTrigger;
  scheduleId?: string;
  rerunOf?: string;
  /** Who asked (a user or key id), for the run's row. */
  createdBy?: string | null;
}

export interface RunsDeps {
  db: Db;
  log: Logger;
  deployments: RunDeployments;
  browsers: RunBrowsers;
  runners: RunRunners;
  artifacts: ArtifactService;
  blobs: BlobStore;
  clock?: RunClock;
}

export function concurrencyOf(manifest: ResolvedVersion["manifest"]): number {
  return Math.max(1, Math.min(manifest.concurrency ?? RUN_DEFAULTS.concurrency, RUN_DEFAULTS.maxConcurrency));
}

/** Seconds before retry `n` (1 = the first retry): backoffSec doubled per retry, capped. */
export function backoffSecOf(manifest: ResolvedVersion["manifest"], n: number): number {
  const base = Math.max(0, manifest.retries?.backoffSec ?? 0);
  return Math.min(base * 2 ** Math.max(0, n - 1), RUN_DEFAULTS.maxBackoffSec);
}

export class RunsService {
  readonly clock: RunClock;
  /** Attempts under way, by run id: aborting one cancels it. */
  private readonly attempts = new Map<string, { abort: AbortController; kill?: () => void; done: Promise<void> }>();
  /** The runs' logs: in memory while under way, then in the blob store. */
  readonly logs: RunLogs;
  private pumping: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private cancelTimer: (() => void) | null = null;

  constructor(private readonly deps: RunsDeps) {
    this.clock = deps.clock ?? systemClock;
    this.logs = new RunLogs(deps);
  }

  // ---- what other modules call ------------------------------------------------------------

  /**
   * Queues a run. The deployment version is resolved and the params validated first: a bad
   * request (404 unknown deployment or version, 400 naming the failing param) stores nothing.
   */
  async trigger(input: TriggerInput): Promise<RunRow> {
    const name = input.deploymentName ?? (input.deploymentId ? deploymentName(this.deps.db, input.deploymentId) : undefined);
    if (!name) throw new NotFound(`Deployment ${input.deploymentName ?? input.deploymentId ?? ""}`.trim());
    const resolved = await this.deps.deployments.resolveVersion(name, input.version);
    const params = this.deps.deployments.validateParams(resolved.manifest, input.params ?? {});
    const retries = Math.max(0, Math.min(resolved.manifest.retries?.max ?? 0, RUN_DEFAULTS.maxRetries));
    const now = this.clock.now();
    const row = insertRun(
      this.deps.db,
      { id: newId("run"), deploymentId: resolved.deployment.id, version: versionNumberOf(resolved), status: "queued", params, trigger: input.trigger, scheduleId: input.scheduleId ?? null, rerunOf: input.rerunOf ?? null, maxAttempts: 1 + retries, createdBy: input.createdBy ?? null, createdAt: now },
      now,
    );
    this.wake();
    return row;
  }

  /** Runs of a schedule queued or running (the schedules module's overlap policy). */
  activeRunCount(q: { scheduleId: string }): number {
    return activeCountOfSchedule(this.deps.db, q.scheduleId);
  }

  /** A new run with the same deployment, version and params (`trigger: "rerun"`, `rerunOf`). */
  async rerun(id: string, createdBy: string | null): Promise<RunRow> {
    const run = getRun(this.deps.db, id);
    if (!run) throw new NotFound(`Run ${id}`);
    return this.trigger({ deploymentId: run.deploymentId, version: run.version, params: run.params, trigger: "rerun", rerunOf: run.id, createdBy });
  }

  /**
   * Cancels a run: a queued one ends without starting; a running one has its runner killed and
   * its session ended before this resolves. An ended run is answered as it is.
   */
  async cancel(id: string, reason = "cancelled by user"): Promise<RunRow> {
    const run = getRun(this.deps.db, id);
    if (!run) throw new NotFound(`Run ${id}`);
    if (run.status === "queued") {
      const now = this.clock.now();
      const done = transitionRun(this.deps.db, id, ["queued"], "cancelled", { endedAt: now, durationMs: run.startedAt ? now - run.startedAt : null, notBefore: null, tokenHash: null }, { type: "cancelled", detail: { reason } }, now);
      if (done) return this.ended(done), done;
      return this.cancel(id, reason); // it was claimed meanwhile: cancel the attempt
    }
    const attempt = this.attempts.get(id);
    if (run.status === "running" && attempt) {
      attempt.abort.abort(new Error(reason));
      attempt.kill?.();
      await attempt.done;
    } else if (run.status === "running") {
      // No attempt in this process (it is being adopted after a restart): end the row.
      this.finish(run, { kind: "cancelled", reason });
    }
    return getRun(this.deps.db, id)!;
  }

  // ---- after a restart (runs.reconcile.ts) --------------------------------------------------

  /** The runner containers (reconciliation lists and removes them). */
  get runners(): RunRunners {
    return this.deps.runners;
  }

  /** Whether an attempt of the run is under way in this process. */
  hasAttempt(runId: string): boolean {
    return this.attempts.has(runId);
  }

  /** Takes up a running run whose runner outlived a restart: waits for it (within what is left of its timeout) as if never gone. */
  async adopt(run: RunRow, adopted: AdoptedRunner): Promise<void> {
    const name = deploymentName(this.deps.db, run.deploymentId);
    const resolved = name ? await Promise.resolve(name).then((n) => this.deps.deployments.resolveVersion(n, run.version)).catch(() => null) : null;
    if (!resolved) return this.failRunning(run, `version ${run.version} of its deployment is gone`);
    this.launch(run, resolved, adopted);
  }

  /** Ends a running run that has no attempt in this process (its runner vanished): failed, its session ended. */
  async failRunning(run: RunRow, reason: string): Promise<void> {
    if (this.attempts.has(run.id)) return;
    const now = this.clock.now();
    const done = transitionRun(this.deps.db, run.id, ["running"], "failed", { endedAt: now, durationMs: run.startedAt === null ? null : now - run.startedAt, error: reason, tokenHash: null, runnerHandle: null }, { type: "failed", detail: { reason } }, now);
    if (!done) return;
    this.ended(done);
    if (run.sessionId) await this.deps.browsers.close(run.sessionId, `run ${run.id} failed: ${reason}`);
  }

  // ---- the dispatcher ---------------------------------------------------------------------

  /** Starts dispatching (boot, after reconciliation). */
  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Stops starting attempts; attempts under way go on (their runners keep running). */
  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
  }

  /** Asks the dispatcher to look at the queue (soon, not now). */
  wake(): void {
    if (this.stopped) return;
    this.again = true;
    if (!this.pumping) this.pumping = this.pumpLoop();
  }

  /** Resolves once the dispatcher is idle (tests). */
  async settled(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  /** Resolves once every attempt under way has ended (tests, shutdown). */
  async attemptsSettled(): Promise<void> {
    while (this.attempts.size) await Promise.all([...this.attempts.values()].map((a) => a.done));
  }

  /** Pumps while woken; clears `pumping` in the same step as its last check, so no wake is lost. */
  private async pumpLoop(): Promise<void> {
    await Promise.resolve();
    while (this.again && !this.stopped) {
      this.again = false;
      try {
        await this.pump();
      } catch (err) {
        this.deps.log.error("run dispatch failed", { err });
      }
    }
    this.pumping = null;
  }

  private async pump(): Promise<void> {
    const { db } = this.deps;
    const now = this.clock.now();
    const running = new Map<string, number>();
    for (const r of runningRuns(db)) running.set(r.deploymentId, (running.get(r.deploymentId) ?? 0) + 1);
    let nextAt = Infinity;
    // One lookup per deployment version per pump, however many of its runs wait.
    const versions = new Map<string, Promise<ResolvedVersion | string>>();
    for (const run of queuedRuns(db)) {
      if (this.stopped) return;
      if (run.notBefore !== null && run.notBefore > now) {
        nextAt = Math.min(nextAt, run.notBefore);
        continue;
      }
      const key = `${run.deploymentId}@${run.version}`;
      if (!versions.has(key)) versions.set(key, this.resolveFor(run));
      const resolved = await versions.get(key)!;
      if (typeof resolved === "string") {
        this.failQueued(run, resolved);
        continue;
      }
      if ((running.get(run.deploymentId) ?? 0) >= concurrencyOf(resolved.manifest)) continue;
      const claimed = transitionRun(db, run.id, ["queued"], "running", { attempt: run.attempt + 1, notBefore: null, startedAt: run.startedAt ?? now, sessionId: null, runnerHandle: null, exitCode: null }, null, now);
      if (!claimed) continue;
      running.set(run.deploymentId, (running.get(run.deploymentId) ?? 0) + 1);
      this.launch(claimed, resolved);
    }
    this.cancelTimer?.();
    this.cancelTimer = nextAt === Infinity ? null : this.clock.later(Math.max(0, nextAt - this.clock.now()), () => this.wake());
  }

  /** The run's version, or why it cannot be run (its deployment or version is gone). */
  private async resolveFor(run: RunRow): Promise<ResolvedVersion | string> {
    const name = deploymentName(this.deps.db, run.deploymentId);
    try {
      if (!name) throw new Error("its deployment was deleted");
      return await this.deps.deployments.resolveVersion(name, run.version);
    } catch (err) {
      return `version ${run.version} cannot be run: ${(err as Error)?.message ?? err}`;
    }
  }

  private failQueued(run: RunRow, why: string): void {
    const now = this.clock.now();
    const done = transitionRun(this.deps.db, run.id, ["queued"], "failed", { endedAt: now, error: why, tokenHash: null }, { type: "failed", detail: { reason: why } }, now);
    if (done) this.ended(done);
  }

  /** Runs one attempt of a claimed run (or adopts one found running after a restart). */
  launch(run: RunRow, resolved: ResolvedVersion, adopted?: AdoptedRunner): void {
    const abort = new AbortController();
    const entry: { abort: AbortController; kill?: () => void; done: Promise<void> } = { abort, done: Promise.resolve() };
    const log = this.logs.of(run.id);
    const control = { signal: abort.signal, onRunner: (kill: () => void) => void (entry.kill = kill) };
    entry.done = runAttempt({ ...this.deps, clock: this.clock }, run, resolved, log, control, adopted)
      .catch((err): AttemptOutcome => ({ kind: "error", message: (err as Error)?.message ?? String(err) }))
      .then((outcome) => this.finish(getRun(this.deps.db, run.id) ?? run, outcome, resolved))
      .catch((err) => this.deps.log.error("run attempt not finished", { runId: run.id, err }))
      .finally(() => {
        this.attempts.delete(run.id);
        this.wake();
      });
    this.attempts.set(run.id, entry);
  }

  /** Turns an attempt's outcome into the run's next status. */
  private finish(run: RunRow, outcome: AttemptOutcome, resolved?: ResolvedVersion): void {
    const { db } = this.deps;
    const now = this.clock.now();
    const log = this.logs.find(run.id);
    const base = { endedAt: now, durationMs: run.startedAt === null ? null : now - run.startedAt, tokenHash: null, runnerHandle: null };
    const end = (status: RunRow["status"], fields: Partial<RunRow>, detail: Record<string, unknown>) => {
      log?.push(now, "system", `run ${status}${detail.reason ? `: ${detail.reason}` : ""}`);
      const done = transitionRun(db, run.id, ["running"], status, { ...base, ...fields }, { type: status, detail }, now);
      if (done) this.ended(done);
    };
    switch (outcome.kind) {
      case "cancelled":
        return end("cancelled", {}, { reason: outcome.reason });
      case "timed_out":
        return end("timed_out", { error: `timed out after ${outcome.timeoutSec} s` }, { reason: `timeoutSec (${outcome.timeoutSec} s) reached: the runner was killed` });
      case "exited":
        if (outcome.exitCode === 0) return end("succeeded", { exitCode: 0 }, { exitCode: 0, ...(outcome.resultProblem ? { resultProblem: outcome.resultProblem } : {}) });
    }
    const exitCode = outcome.kind === "exited" ? outcome.exitCode : null;
    const error = outcome.kind === "exited" ? log?.stderrTail() || `exited with code ${outcome.exitCode}` : outcome.message;
    if (run.attempt < run.maxAttempts && resolved) {
      const waitSec = backoffSecOf(resolved.manifest, run.attempt);
      log?.push(now, "system", `attempt ${run.attempt} failed (${exitCode === null ? error : `exit code ${exitCode}`}); retrying in ${waitSec} s`);
      const queued = transitionRun(db, run.id, ["running"], "queued", { exitCode, error, notBefore: now + waitSec * 1000, runnerHandle: null, tokenHash: null }, { type: "retry_scheduled", detail: { attempt: run.attempt, exitCode, backoffSec: waitSec, notBefore: now + waitSec * 1000 } }, now);
      if (queued) return;
    }
    end("failed", { exitCode, error }, { exitCode, reason: outcome.kind === "error" ? outcome.message : `exit code ${exitCode}` });
  }

  /** A run reached a terminal status: its log ends and is stored. */
  private ended(run: RunRow): void {
    this.logs.ended(run.id);
  }
}
