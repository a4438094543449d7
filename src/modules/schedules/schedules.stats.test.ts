// Statistics on seeded runs: counts, success rate without cancelled runs, nearest-rank p50/p95
// over finished runs only, the latest failure with its reason, the last 20 runs newest first,
// and schedules kept apart.
import { describe, expect, test } from "bun:test";
import { openMemoryDatabase } from "../../db/client";
import { deployments, runs, schedules } from "../../db/schema";
import { percentile, scheduleStats } from "./schedules.stats";

type Status = (typeof runs.$inferInsert)["status"];

function seed() {
  const db = openMemoryDatabase();
  db.insert(deployments).values({ id: "dep_1", name: "d" }).run();
  for (const id of ["sch_a", "sch_b", "sch_empty"]) db.insert(schedules).values({ id, deploymentId: "dep_1", cron: "* * * * *", params: {} }).run();
  let n = 0;
  const add = (scheduleId: string | null, status: Status, durationMs: number | null, extra: Partial<typeof runs.$inferInsert> = {}) => {
    n++;
    db.insert(runs)
      .values({ id: `run_${String(n).padStart(3, "0")}`, deploymentId: "dep_1", version: 1, status, params: {}, trigger: scheduleId ? "schedule" : "api", scheduleId, createdAt: 1000 * n, durationMs, ...extra })
      .run();
  };
  return { db, add };
}

describe("schedule statistics", () => {
  test("counts, success rate, percentiles, last failure and recent runs", () => {
    const { db, add } = seed();
    // sch_a: 10 succeeded (100..1000 ms), 2 failed, 1 timed out, 1 cancelled, 1 running, 1 queued.
    for (let i = 1; i <= 10; i++) add("sch_a", "succeeded", i * 100);
    add("sch_a", "failed", 50, { error: "first failure", endedAt: 20_000 });
    add("sch_a", "timed_out", 5000, { error: "timed out after 5 s", endedAt: 30_000 });
    add("sch_a", "failed", null, { startedAt: 13_000, endedAt: 13_700, error: "no duration column, derived" });
    add("sch_a", "cancelled", 10);
    add("sch_a", "running", null, { startedAt: 16_000 });
    add("sch_a", "queued", null);
    // Other schedules' and API runs do not count for sch_a.
    add("sch_b", "succeeded", 99_999);
    add(null, "failed", 1, { error: "api run" });

    const stats = scheduleStats(db, ["sch_a", "sch_b", "sch_empty"]);
    const a = stats.get("sch_a")!;
    expect(a).toMatchObject({ runs: 16, active: 2, succeeded: 10, failed: 3, cancelled: 1 });
    expect(a.successRate).toBeCloseTo(10 / 13, 10);
    // Finished durations sorted: 10, 50, 100..1000, 700 (derived), 5000 → 14 values.
    const finished = [10, 50, 100, 200, 300, 400, 500, 600, 700, 700, 800, 900, 1000, 5000];
    expect(a.p50DurationMs).toBe(percentile(finished, 0.5));
    expect(a.p50DurationMs).toBe(500); // rank ceil(0.5 × 14) = 7
    expect(a.p95DurationMs).toBe(5000);
    expect(a.lastFailure).toEqual({ runId: "run_012", status: "timed_out", at: 30_000, error: "timed out after 5 s" });
    expect(a.recentRuns).toHaveLength(16);
    expect(a.recentRuns[0]).toEqual({ id: "run_016", status: "queued", durationMs: null, createdAt: 16_000 });
    expect(a.recentRuns.at(-1)!.id).toBe("run_001");

    expect(stats.get("sch_b")).toMatchObject({ runs: 1, successRate: 1, p50DurationMs: 99_999, p95DurationMs: 99_999, lastFailure: null });
    expect(stats.get("sch_empty")).toMatchObject({ runs: 0, active: 0, successRate: null, p50DurationMs: null, lastFailure: null, recentRuns: [] });
  });

  test("only the last 20 runs are listed; a schedule with only cancelled runs has no success rate", () => {
    const { db, add } = seed();
    for (let i = 0; i < 25; i++) add("sch_a", "succeeded", i);
    add("sch_b", "cancelled", 5);
    const stats = scheduleStats(db, ["sch_a", "sch_b"]);
    expect(stats.get("sch_a")!.recentRuns.map((r) => r.durationMs)).toEqual(Array.from({ length: 20 }, (_, i) => 24 - i));
    expect(stats.get("sch_b")!.successRate).toBeNull();
    expect(scheduleStats(db, []).size).toBe(0);
  });

  test("nearest-rank percentile", () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([7], 0.95)).toBe(7);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 0.95)).toBe(95);
  });
});
