import { expect, test } from "bun:test";
import { openMemoryDatabase } from "../../db/client";
import { deploymentRunStats } from "./runs.store";

test("deployment run statistics: the latest run, and succeeded over finished (cancelled and unfinished runs count for neither side)", () => {
  const db = openMemoryDatabase();
  const q = db.$client;
  q.run("INSERT INTO deployments (id, name) VALUES ('d1', 'one'), ('d2', 'two'), ('d3', 'three')");
  const run = (id: string, dep: string, status: string, at: number) =>
    q.run("INSERT INTO runs (id, deployment_id, version, status, params, trigger, created_at) VALUES (?, ?, 1, ?, '{}', 'api', ?)", [id, dep, status, at]);
  run("r1", "d1", "succeeded", 100);
  run("r2", "d1", "failed", 200);
  run("r3", "d1", "timed_out", 300);
  run("r4", "d1", "cancelled", 400);
  run("r5", "d1", "succeeded", 500);
  run("r6", "d1", "running", 600);
  run("r7", "d2", "queued", 50);
  const stats = deploymentRunStats(db);
  expect(stats.get("d1")).toEqual({ last: { id: "r6", status: "running", createdAt: 600 }, finished: 4, succeeded: 2 });
  expect(stats.get("d2")).toEqual({ last: { id: "r7", status: "queued", createdAt: 50 }, finished: 0, succeeded: 0 });
  expect(stats.has("d3")).toBe(false);
});
