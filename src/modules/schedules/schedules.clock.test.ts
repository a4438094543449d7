// The schedule clock on a fake clock and fake runs: ticks at their scheduled times, the overlap
// policies, trigger errors, no tick twice across a "kill -9" and restart on the same database,
// catch-up 0 and 1 after downtime, pause/resume, edits, and a schedule deleted while armed.
import { describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { openMemoryDatabase, type Db } from "../../db/client";
import { auditLog, deployments, schedules } from "../../db/schema";
import { log } from "../../lib/logger";
import { FakeTimers } from "../../../test/helpers/fake-timers";
import { ScheduleClock } from "./schedules.clock";
import { systemAudit } from "../../../test/helpers/system-audit";
import type { ScheduleRuns } from "./schedules.ports";
import { updateSchedule, type OverlapPolicy } from "./schedules.store";

const T0 = Date.parse("2026-01-01T00:00:03Z");
const at = (iso: string) => Date.parse(`2026-01-01T${iso}Z`);

class FakeRuns implements ScheduleRuns {
  calls: { at: number; scheduleId: string; deploymentId: string; params: Record<string, unknown> }[] = [];
  active = 0;
  failWith: string | null = null;
  hang = false;
  constructor(private readonly timers: FakeTimers) {}
  trigger = (input: Parameters<ScheduleRuns["trigger"]>[0]) => {
    expect(input.trigger).toBe("schedule");
    this.calls.push({ at: this.timers.now(), scheduleId: input.scheduleId, deploymentId: input.deploymentId, params: input.params });
    if (this.failWith) throw new Error(this.failWith);
    if (this.hang) return new Promise<{ id: string }>(() => {});
    return { id: `run_${this.calls.length}` };
  };
  activeRunCount = () => this.active;
}

function setup(opts: { cron?: string; overlap?: OverlapPolicy; catchUp?: number; timezone?: string } = {}) {
  const db = openMemoryDatabase();
  db.insert(deployments).values({ id: "dep_1", name: "scraper", createdAt: T0 - 60_000, updatedAt: T0 - 60_000 }).run();
  db.insert(schedules)
    .values({ id: "sch_1", deploymentId: "dep_1", cron: opts.cron ?? "*/10 * * * * *", timezone: opts.timezone ?? "UTC", params: { url: "https://example.com" }, overlap: opts.overlap ?? "skip", catchUp: opts.catchUp ?? 1, createdAt: T0 - 1000, updatedAt: T0 - 1000 })
    .run();
  const timers = new FakeTimers(T0);
  const runs = new FakeRuns(timers);
  const clock = new ScheduleClock({ db, log, runs, timers, audit: systemAudit(db) });
  return { db, timers, runs, clock };
}

/** A second process on the same database: its own clock, timers and runs. */
function restart(db: Db, t: number) {
  const timers = new FakeTimers(t);
  const runs = new FakeRuns(timers);
  return { timers, runs, clock: new ScheduleClock({ db, log, runs, timers, audit: systemAudit(db) }) };
}

const lastFireAt = (db: Db) => db.select().from(schedules).where(eq(schedules.id, "sch_1")).get()!.lastFireAt;
const audits = (db: Db, action: string) => db.select().from(auditLog).all().filter((a) => a.action === action);

describe("schedule clock", () => {
  test("fires each tick at its scheduled time with the schedule's params, persisting lastFireAt", async () => {
    const { db, timers, runs, clock } = setup();
    expect(await clock.start()).toEqual({ schedules: 1, caughtUp: 0, missed: 0 });
    expect(clock.armedFor("sch_1")).toBe(at("00:00:10"));
    await timers.advance(30_000);
    expect(runs.calls.map((c) => c.at)).toEqual([at("00:00:10"), at("00:00:20"), at("00:00:30")]);
    expect(runs.calls[0]).toMatchObject({ scheduleId: "sch_1", deploymentId: "dep_1", params: { url: "https://example.com" } });
    expect(lastFireAt(db)).toBe(at("00:00:30"));
    expect(clock.state("sch_1")).toMatchObject({ triggered: 3, skipped: 0, missed: 0, failed: 0 });
    expect(clock.state("sch_1").recent[0]).toMatchObject({ outcome: "triggered", runId: "run_3", scheduledAt: at("00:00:30") });
    expect(timers.size).toBe(1);
  });

  test("overlap skip: a tick while a run of the schedule is queued or running is recorded as skipped, not triggered", async () => {
    const { db, timers, runs, clock } = setup({ overlap: "skip" });
    await clock.start();
    runs.active = 1;
    await timers.advance(20_000);
    expect(runs.calls).toHaveLength(0);
    expect(clock.state("sch_1")).toMatchObject({ skipped: 2, triggered: 0 });
    expect(clock.state("sch_1").recent[0]).toMatchObject({ outcome: "skipped", scheduledAt: at("00:00:20") });
    expect(lastFireAt(db)).toBe(at("00:00:20")); // skipped ticks are acted on too: never replayed
    runs.active = 0;
    await timers.advance(10_000);
    expect(runs.calls.map((c) => c.at)).toEqual([at("00:00:30")]);
  });

  for (const overlap of ["queue", "allow"] as const)
    test(`overlap ${overlap}: every tick triggers while runs of the schedule are active`, async () => {
      const { timers, runs, clock } = setup({ overlap });
      await clock.start();
      runs.active = 3;
      await timers.advance(30_000);
      expect(runs.calls).toHaveLength(3);
      expect(clock.state("sch_1").skipped).toBe(0);
    });

  test("a trigger error is recorded (state, log, one audit entry per new reason) and the clock keeps going", async () => {
    const { db, timers, runs, clock } = setup();
    await clock.start();
    runs.failWith = "Deployment has no current version.";
    await timers.advance(30_000);
    expect(runs.calls).toHaveLength(3);
    const s = clock.state("sch_1");
    expect(s).toMatchObject({ failed: 3, triggered: 0, lastError: { message: "Deployment has no current version.", at: at("00:00:30") } });
    expect(audits(db, "schedule.trigger_failed")).toHaveLength(1);
    runs.failWith = null;
    await timers.advance(10_000);
    expect(clock.state("sch_1")).toMatchObject({ triggered: 1, failed: 3 });
    expect(clock.armedFor("sch_1")).toBe(at("00:00:50"));
  });

  test("kill -9 after a tick is persisted: a new clock on the same database never fires that tick again", async () => {
    const first = setup();
    first.runs.hang = true; // the process dies while the trigger is in flight
    await first.clock.start();
    void first.timers.advance(7_000); // never settles: the trigger hangs
    await Bun.sleep(5);
    expect(first.runs.calls.map((c) => c.at)).toEqual([at("00:00:10")]);
    expect(lastFireAt(first.db)).toBe(at("00:00:10"));
    // "kill -9": the first clock is abandoned as it is (nothing stopped, nothing flushed).
    for (const restartAt of [at("00:00:10"), at("00:00:10") + 400, at("00:00:19.999")]) {
      const second = restart(first.db, restartAt);
      expect(await second.clock.start()).toEqual({ schedules: 1, caughtUp: 0, missed: 0 });
      expect(second.runs.calls).toHaveLength(0);
      expect(second.clock.armedFor("sch_1")).toBe(at("00:00:20"));
      second.clock.stop();
    }
    const third = restart(first.db, at("00:00:12"));
    await third.clock.start();
    await third.timers.advance(10_000);
    expect(third.runs.calls.map((c) => c.at)).toEqual([at("00:00:20")]);
    // Two clocks alive on one database (a stale process): the tick is claimed once.
    const fourth = restart(first.db, at("00:00:22"));
    await fourth.clock.start();
    await Promise.all([third.timers.advance(10_000), fourth.timers.advance(10_000)]);
    expect(third.runs.calls.length + fourth.runs.calls.length).toBe(2);
  });

  test("catch-up 1: after downtime the latest missed tick runs at once, the others are recorded missed", async () => {
    const { db } = setup({ catchUp: 1 });
    db.update(schedules).set({ lastFireAt: at("00:00:10") }).run();
    const next = restart(db, at("00:01:45"));
    expect(await next.clock.start()).toEqual({ schedules: 1, caughtUp: 1, missed: 8 });
    expect(next.runs.calls.map((c) => c.at)).toEqual([at("00:01:45")]);
    expect(lastFireAt(db)).toBe(at("00:01:40"));
    const s = next.clock.state("sch_1");
    expect(s).toMatchObject({ triggered: 1, missed: 8 });
    expect(s.recent.map((r) => r.outcome)).toEqual(["triggered", "missed"]);
    expect(s.recent[1]).toMatchObject({ count: 8, scheduledAt: at("00:01:40") });
    expect(audits(db, "schedule.ticks_missed")[0]!.detail).toMatchObject({ missed: 8, caughtUp: true });
    expect(next.clock.armedFor("sch_1")).toBe(at("00:01:50"));
    await next.timers.advance(5_000);
    expect(next.runs.calls).toHaveLength(2);
  });

  test("catch-up 0: missed ticks are recorded, none runs, and a second restart does not count them again", async () => {
    const { db } = setup({ catchUp: 0 });
    db.update(schedules).set({ lastFireAt: at("00:00:10") }).run();
    const next = restart(db, at("00:01:45"));
    expect(await next.clock.start()).toEqual({ schedules: 1, caughtUp: 0, missed: 9 });
    expect(next.runs.calls).toHaveLength(0);
    expect(lastFireAt(db)).toBe(at("00:01:40"));
    const again = restart(db, at("00:01:47"));
    expect(await again.clock.start()).toEqual({ schedules: 1, caughtUp: 0, missed: 0 });
    expect(again.runs.calls).toHaveLength(0);
  });

  test("a schedule that never fired counts its downtime from its creation", async () => {
    const { db } = setup({ catchUp: 1 });
    const next = restart(db, at("00:00:25"));
    expect(await next.clock.start()).toEqual({ schedules: 1, caughtUp: 1, missed: 1 });
    expect(lastFireAt(db)).toBe(at("00:00:20"));
  });

  test("pause and resume: no tick while paused, none of the paused ones replayed on resume or after a restart", async () => {
    const { db, timers, runs, clock } = setup();
    await clock.start();
    await timers.advance(10_000);
    expect(runs.calls).toHaveLength(1);
    updateSchedule(db, "sch_1", { enabled: false }, timers.now());
    clock.reschedule("sch_1");
    expect(clock.armedFor("sch_1")).toBeNull();
    expect(timers.size).toBe(0);
    await timers.advance(60_000);
    expect(runs.calls).toHaveLength(1);
    updateSchedule(db, "sch_1", { enabled: true }, timers.now());
    clock.reschedule("sch_1");
    expect(clock.armedFor("sch_1")).toBe(at("00:01:20"));
    expect(runs.calls).toHaveLength(1);
    const after = restart(db, at("00:01:15"));
    expect(await after.clock.start()).toEqual({ schedules: 1, caughtUp: 0, missed: 0 });
  });

  test("a paused schedule is not armed at start; a row paused behind the clock's back is dropped when its timer fires", async () => {
    const { db, timers, runs, clock } = setup();
    await clock.start();
    db.update(schedules).set({ enabled: false }).run();
    await timers.advance(30_000);
    expect(runs.calls).toHaveLength(0);
    expect(timers.size).toBe(0);
    expect(lastFireAt(db)).toBeNull();
    const again = restart(db, timers.now());
    expect(await again.clock.start()).toEqual({ schedules: 0, caughtUp: 0, missed: 0 });
  });

  test("an edit re-arms at once for the new cron", async () => {
    const { db, timers, runs, clock } = setup({ cron: "0 0 * * * *" });
    await clock.start();
    expect(clock.armedFor("sch_1")).toBe(Date.parse("2026-01-01T01:00:00Z"));
    updateSchedule(db, "sch_1", { cron: "*/5 * * * * *" }, timers.now());
    clock.reschedule("sch_1");
    expect(clock.armedFor("sch_1")).toBe(at("00:00:05"));
    await timers.advance(10_000);
    expect(runs.calls.map((c) => c.at)).toEqual([at("00:00:05"), at("00:00:10")]);
    expect(timers.size).toBe(1);
  });

  test("deleting the deployment while its schedule is armed: the cascade removes the row, the timer drops it, nothing fires", async () => {
    const { db, timers, runs, clock } = setup();
    await clock.start();
    db.delete(deployments).where(eq(deployments.id, "dep_1")).run();
    expect(db.select().from(schedules).all()).toHaveLength(0);
    await timers.advance(30_000);
    expect(runs.calls).toHaveLength(0);
    expect(timers.size).toBe(0);
    expect(clock.armedFor("sch_1")).toBeNull();
  });

  test("a clock that wakes late fires the due tick once and records the ticks it slept through as missed", async () => {
    const { timers, runs, clock } = setup();
    await clock.start();
    timers.t = at("00:00:45"); // the process stalled past three ticks
    await timers.advance(0);
    expect(runs.calls).toHaveLength(1);
    expect(clock.state("sch_1")).toMatchObject({ triggered: 1, missed: 3 });
    expect(clock.armedFor("sch_1")).toBe(at("00:00:50"));
  });

  test("a far-off tick waits in bounded chunks and still fires on time", async () => {
    const { timers, runs, clock } = setup({ cron: "0 0 0 1 6 *" }); // 1 June, 00:00 UTC
    await clock.start();
    const due = Date.parse("2026-06-01T00:00:00Z");
    expect(clock.armedFor("sch_1")).toBe(due);
    expect(timers.dueTimes()[0]! - timers.now()).toBeLessThanOrEqual(6 * 3600_000);
    await timers.advanceTo(due - 1);
    expect(runs.calls).toHaveLength(0);
    await timers.advanceTo(due);
    expect(runs.calls.map((c) => c.at)).toEqual([due]);
  });

  test("stop leaves no timer", async () => {
    const { timers, clock } = setup();
    await clock.start();
    clock.stop();
    expect(timers.size).toBe(0);
  });
});
