// What the schedules module needs of the rest of the system, as small ports: the runs module
// (start a run, count a schedule's unfinished runs), the deployments module (a deployment's
// current manifest and its params validator), and time (a clock with timers). boot.ts hands the
// real ones in; tests hand fakes, so the clock runs fast and deterministic.

/** The runs module, as the clock uses it. */
export interface ScheduleRuns {
  /** Queues a run of the deployment's current version. Throws when it cannot (the tick records the error). */
  trigger(input: { deploymentId: string; params: Record<string, unknown>; trigger: "schedule"; scheduleId: string }): Promise<{ id: string }> | { id: string };
  /** Runs of this schedule that are queued or running. Synchronous: read in the same transaction as the tick. */
  activeRunCount(query: { scheduleId: string }): number;
}

/**
 * The deployments module, as schedule create/patch uses it to check params before storing them.
 * The manifest is opaque here: it only goes from resolveVersion to validateParams.
 */
export interface ScheduleDeployments {
  /** The deployment's current version (NotFound when the deployment or its version is absent). */
  resolveVersion(name: string): Promise<{ manifest: unknown }> | { manifest: unknown };
  /** Params against the manifest's params schema: the params with defaults, or a 400 naming the failing field. */
  validateParams(manifest: unknown, params: Record<string, unknown>): unknown;
}

/** Writes one audit-log entry as the system (the audit module, handed in by boot.ts). */
export type SystemAudit = (action: string, target: string, detail: Record<string, unknown>) => void;

/**
 * Time for the clock. `setTimer`'s callback may return a promise: fake timers await it, so a
 * test that moves time sees the tick's whole effect; real timers ignore it.
 */
export interface ScheduleTimers {
  now(): number;
  setTimer(fire: () => void | Promise<void>, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
}

export const realTimers: ScheduleTimers = {
  now: () => Date.now(),
  setTimer: (fire, delayMs) => setTimeout(() => void fire(), delayMs),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
