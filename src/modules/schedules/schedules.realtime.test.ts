// The clock on real time: a schedule every second (`* * * * * *`) fires at least 4 times in
// ~4.5 s, each close to its whole second, never twice for one second. Prints its own lateness
// figures (trigger call time minus the scheduled second), p50 and max.
import { expect, test } from "bun:test";
import { openMemoryDatabase } from "../../db/client";
import { deployments, schedules } from "../../db/schema";
import { log } from "../../lib/logger";
import { ScheduleClock } from "./schedules.clock";
import { systemAudit } from "../../../test/helpers/system-audit";
import { realTimers } from "./schedules.ports";
import { percentile } from "./schedules.stats";

/** Generous for a busy 2-core machine; typical lateness is a few ms. */
const MAX_LATENESS_MS = 250;

test("every-second schedule fires on time on the real clock", async () => {
  const db = openMemoryDatabase();
  const created = Date.now();
  db.insert(deployments).values({ id: "dep_rt", name: "realtime" }).run();
  db.insert(schedules).values({ id: "sch_rt", deploymentId: "dep_rt", cron: "* * * * * *", params: {}, overlap: "allow", createdAt: created, updatedAt: created }).run();
  const calls: number[] = [];
  const clock = new ScheduleClock({
    db,
    log,
    audit: systemAudit(db),
    timers: realTimers,
    runs: { trigger: () => (calls.push(Date.now()), { id: `run_${calls.length}` }), activeRunCount: () => 0 },
  });
  await clock.start();
  await Bun.sleep(4_500);
  clock.stop();

  const seconds = calls.map((c) => Math.floor(c / 1000) * 1000);
  const lateness = calls.map((c, i) => c - seconds[i]!);
  const sorted = [...lateness].sort((a, b) => a - b);
  console.log(JSON.stringify({ ticks: calls.length, latenessMs: lateness, p50: percentile(sorted, 0.5), max: sorted.at(-1) }));
  expect(calls.length).toBeGreaterThanOrEqual(4);
  expect(new Set(seconds).size).toBe(seconds.length); // one trigger per second
  for (let i = 1; i < seconds.length; i++) expect(seconds[i]! - seconds[i - 1]!).toBe(1000); // none skipped
  for (const l of lateness) expect(l).toBeLessThan(MAX_LATENESS_MS);
  expect(clock.state("sch_rt")).toMatchObject({ triggered: calls.length, missed: 0, failed: 0 });
}, 15_000);
