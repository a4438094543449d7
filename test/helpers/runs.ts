// A test app with the run lifecycle wired to fakes of its ports (run-fakes.ts) and a real
// session service over an in-memory provider: each attempt creates a real session row, owned by
// the run, on a fake worker.
import { makeTestApp, type TestApp } from "./app";
import { FakeProvider } from "./fake-provider";
import { FakeDeployments, FakeRunners, type ManualClock } from "./run-fakes";
import { ProviderRegistryImpl } from "../../src/providers/registry";
import { findPoolByName } from "../../src/modules/pools/pools.service";
import { registerWorker, setWorkerStatus } from "../../src/modules/workers/workers.service";
import type { RunsService } from "../../src/modules/runs/runs.service";

export interface RunsHarness {
  t: TestApp;
  runs: RunsService;
  deployments: FakeDeployments;
  runners: FakeRunners;
  provider: FakeProvider;
}

export async function runsHarness(opts: { clock?: ManualClock; start?: boolean } = {}): Promise<RunsHarness> {
  const providers = new ProviderRegistryImpl();
  let deployments!: FakeDeployments;
  let runners!: FakeRunners;
  let workerId = "";
  const t = await makeTestApp({
    providers,
    runs: ({ db }) => {
      deployments = new FakeDeployments(db);
      runners = new FakeRunners(() => [workerId]);
      return { deployments, runners, clock: opts.clock };
    },
  });
  const worker = registerWorker(t.deps.db, { name: "w1", poolId: findPoolByName(t.deps.db, "default")!.id, endpoint: "unix:///fake.sock", kind: "docker", capacity: 10 });
  setWorkerStatus(t.deps.db, worker.id, "online");
  workerId = worker.id;
  const provider = new FakeProvider(worker.id);
  providers.set(worker.id, provider);
  const runs = t.deps.runs!;
  if (opts.start !== false) runs.start();
  return { t, runs, deployments, runners, provider };
}

/** Waits until `check` holds (polling), or fails after `ms`. */
export async function until(check: () => boolean, ms = 3000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}
