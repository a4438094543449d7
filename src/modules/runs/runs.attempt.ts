// One attempt of a run: a browser session, a runner container beside it with the code and its
// env, the code's output lines into the run's log, a wait bounded by the manifest's timeoutSec,
// then the output dir copied out (result.json, artifacts), the runner removed and the session
// ended. Returns what happened; the service (runs.service.ts) turns that into the run's next
// status (succeeded, a retry, failed, timed_out, cancelled).
//
// Cancel and timeout both kill the runner at once (stopRunner), so the code stops within the
// engine's kill time whatever it is doing; the attempt ends only once the runner is removed and
// the session ended, whatever happened.
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import type { ArtifactService } from "../artifacts/artifacts.service";
import { RUN_DEFAULTS, RUNNER_PATHS, type ResolvedVersion, type RunBrowsers, type RunClock, type RunDeployments, type RunRunners, type RunSession } from "./runs.ports";
import type { RunLog } from "./runs.log";
import { collectOutput } from "./runs.output";
import { mintRunToken } from "./runs.tokens";
import { appendRunEvent, updateRunIn, type RunRow } from "./runs.store";

/** Deadlines of the calls an attempt makes after the code ran (each leaves the process). */
const COPY_OUT_DEADLINE_MS = 120_000;
const STOP_DEADLINE_MS = 30_000;
/** A timed-out runner's output is copied before the kill, within this (it may still be writing). */
const TIMEOUT_COPY_DEADLINE_MS = 15_000;
/** After the runner exited, how long its last log lines may take to arrive. */
const LOG_DRAIN_MS = 2_000;

export type AttemptOutcome =
  | { kind: "exited"; exitCode: number; resultProblem?: string }
  | { kind: "timed_out"; timeoutSec: number }
  | { kind: "cancelled"; reason: string }
  /** BrowserGrid could not run the code (no browser, no runner): counts as a failed attempt. */
  | { kind: "error"; message: string };

export interface AttemptDeps {
  db: Db;
  log: Logger;
  clock: RunClock;
  deployments: RunDeployments;
  browsers: RunBrowsers;
  runners: RunRunners;
  artifacts: ArtifactService;
}

/** What a running attempt is told from outside. */
export interface AttemptControl {
  /** Aborted by a cancel (reason: its message). */
  signal: AbortSignal;
  /** Set once the runner exists, so a cancel can kill it at once. */
  onRunner(kill: () => void): void;
}

/** Where an attempt picks up after a restart found its runner still running. */
export interface AdoptedRunner {
  handle: string;
  workerId: string;
  sessionId: string;
  startedAt: number;
}

export function timeoutSecOf(manifest: ResolvedVersion["manifest"]): number {
  const t = manifest.timeoutSec ?? RUN_DEFAULTS.timeoutSec;
  return Math.max(1, Math.min(t, RUN_DEFAULTS.maxTimeoutSec));
}

