// The providers' runner operations reached per worker: a worker whose provider has them gets
// the call; one without them is refused (503 runner_unsupported) and left out of reconciliation.
import { expect, test } from "bun:test";
import { ProviderRegistryImpl } from "../../providers/registry";
import { FakeProvider } from "../../../test/helpers/fake-provider";
import { providerRunRunners } from "./runs.runners";
import type { RunnerSpec } from "./runs.ports";

class RunnerCapableProvider extends FakeProvider {
  calls: string[] = [];
  async startRunner(spec: RunnerSpec) {
    this.calls.push(`start ${spec.runId}`);
    return { handle: "h1" };
  }
  async *runnerLogs() {}
  async waitRunner(handle: string, timeoutMs: number) {
    this.calls.push(`wait ${handle} ${timeoutMs}`);
    return { exitCode: 0 };
  }
  async stopRunner(handle: string) {
    this.calls.push(`stop ${handle}`);
  }
  async listOwnedRunners() {
    return [{ handle: "h1", runId: "run_x", attempt: 1, running: true }];
  }
  async copyOut(): Promise<NodeJS.ReadableStream> {
    throw new Error("not here");
  }
}

test("calls go to the worker's provider; a provider without runner support is refused and not listed", async () => {
  const providers = new ProviderRegistryImpl();
  const capable = new RunnerCapableProvider("w1");
  providers.set("w1", capable);
  providers.set("w2", new FakeProvider("w2"));
  const runners = providerRunRunners(providers, (w) => (w === "w1" ? { http: "http://door:1", ws: "ws://door:1" } : null));
  expect(runners.workers()).toEqual(["w1"]);
  expect(await runners.startRunner("w1", { runId: "run_x" } as RunnerSpec)).toEqual({ handle: "h1" });
  expect(await runners.waitRunner("w1", "h1", 500)).toEqual({ exitCode: 0 });
  await runners.stopRunner("w1", "h1");
  expect(capable.calls).toEqual(["start run_x", "wait h1 500", "stop h1"]);
  expect(await runners.listOwnedRunners("w1")).toEqual([{ handle: "h1", runId: "run_x", attempt: 1, running: true }]);
  expect(runners.doorUrls("w1")).toEqual({ http: "http://door:1", ws: "ws://door:1" });
  expect(() => runners.startRunner("w2", { runId: "run_y" } as RunnerSpec)).toThrow("cannot run code");
  expect(() => runners.startRunner("w9", { runId: "run_y" } as RunnerSpec)).toThrow("cannot run code");
});
