// RunRunners over the workers' providers: a run's runner goes to the provider of the worker its
// browser runs on (same host, same network, same egress guard). Providers that can run code
// implement the optional runner operations (issue 20's runner work, src/providers/); a worker
// whose provider cannot is refused with a clear 503 rather than running the code elsewhere.
// The door URLs (where a runner reaches BrowserGrid's CDP gateway and API) come from boot.
import { Unavailable } from "../../lib/errors";
import type { BrowserProvider } from "../../providers/provider";
import type { ProviderRegistry } from "../../providers/registry";
import type { RunRunners } from "./runs.ports";

/** The runner operations a provider may offer (optional on BrowserProvider, all or none). */
export type RunnerOperations = Required<Pick<BrowserProvider, "startRunner" | "runnerLogs" | "waitRunner" | "stopRunner" | "listOwnedRunners" | "copyOut">>;

const OPERATIONS = ["startRunner", "runnerLogs", "waitRunner", "stopRunner", "listOwnedRunners", "copyOut"] as const;

function runnerOpsOf(provider: BrowserProvider | undefined): RunnerOperations | null {
  if (!provider) return null;
  const p = provider as unknown as Partial<Record<(typeof OPERATIONS)[number], unknown>>;
  return OPERATIONS.every((op) => typeof p[op] === "function") ? (provider as unknown as RunnerOperations) : null;
}

export function providerRunRunners(providers: ProviderRegistry, doorUrls: (workerId: string) => { http: string; ws: string } | null): RunRunners {
  const of = (workerId: string): RunnerOperations => {
    const ops = runnerOpsOf(providers.get(workerId));
    if (!ops) throw new Unavailable(`Worker ${workerId} cannot run code (its provider has no runner support): run the deployment in a pool of Docker workers.`, "runner_unsupported");
    return ops;
  };
  return {
    startRunner: (workerId, spec, signal) => of(workerId).startRunner(spec, signal),
    runnerLogs: (workerId, handle) => of(workerId).runnerLogs(handle),
    waitRunner: (workerId, handle, timeoutMs) => of(workerId).waitRunner(handle, timeoutMs),
    stopRunner: (workerId, handle) => of(workerId).stopRunner(handle),
    copyOut: (workerId, handle, path) => of(workerId).copyOut(handle, path),
    workers: () => providers.entries().filter(([, p]) => runnerOpsOf(p) !== null).map(([id]) => id),
    listOwnedRunners: (workerId) => of(workerId).listOwnedRunners(),
    doorUrls,
  };
}
