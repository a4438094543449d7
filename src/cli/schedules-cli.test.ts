// `browsergrid schedules list` against a real data directory: lines and --json with next runs
// and statistics, a deployment filter, an unknown deployment refused, help that says changes go
// through the API.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { databasePath, openDatabase } from "../db/client";
import { deployments, runs, schedules } from "../db/schema";

const MAIN = join(import.meta.dir, "../main.ts");

function run(dataDir: string, args: string[]) {
  const p = Bun.spawnSync([process.execPath, "run", MAIN, ...args], {
    env: { PATH: process.env.PATH!, HOME: dataDir, BROWSERGRID_DATA_DIR: dataDir, BROWSERGRID_LOG_LEVEL: "error" },
    stdin: "ignore",
  });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}

test("schedules list: lines, --json, --deployment; unknown deployment refused", () => {
  const dir = mkdtempSync(join(tmpdir(), "bg-cli-schedules-"));
  try {
    expect(run(dir, ["schedules", "--help"]).out).toContain("PATCH|DELETE /api/v1/schedules/<id>");
    const db = openDatabase(databasePath(dir));
    db.insert(deployments).values([{ id: "dep_a", name: "alpha" }, { id: "dep_b", name: "beta" }]).run();
    db.insert(schedules).values([
      { id: "sch_a", deploymentId: "dep_a", cron: "0 9 * * *", timezone: "Europe/Berlin", params: { q: 1 }, overlap: "queue" },
      { id: "sch_b", deploymentId: "dep_b", cron: "*/5 * * * * *", params: {}, enabled: false },
    ]).run();
    db.insert(runs).values([
      { id: "run_1", deploymentId: "dep_a", version: 1, status: "succeeded", params: {}, trigger: "schedule", scheduleId: "sch_a", durationMs: 2000 },
      { id: "run_2", deploymentId: "dep_a", version: 1, status: "failed", params: {}, trigger: "schedule", scheduleId: "sch_a", durationMs: 4000, error: "boom" },
    ]).run();
    db.$client.close();

    const lines = run(dir, ["schedules", "list"]);
    expect(lines.code).toBe(0);
    expect(lines.out).toMatch(/sch_a {2}alpha +0 9 \* \* \* Europe\/Berlin +queue enabled +next \d{4}-\d\d-\d\dT0[78]:00:00.000Z {2}runs 2 {2}ok 50% {2}p50 2.0s {2}p95 4.0s/);
    expect(lines.out).toMatch(/sch_b {2}beta .* paused +next -/);

    const json = JSON.parse(run(dir, ["schedules", "list", "--json", "--deployment", "alpha"]).out);
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({ id: "sch_a", deployment: "alpha", overlap: "queue", stats: { runs: 2, successRate: 0.5, lastFailure: { runId: "run_2", error: "boom" } } });
    expect(json[0].nextRuns).toHaveLength(5);
    expect(json[0].ticks).toBeUndefined();

    const unknown = run(dir, ["schedules", "list", "--deployment", "nope"]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('Deployment "nope" was not found');
    expect(run(dir, ["schedules", "pause"]).code).toBe(2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
