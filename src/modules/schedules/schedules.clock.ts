// The schedule clock: one timer per enabled schedule, armed for its next fire time. Per-schedule
// timers (rather than one wheel) because schedules are few and independent: an edit re-arms one
// timer, a slow trigger of one schedule never delays another, and a timer that fires for a row
// that changed or vanished is simply dropped.
//
// Contract of a tick (scheduled time T):
//  1. one transaction claims T (lastFireAt = T, only forward) and decides, with the schedule's
//     overlap policy and the runs module's count of its queued/running runs: skip, or trigger;
//  2. only then the run is triggered. A crash after 1 loses at most that one run; it never runs
//     T twice (a restart starts counting after lastFireAt).
// After a restart (start()), the ticks between the last one acted on and now were missed: the
// latest one runs at once when catchUp is 1, the others are recorded as missed.
import type { Cron } from "croner";
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import type { ScheduleRuns, ScheduleTimers, SystemAudit } from "./schedules.ports";
import { nextFireTime, parseCron, ticksBetween } from "./schedules.cron";
import { getSchedule, listSchedules, markTick, type ScheduleRow } from "./schedules.store";

/** Timers wait at most this long, then re-arm (setTimeout's limit is ~24.8 days). */
const MAX_TIMER_MS = 6 * 3600_000;
const RECENT_TICKS = 20;
const MAX_CACHED_CRONS = 1000;

export type TickOutcome = "triggered" | "skipped" | "missed" | "failed";
export interface TickRecord {
  /** The scheduled time of the tick (for "missed": the latest of `count` ticks). */
  scheduledAt: number;
  /** When the clock acted on it. */
  at: number;
  outcome: TickOutcome;
  runId?: string;
  error?: string;
  /** "missed": how many ticks (atLeast: more than counted). */
  count?: number;
  atLeast?: boolean;
}

/** What the clock knows of one schedule since this process started (not stored). */
export interface ClockState {
  triggered: number;
  skipped: number;
  missed: number;
  failed: number;
  lastError: { message: string; at: number } | null;
  recent: TickRecord[];
}

export interface ClockDeps {
  db: Db;
  log: Logger;
  runs: ScheduleRuns;
  timers: ScheduleTimers;
  audit: SystemAudit;
}

interface Armed {
  handle: unknown;
  due: number;
}

export class ScheduleClock {
  private readonly armed = new Map<string, Armed>();
  private readonly states = new Map<string, ClockState>();
  private readonly crons = new Map<string, Cron>();
  private running = false;

  constructor(private readonly deps: ClockDeps) {}

  /** Boot: catch up each enabled schedule's downtime, then arm it. Resolves once catch-up triggers have been answered. */
  async start(): Promise<{ schedules: number; caughtUp: number; missed: number }> {
    this.running = true;
    const report = { schedules: 0, caughtUp: 0, missed: 0 };
    for (const row of listSchedules(this.deps.db, { enabledOnly: true })) {
      report.schedules++;
      const r = await this.catchUp(row);
      report.caughtUp += r.caughtUp;
      report.missed += r.missed;
      if (this.running) this.arm(row.id);
    }
    return report;
  }

  /** No timer left; a tick in flight finishes its trigger. */
  stop(): void {
    this.running = false;
    for (const id of [...this.armed.keys()]) this.disarm(id);
  }

  /** After a create or an edit: arm from the row as stored now (paused or gone: disarm). */
  reschedule(id: string): void {
    if (this.running) this.arm(id);
  }

  /** After a delete. */
  forget(id: string): void {
    this.disarm(id);
    this.states.delete(id);
  }

  /** The time this schedule's timer is set for (null: not armed). */
  armedFor(id: string): number | null {
    return this.armed.get(id)?.due ?? null;
  }

  state(id: string): ClockState {
    let s = this.states.get(id);
    if (!s) this.states.set(id, (s = { triggered: 0, skipped: 0, missed: 0, failed: 0, lastError: null, recent: [] }));
    return s;
  }

  private arm(id: string): void {
    this.disarm(id);
    const row = getSchedule(this.deps.db, id);
    if (!row || !row.enabled) return;
    let due: number | null;
    try {
      due = nextFireTime(this.cronOf(row), Math.max(this.deps.timers.now(), row.lastFireAt ?? 0));
    } catch (err) {
      // Stored crons were checked on the way in; a time zone the runtime stopped knowing lands here.
      this.record(id, { scheduledAt: this.deps.timers.now(), at: this.deps.timers.now(), outcome: "failed", error: (err as Error).message });
      this.deps.log.error("schedule cannot be armed", { scheduleId: id, err });
      return;
    }
    if (due !== null) this.setTimer(id, due);
  }

  private setTimer(id: string, due: number): void {
    const entry: Armed = { handle: null, due };
    const delay = Math.min(Math.max(0, due - this.deps.timers.now()), MAX_TIMER_MS);
    entry.handle = this.deps.timers.setTimer(() => this.onTimer(id, entry), delay);
    this.armed.set(id, entry);
  }

  private disarm(id: string): void {
    const entry = this.armed.get(id);
    if (entry) this.deps.timers.clearTimer(entry.handle);
    this.armed.delete(id);
  }

  private async onTimer(id: string, entry: Armed): Promise<void> {
    if (this.armed.get(id) !== entry) return; // re-armed or dropped meanwhile
    this.armed.delete(id);
    if (this.deps.timers.now() < entry.due) return this.setTimer(id, entry.due); // a long wait's chunk, or an early timer
    await this.fire(id, entry.due);
  }

