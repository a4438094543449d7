// kill -9 for real: a clock in its own process on a database file triggers a tick, claims the
// next one and is killed (SIGKILL) before that run is triggered; a new clock on the same file
// never triggers the claimed tick nor the triggered one again, and goes on with the next ticks.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../db/client";
import { deployments, runs, schedules } from "../../db/schema";
import { log } from "../../lib/logger";
import { spawnCollecting } from "../../../test/helpers/process";
import { ScheduleClock } from "./schedules.clock";
import { systemAudit } from "../../../test/helpers/system-audit";
import { realTimers } from "./schedules.ports";

const dir = mkdtempSync(join(tmpdir(), "bg-sched-kill-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("no tick fires twice across a kill -9 between its claim and its run", async () => {
  const path = join(dir, "browsergrid.db");
  const db = openDatabase(path);
  const now = Date.now();
  db.insert(deployments).values({ id: "dep_k", name: "kill" }).run();
  db.insert(schedules).values({ id: "sch_k", deploymentId: "dep_k", cron: "* * * * * *", params: {}, overlap: "allow", catchUp: 1, createdAt: now, updatedAt: now }).run();

  // The child triggers its first tick, then claims the second and hangs in its trigger.
  const child = spawnCollecting(["bun", join(import.meta.dir, "../../../test/helpers/schedule-clock-process.ts"), path, "2"], { env: { ...process.env } as Record<string, string> });
  const deadline = Date.now() + 15_000;
  while (!/CLAIMED \d+/.test(child.output()) && Date.now() < deadline && child.proc.exitCode === null) await Bun.sleep(20);
  const claimed = Number(/CLAIMED (\d+)/.exec(child.output())?.[1]);
  child.proc.kill("SIGKILL");
  await child.proc.exited;
  expect(child.output()).toMatch(/TRIGGERED \d+\nCLAIMED \d+/);
  const first = Number(/TRIGGERED (\d+)/.exec(child.output())![1]);
  expect(claimed).toBe(first + 1000);
  expect(child.proc.signalCode).toBe("SIGKILL");

  // A new process (here: a new clock on a new connection to the same file).
  const db2 = openDatabase(path);
  expect(db2.select().from(schedules).get()!.lastFireAt).toBe(claimed);
  const ticks: number[] = [];
  const clock = new ScheduleClock({
    db: db2,
    log,
    audit: systemAudit(db2),
    timers: realTimers,
    runs: {
      activeRunCount: () => 0,
      trigger: ({ scheduleId, deploymentId }) => {
        const tick = db2.select().from(schedules).get()!.lastFireAt!;
        ticks.push(tick);
        db2.insert(runs).values({ id: `run_${tick}`, deploymentId, version: 1, status: "queued", params: {}, trigger: "schedule", scheduleId }).run();
        return { id: `run_${tick}` };
      },
    },
  });
  await clock.start();
  await Bun.sleep(2_300);
  clock.stop();

  expect(ticks.length).toBeGreaterThanOrEqual(2);
  expect(ticks).not.toContain(claimed);
  expect(ticks).not.toContain(first);
  expect(Math.min(...ticks)).toBeGreaterThan(claimed);
  expect(new Set(ticks).size).toBe(ticks.length);
  const ids = db2.select({ id: runs.id }).from(runs).all().map((r) => r.id);
  expect(ids).toEqual([`run_${first}`, ...ticks.map((t) => `run_${t}`)]);
  db.$client.close();
  db2.$client.close();
}, 30_000);
