// What the run lifecycle needs of the rest of BrowserGrid, as small ports. The deployments
// module answers RunDeployments, the session service RunBrowsers (runs.browsers.ts), the
// workers' providers and the runner door RunRunners (runs.runners.ts). Types, and the
// manifest's defaults: the lifecycle is tested against fakes of these, and boot.ts wires the real ones.

// The defaults and limits are the manifest's own (one definition, deployments/manifest.ts).
import { MANIFEST_DEFAULTS, MANIFEST_LIMITS } from "../deployments/manifest";

/** The part of a deployment version's browsergrid.json a run reads (validated by the deployments module). */
export interface RunManifest {
  name?: string;
  entry: string;
  runtime: "bun" | "python";
  /** The params schema: read only by the deployments module (validateParams). */
  params?: unknown;
  browser?: RunBrowserSettings;
  /** Wall-clock limit of one attempt; default RUN_DEFAULTS.timeoutSec. */
  timeoutSec?: number;
  /** `max` further attempts after the first fails, `backoffSec` before the first retry (doubling each time). */
  retries?: { max: number; backoffSec: number };
  /** Runs of the deployment at once; default RUN_DEFAULTS.concurrency. */
  concurrency?: number;
}

/** The manifest's `browser`: what the run's session is created with (sessions' create fields). */
export interface RunBrowserSettings {
  pool?: string;
  flavour?: string;
  /** A profile's name, or `{name, persist?}` (the sessions API's form). */
  profile?: string | Record<string, unknown>;
  proxy?: unknown;
  ruleSets?: unknown[];
  viewport?: { width: number; height: number };
}

export interface ResolvedVersion {
  deployment: { id: string; name: string };
  /** The version's number, or its row (which carries the number as `version`). */
  version: number | { version: number };
  manifest: RunManifest;
}

export function versionNumberOf(r: ResolvedVersion): number {
  return typeof r.version === "number" ? r.version : r.version.version;
}

export interface RunDeployments {
  /** The named version, or the deployment's current one; throws NotFound (404) when absent. */
  resolveVersion(name: string, version?: number): ResolvedVersion | Promise<ResolvedVersion>;
  /** The version's normalised tar.gz. */
  bundle(deploymentId: string, version: number): Uint8Array | Promise<Uint8Array>;
  /** The params with the schema's defaults filled in; throws BadRequest (400) naming the failing field. */
  validateParams(manifest: RunManifest, params: Record<string, unknown>): Record<string, unknown>;
  /** The deployment's secrets, decrypted: given to the code as environment variables. */
  secretsEnv(deploymentId: string): Record<string, string> | Promise<Record<string, string>>;
}

/** A run's browser session, running. `cdpUrl` is the public one (with its connect token). */
export interface RunSession {
  id: string;
  workerId: string;
  poolId: string;
  cdpUrl: string;
}

export interface RunBrowsers {
  /** Creates the session of one attempt, owned by the run (warm when its pool has one), living at least `timeoutSec`. */
  open(req: { runId: string; browser: RunBrowserSettings | undefined; timeoutSec: number }, signal?: AbortSignal): Promise<RunSession>;
  /** Ends the session; fine when it has ended already. Never throws. */
  close(sessionId: string, reason: string): Promise<void>;
  /** Adds a note to the session's timeline. Never throws. */
  note(sessionId: string, type: string, detail: Record<string, unknown>): void;
}

// What a runner is, how its log lines and owned containers look: the provider interface's own
// definitions (src/providers/provider.ts), one each.
export { RUNNER_PATHS, type LogLine, type OwnedRunner, type RunnerSpec } from "../../providers/provider";
import type { LogLine, OwnedRunner, RunnerSpec } from "../../providers/provider";

/** Runner containers, per worker (the worker the run's browser is on). */
export interface RunRunners {
  startRunner(workerId: string, spec: RunnerSpec, signal?: AbortSignal): Promise<{ handle: string }>;
  /** The container's output lines; ends when the container exits. */
  runnerLogs(workerId: string, handle: string): AsyncIterable<LogLine>;
  /** The exit code, or null when it still runs after `timeoutMs`. */
  waitRunner(workerId: string, handle: string, timeoutMs: number): Promise<{ exitCode: number } | null>;
  /** Kills and removes the container; fine when it is gone. */
  stopRunner(workerId: string, handle: string): Promise<void>;
  /** A tar of a directory of the container (entries "<basename>/…"), also after it exited. */
  copyOut(workerId: string, handle: string, path: string): Promise<NodeJS.ReadableStream>;
  /** Workers whose runners can be listed (for reconciliation). */
  workers(): string[];
  /** Every runner this install owns on the worker; throws when the worker does not answer. */
  listOwnedRunners(workerId: string): Promise<OwnedRunner[]>;
  /** BrowserGrid's HTTP and WebSocket base URLs as a runner on the worker reaches them, or null (no door). */
  doorUrls(workerId: string): { http: string; ws: string } | null;
}

/** The clock the lifecycle reads and sleeps by; tests inject one they move. */
export interface RunClock {
  now(): number;
  /** Calls `fn` after `ms` (a retry's backoff); returns a cancel function. */
  later(ms: number, fn: () => void): () => void;
}

export const systemClock: RunClock = {
  now: () => Date.now(),
  later(ms, fn) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/** Defaults for what a manifest leaves out, and the bounds enforced whatever it says. */
export const RUN_DEFAULTS = {
  timeoutSec: MANIFEST_DEFAULTS.timeoutSec,
  maxTimeoutSec: MANIFEST_LIMITS.timeoutSec.max,
  concurrency: MANIFEST_DEFAULTS.concurrency,
  maxConcurrency: MANIFEST_LIMITS.concurrency.max,
  /** Longest wait before a retry, whatever the doubling gives. */
  maxBackoffSec: MANIFEST_LIMITS.backoffSec.max,
  maxRetries: MANIFEST_LIMITS.retriesMax.max,
} as const;