  /** One tick: claim and decide in one transaction, arm the next, then trigger. */
  private async fire(id: string, scheduledAt: number): Promise<void> {
    const { db, log, runs, timers } = this.deps;
    let claim;
    try {
      claim = markTick(db, id, scheduledAt, (row) => (row.overlap === "skip" && runs.activeRunCount({ scheduleId: id }) > 0 ? "skip" : "trigger"));
    } catch (err) {
      log.error("schedule tick could not be stored", { scheduleId: id, err });
      this.failed(id, scheduledAt, `The tick could not be stored: ${(err as Error).message}`);
      if (this.running) this.arm(id);
      return;
    }
    if (!claim.claimed) {
      if (claim.why === "gone") this.disarm(id); // paused or deleted (a deployment's delete cascades here)
      else if (this.running) this.arm(id);
      return;
    }
    const now = timers.now();
    // The trigger goes first; the bookkeeping below runs while it is under way.
    let triggering: Promise<{ id: string }> | null = null;
    if (claim.decision === "trigger") {
      try {
        triggering = Promise.resolve(runs.trigger({ deploymentId: claim.row.deploymentId, params: claim.row.params, trigger: "schedule", scheduleId: id }));
      } catch (err) {
        triggering = Promise.reject(err);
      }
    }
    // A stalled process (or a suspended machine) wakes late: ticks after this one that are already past are missed.
    try {
      const late = ticksBetween(this.cronOf(claim.row), scheduledAt, now);
      if (late.count) this.missed(id, late.latest!, late.count, late.atLeast);
    } catch (err) {
      log.error("schedule cannot be evaluated", { scheduleId: id, err });
    }
    if (this.running) this.arm(id);
    if (!triggering) {
      this.record(id, { scheduledAt, at: now, outcome: "skipped" });
      log.info("schedule tick skipped: a run of it is still queued or running", { scheduleId: id, scheduledAt: new Date(scheduledAt).toISOString() });
      return;
    }
    try {
      const run = await triggering;
      this.record(id, { scheduledAt, at: now, outcome: "triggered", runId: run.id });
    } catch (err) {
      this.failed(id, scheduledAt, (err as Error)?.message ?? String(err));
    }
  }

  /** The parsed cron of a row, kept while its expression and time zone stay the same (parsing builds time-zone formatters). */
  private cronOf(row: Pick<ScheduleRow, "cron" | "timezone">): Cron {
    const key = `${row.timezone}\u0000${row.cron}`;
    let job = this.crons.get(key);
    if (!job) {
      if (this.crons.size >= MAX_CACHED_CRONS) this.crons.clear();
      this.crons.set(key, (job = parseCron(row.cron, row.timezone)));
    }
    return job;
  }

  private async catchUp(row: ScheduleRow): Promise<{ caughtUp: number; missed: number }> {
    // Ticks before the last change are not missed: the server was running when the change was
    // made (the clock acted on them) or the schedule was paused until then.
    const from = Math.max(row.lastFireAt ?? row.createdAt, row.updatedAt);
    let ticks;
    try {
      ticks = ticksBetween(this.cronOf(row), from, this.deps.timers.now());
    } catch (err) {
      this.deps.log.error("schedule cannot be evaluated", { scheduleId: row.id, err });
      return { caughtUp: 0, missed: 0 };
    }
    if (!ticks.count || ticks.latest === null) return { caughtUp: 0, missed: 0 };
    const runOne = row.catchUp >= 1;
    const missed = runOne ? ticks.count - 1 : ticks.count;
    if (missed > 0) {
      this.missed(row.id, ticks.latest, missed, ticks.atLeast);
      this.deps.audit("schedule.ticks_missed", row.id, { missed, atLeast: ticks.atLeast, latest: new Date(ticks.latest).toISOString(), caughtUp: runOne });
    }
    if (runOne) await this.fire(row.id, ticks.latest);
    else markTick(this.deps.db, row.id, ticks.latest, () => "missed"); // acted on: recorded as missed, never run later
    return { caughtUp: runOne ? 1 : 0, missed };
  }

  private missed(id: string, latest: number, count: number, atLeast: boolean): void {
    this.state(id).missed += count;
    this.record(id, { scheduledAt: latest, at: this.deps.timers.now(), outcome: "missed", count, atLeast });
    this.deps.log.warn("schedule ticks missed", { scheduleId: id, count, atLeast, latest: new Date(latest).toISOString() });
  }

  private failed(id: string, scheduledAt: number, message: string): void {
    const s = this.state(id);
    const changed = s.lastError?.message !== message;
    s.lastError = { message, at: this.deps.timers.now() };
    this.record(id, { scheduledAt, at: this.deps.timers.now(), outcome: "failed", error: message });
    this.deps.log.warn("schedule could not trigger its run", { scheduleId: id, scheduledAt: new Date(scheduledAt).toISOString(), error: message });
    // Audited when the reason changes, not on every tick of a schedule that keeps failing.
    if (changed) this.deps.audit("schedule.trigger_failed", id, { scheduledAt: new Date(scheduledAt).toISOString(), error: message });
  }

  private record(id: string, tick: TickRecord): void {
    const s = this.state(id);
    if (tick.outcome !== "missed") s[tick.outcome]++; // missed ones are counted by missed()
    s.recent.unshift(tick);
    if (s.recent.length > RECENT_TICKS) s.recent.length = RECENT_TICKS;
  }
}
