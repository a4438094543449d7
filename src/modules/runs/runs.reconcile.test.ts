// Reconciliation of runs after a restart, against fake runner containers: the database is set
// up as a killed process left it (running runs, no attempt in this process), then reconciled.
import { expect, test } from "bun:test";
import { runsHarness, until } from "../../../test/helpers/runs";
import { getRun, transitionRun } from "./runs.store";
import { reconcileRuns, RUNNER_VANISHED } from "./runs.reconcile";

async function harness() {
  const h = await runsHarness({ start: false });
  h.deployments.add("job");
  const workerId = h.runners.workers()[0]!;
  const { db } = h.t.deps;
  /** A run as a killed process left it: running, in attempt 1, with these fields. */
  const leftRunning = async (fields: { workerId?: string | null; runnerHandle?: string | null }) => {
    const r = await h.runs.trigger({ deploymentName: "job", trigger: "api" });
    return transitionRun(db, r.id, ["queued"], "running", { attempt: 1, startedAt: Date.now(), workerId: null, runnerHandle: null, ...fields }, { type: "attempt_started", detail: { attempt: 1 } }, Date.now())!;
  };
  /** A runner container for a run, as the worker has it. */
  const container = async (runId: string, script = { hang: true }) => {
    h.runners.script = () => script;
    return (await h.runners.startRunner(workerId, { runId, attempt: 1, runtime: "bun", sessionId: "", poolId: "", workerId, bundle: new Uint8Array(), entry: "main.ts", env: {} })).handle;
  };
  return { h, db, workerId, leftRunning, container };
}

test("after a restart: vanished runner → failed with the reason; live runner → adopted; orphans removed; queued runs resume; twice changes nothing", async () => {
  const { h, db, workerId, leftRunning, container } = await harness();
  const vanished = await leftRunning({ workerId, runnerHandle: "runner-that-is-gone" });
  const survivor = await leftRunning({ workerId });
  const survivorHandle = await container(survivor.id);
  transitionRun(db, survivor.id, ["running"], "running", { runnerHandle: survivorHandle }, null, Date.now());
  const noBrowser = await leftRunning({ workerId: null });
  const orphan = await container("run_aaaaaaaaaaaaaaaaaaaa");
  const ended = await h.runs.trigger({ deploymentName: "job", trigger: "api" });
  await h.runs.cancel(ended.id);
  const ofEnded = await container(ended.id);
  const queued = await h.runs.trigger({ deploymentName: "job", trigger: "api" });

  const report = await reconcileRuns({ db, log: h.t.deps.log, runs: h.runs });
  expect(report.removedRunners.sort()).toEqual([orphan, ofEnded].sort());
  expect(report.adoptedRuns).toEqual([survivor.id]);
  expect(report.failedRuns.map((f) => f.id).sort()).toEqual([vanished.id, noBrowser.id].sort());
  expect(getRun(db, vanished.id)).toMatchObject({ status: "failed", error: RUNNER_VANISHED });
  expect(getRun(db, noBrowser.id)!.status).toBe("failed");
  expect(getRun(db, survivor.id)!.status).toBe("running");
  expect(h.runners.containers.get(survivorHandle)!.removed).toBe(false);

  const again = await reconcileRuns({ db, log: h.t.deps.log, runs: h.runs });
  expect(again).toEqual({ removedRunners: [], failedRuns: [], adoptedRuns: [], unreachableWorkers: [] });

  // The adopted run finishes as if nothing happened.
  h.runners.exit(survivorHandle, 0);
  await until(() => getRun(db, survivor.id)!.status === "succeeded", 3000, "adopted run end");
  // Queued runs wait for the dispatcher, which boot starts after reconciliation.
  expect(getRun(db, queued.id)!.status).toBe("queued");
  h.runners.script = () => ({ exitCode: 0 });
  h.runs.start();
  await until(() => getRun(db, queued.id)!.status === "succeeded", 3000, "queued run");
});

test("a worker that does not answer: its running runs are left alone", async () => {
  const { h, db, workerId, leftRunning } = await harness();
  const run = await leftRunning({ workerId, runnerHandle: "runner-x" });
  h.runners.unreachable.add(workerId);
  const report = await reconcileRuns({ db, log: h.t.deps.log, runs: h.runs });
  expect(report.unreachableWorkers).toEqual([workerId]);
  expect(getRun(db, run.id)!.status).toBe("running");
  h.runners.unreachable.clear();
  expect((await reconcileRuns({ db, log: h.t.deps.log, runs: h.runs })).failedRuns).toEqual([{ id: run.id, reason: RUNNER_VANISHED }]);
});