export async function runAttempt(deps: AttemptDeps, run: RunRow, resolved: ResolvedVersion, log: RunLog, control: AttemptControl, adopted?: AdoptedRunner): Promise<AttemptOutcome> {
  const { manifest } = resolved;
  const timeoutSec = timeoutSecOf(manifest);
  let session: RunSession | { id: string; workerId: string } | null = adopted ? { id: adopted.sessionId, workerId: adopted.workerId } : null;
  let handle: string | null = adopted?.handle ?? null;
  // One removal per runner, shared: the cancel's kill starts it, and the end of the attempt
  // waits for that same removal instead of asking the engine again (the provider's removal
  // resolves once the container is gone either way).
  let stopping: Promise<void> | null = null;
  const stopOnce = (workerId: string, runner: string) => (stopping ??= stopQuietly(deps, workerId, runner));
  const cancelled = () => (control.signal.aborted ? String((control.signal.reason as Error)?.message ?? control.signal.reason ?? "cancelled") : null);
  try {
    let startedAt = adopted?.startedAt ?? 0;
    const secrets = await deps.deployments.secretsEnv(run.deploymentId);
    log.setSecrets(Object.values(secrets));
    log.resetTail();
    if (!adopted) {
      const token = mintRunToken(run.id);
      log.setSecrets([...Object.values(secrets), token.token]);
      log.push(deps.clock.now(), "system", `attempt ${run.attempt} of ${run.maxAttempts}: starting a browser`);
      const opened = await deps.browsers.open({ runId: run.id, browser: manifest.browser, timeoutSec }, control.signal);
      session = opened;
      updateRunIn(deps.db, run.id, "running", { sessionId: opened.id, workerId: opened.workerId, tokenHash: token.hash });
      if (cancelled()) return { kind: "cancelled", reason: cancelled()! };
      const door = deps.runners.doorUrls(opened.workerId);
      if (!door) return { kind: "error", message: `worker ${opened.workerId} has no runner door: runs cannot reach BrowserGrid from it` };
      const cdp = throughDoor(opened.cdpUrl, door.ws);
      const env: Record<string, string> = {
        ...secrets,
        BROWSERGRID_CDP_URL: cdp,
        BROWSER_WS_ENDPOINT: cdp,
        BROWSERGRID_PARAMS: JSON.stringify(run.params),
        BROWSERGRID_OUTPUT_DIR: RUNNER_PATHS.output,
        BROWSERGRID_API_URL: door.http,
        BROWSERGRID_RUN_ID: run.id,
        BROWSERGRID_RUN_TOKEN: token.token,
        BROWSERGRID_ATTEMPT: String(run.attempt),
        BROWSERGRID_SESSION_ID: opened.id,
      };
      const bundle = await deps.deployments.bundle(run.deploymentId, run.version);
      if (cancelled()) return { kind: "cancelled", reason: cancelled()! };
      const started = await deps.runners.startRunner(
        opened.workerId,
        { runId: run.id, attempt: run.attempt, runtime: manifest.runtime, sessionId: opened.id, poolId: opened.poolId, workerId: opened.workerId, bundle, entry: manifest.entry, env },
        control.signal,
      );
      handle = started.handle;
      startedAt = deps.clock.now();
      updateRunIn(deps.db, run.id, "running", { runnerHandle: handle });
      appendRunEvent(deps.db, run.id, "attempt_started", { attempt: run.attempt, sessionId: opened.id, workerId: opened.workerId }, startedAt);
      deps.browsers.note(opened.id, "run_attempt_started", { runId: run.id, attempt: run.attempt });
    }
    const worker = session!.workerId;
    const runner = handle!;
    control.onRunner(() => void stopOnce(worker, runner));
    if (cancelled()) return { kind: "cancelled", reason: cancelled()! };
    const lines = followLogs(deps, worker, runner, log);
    const leftMs = Math.max(0, timeoutSec * 1000 - (deps.clock.now() - startedAt));
    const exit = await Promise.race([deps.runners.waitRunner(worker, runner, leftMs), aborted(control.signal)]);
    if (cancelled()) return { kind: "cancelled", reason: cancelled()! };
    if (exit === null) {
      // What the code wrote before its time ran out (screenshots, a partial result.json) is
      // kept: copied from the still-running runner, within a short deadline, then it is killed.
      log.push(deps.clock.now(), "system", `timeoutSec (${timeoutSec} s) reached: keeping what the output dir holds, then killing the runner`);
      await takeOutput(deps, run, session!.id, worker, runner, TIMEOUT_COPY_DEADLINE_MS);
      await stopOnce(worker, runner);
      return { kind: "timed_out", timeoutSec };
    }
    await Promise.race([lines, Bun.sleep(LOG_DRAIN_MS)]);
    appendRunEvent(deps.db, run.id, "exited", { attempt: run.attempt, exitCode: exit.exitCode }, deps.clock.now());
    deps.browsers.note(session!.id, "run_attempt_exited", { runId: run.id, attempt: run.attempt, exitCode: exit.exitCode });
    const resultProblem = await takeOutput(deps, run, session!.id, worker, runner);
    return { kind: "exited", exitCode: exit.exitCode, resultProblem };
  } catch (err) {
    if (cancelled()) return { kind: "cancelled", reason: cancelled()! };
    deps.log.warn("run attempt failed to run", { runId: run.id, attempt: run.attempt, err });
    return { kind: "error", message: (err as Error)?.message ?? String(err) };
  } finally {
    if (handle && session) await stopOnce(session.workerId, handle);
    if (session) await deps.browsers.close(session.id, `run ${run.id} attempt ${run.attempt} ended`);
  }
}

/** The session's public cdpUrl with BrowserGrid's origin replaced by the runner door's. */
export function throughDoor(cdpUrl: string, doorWs: string): string {
  const u = new URL(cdpUrl);
  return `${doorWs.replace(/\/+$/, "")}${u.pathname}${u.search}`;
}

/** Copies the output dir out: result.json into the run, other files into artifacts. Returns why result.json was not taken, if so. */
async function takeOutput(deps: AttemptDeps, run: RunRow, sessionId: string, workerId: string, handle: string, deadlineMs = COPY_OUT_DEADLINE_MS): Promise<string | undefined> {
  try {
    const tar = await withDeadline(deps.runners.copyOut(workerId, handle, RUNNER_PATHS.output), deadlineMs, "copying the output dir");
    const out = await withDeadline(collectOutput(tar, { artifacts: deps.artifacts, sessionId, runId: run.id }), deadlineMs, "storing the output files");
    if (out.result !== undefined) updateRunIn(deps.db, run.id, "running", { result: out.result });
    if (out.artifacts.length || out.skipped.length || out.resultProblem || out.result !== undefined)
      appendRunEvent(deps.db, run.id, "output", { attempt: run.attempt, result: out.result !== undefined, resultProblem: out.resultProblem, artifacts: out.artifacts.length, skipped: out.skipped.slice(0, 20) }, deps.clock.now());
    return out.resultProblem;
  } catch (err) {
    const why = `output not copied: ${(err as Error)?.message ?? err}`;
    appendRunEvent(deps.db, run.id, "output", { attempt: run.attempt, problem: why }, deps.clock.now());
    return why;
  }
}

async function followLogs(deps: AttemptDeps, workerId: string, handle: string, log: RunLog): Promise<void> {
  try {
    for await (const l of deps.runners.runnerLogs(workerId, handle)) log.push(l.at, l.stream, l.line);
  } catch (err) {
    deps.log.warn("run log stream broke", { handle, err });
  }
}

async function stopQuietly(deps: AttemptDeps, workerId: string, handle: string): Promise<void> {
  try {
    await withDeadline(deps.runners.stopRunner(workerId, handle), STOP_DEADLINE_MS, "stopping the runner");
  } catch (err) {
    deps.log.warn("runner not removed; reconciliation will retry", { handle, err });
  }
}

function aborted(signal: AbortSignal): Promise<null> {
  return new Promise((resolve) => (signal.aborted ? resolve(null) : signal.addEventListener("abort", () => resolve(null), { once: true })));
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms)));
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
