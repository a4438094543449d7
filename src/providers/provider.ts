// Providers are the only door to where browsers run. The session service talks to this
// interface and never to dockerode, ssh2 or child processes directly.

export type BrowserFlavour = "headless-shell" | "chromium";

export interface BrowserSpec {
  sessionId: string;
  poolId: string;
  workerId: string;
  flavour: BrowserFlavour;
  viewport: { width: number; height: number };
  userAgent?: string;
  locale?: string;
  timezone?: string;
  /** Memory limit for the whole container, bytes. */
  memoryBytes?: number;
  /** CPU and storage limits; providers given a pool's limits resolver fill what is absent from it. */
  limits?: BrowserLimits;
  /** A warm browser, started ahead of any request: `sessionId` is then the warm browser's id. */
  warm?: boolean;
  /**
   * The browser keeps its user-data-dir (BROWSER_PATHS.profile) where copyIn/copyOut reach it,
   * filled from `archive` (a tar of the directory's contents) before Chromium starts.
   */
  profile?: { archive?: Uint8Array };
  /**
   * Chromium's --proxy-server: BrowserGrid's proxy relay as the browser reaches it (never with
   * credentials). Absent: the browser connects directly, behind the egress guard.
   */
  proxyServer?: string;
}

/**
 * Resource limits of one browser, from its pool (pools.service browserLimitsOf). Absent fields
 * take the provider's defaults; providers that cannot enforce a limit say so in their header.
 */
export interface BrowserLimits {
  /** CPU time, in billionths of a CPU (Docker's NanoCpus): 1e9 = one core. */
  nanoCpus?: number;
  /** Size cap of each writable place a session fills (downloads, uploads), bytes. */
  storageBytes?: number;
}

/**
 * Paths inside a browser, as the browser image defines them (browser-image/). `uploads` holds
 * only files BrowserGrid put there (POST /api/v1/sessions/:id/uploads): the one place a client's
 * DOM.setFileInputFiles may name.
 */
export const BROWSER_PATHS = { profile: "/home/browser/profile", downloads: "/home/browser/downloads", uploads: "/home/browser/uploads" } as const;

/** One file on its way into a browser, streamed: exactly `size` bytes, or the copy fails. */
export interface IncomingFile {
  /** A plain file name (tar-entry.ts isPlainFileName). */
  name: string;
  size: number;
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

export interface StartedBrowser {
  /** Provider-specific handle (a container id for Docker). */
  handle: string;
  /**
   * Chromium's DevTools address as the provider knows it (stored with the session). Connect
   * through `provider.reach(cdp)`: on SSH workers that is a loopback tunnel to it.
   */
  cdp: { host: string; port: number };
  /**
   * The browser-level WebSocket path (`/devtools/browser/<uuid>`) Chromium reported while the
   * provider waited for it to start, when the provider read it; valid as long as the browser
   * process lives. The caller hands it to whoever connects (the gateway's path cache), so the
   * first client skips the `/json/version` round trip. Absent: ask `/json/version`.
   */
  browserPath?: string;
}

/** The `/devtools/browser/<uuid>` path of a webSocketDebuggerUrl, or undefined when it has none. */
export function browserPathOf(webSocketDebuggerUrl: unknown): string | undefined {
  if (typeof webSocketDebuggerUrl !== "string") return undefined;
  try {
    const path = new URL(webSocketDebuggerUrl).pathname;
    return path.startsWith("/devtools/browser/") ? path : undefined;
  } catch {
    return undefined;
  }
}

export interface OwnedBrowser {
  handle: string;
  sessionId: string;
  workerId: string;
  running: boolean;
  /** Started as a warm browser (its `sessionId` is then the warm browser's id). */
  warm?: boolean;
}

/**
 * A deployment's script run next to its session's browser (issue 20): a container of the runner
 * image of `runtime`, on the browser's network and behind the same egress guard, that runs
 * `entry` of `bundle` once and exits. It reaches its browser and the API only through the
 * runner door (src/http/runner-door.ts), whose addresses the caller puts into `env`.
 */
export interface RunnerSpec {
  runId: string;
  /** 1 for the first attempt; with runId it names the container (one per attempt). */
  attempt: number;
  runtime: RunnerRuntime;
  /** The session whose browser the script drives. */
  sessionId: string;
  poolId: string;
  workerId: string;
  /** The deployment's normalised bundle (tar.gz), unpacked into RUNNER_PATHS.app before start. */
  bundle: Uint8Array;
  /** The file to run, relative to RUNNER_PATHS.app (no absolute path, no `..`). */
  entry: string;
  /** The script's environment; names are shell identifiers, values have no NUL byte. */
  env: Record<string, string>;
  /** Absent fields take the provider's defaults (docs/runners.md). */
  limits?: RunnerLimits;
}

export type RunnerRuntime = "bun" | "python";

export interface RunnerLimits {
  memoryBytes?: number;
  /** CPU time, in billionths of a CPU: 1e9 = one core. */
  nanoCpus?: number;
  /** Processes and threads together. */
  pids?: number;
}

/** One line a runner printed, without its newline; `at` is when the engine received it (ms epoch). */
export interface LogLine {
  stream: "stdout" | "stderr";
  at: number;
  line: string;
}

export interface OwnedRunner {
  handle: string;
  runId: string;
  attempt: number;
  running: boolean;
}

/** Paths inside a runner, as the runner images define them (runner-image/). */
export const RUNNER_PATHS = { app: "/home/runner/app", output: "/home/runner/output" } as const;

export type ProviderEvent =
  /** The browser stopped without being asked to (crash, OOM, docker kill). */
  { type: "died"; handle: string; sessionId: string; exitCode?: number; reason: string };

export interface BrowserProvider {
  readonly kind: "docker" | "ssh" | "local";
  /** Starts a browser and resolves once its CDP endpoint answers. Cleans up after itself on failure. */
  start(spec: BrowserSpec, signal?: AbortSignal): Promise<StartedBrowser>;
  /** Stops and removes the browser; succeeds when it is already gone. */
  stop(handle: string): Promise<void>;
  /** null when the browser no longer exists. */
  inspect(handle: string): Promise<{ running: boolean } | null>;
  /** Every browser this install owns on this worker (found by labels). */
  listOwned(): Promise<OwnedBrowser[]>;
  /** Subscribes to unexpected deaths; returns an unsubscribe function. */
  onEvent(listener: (event: ProviderEvent) => void): () => void;
  /** The way to the worker broke (e.g. its SSH connection dropped): health should be checked now. */
  onUnreachable?(listener: (reason: string) => void): () => void;
  /** Where this process connects for a browser's `cdp` address; identity when absent. */
  reach?(cdp: { host: string; port: number }): { host: string; port: number };
  /**
   * Cheap check for /readyz and heartbeats. `missedDeadline`: the worker answers but a call
   * (that takes the engine's locks) passed its deadline, so it is unhealthy rather than offline.
   */
  health(): Promise<{ ok: boolean; detail?: string; missedDeadline?: boolean }>;
  /** Calls to the worker's engine that passed their deadline, per call kind (engine-deadlines.ts). */
  engineTimeouts?(): Record<string, number>;
  close(): Promise<void>;
  /** Puts a tar archive into a directory of the browser (a BROWSER_PATHS entry). */
  copyIn?(handle: string, path: string, archive: Uint8Array): Promise<void>;
  /**
   * Writes one regular file (mode 0644, owned by the browser user) into a directory of a running
   * browser (BROWSER_PATHS.uploads); rejects when it does not fit the directory's cap.
   */
  copyFileIn?(handle: string, dir: string, file: IncomingFile): Promise<void>;
  /**
   * A tar archive of a browser's directory, entries named "<basename>/…", or of one file in it
   * (one entry, "<file name>"); also after the browser exited.
   */
  copyOut?(handle: string, path: string): Promise<NodeJS.ReadableStream>;
  /** Resolves true once the browser exited by itself (e.g. after CDP Browser.close), false on timeout. */
  waitExited?(handle: string, timeoutMs: number): Promise<boolean>;

  // ---- runners (RunnerSpec). copyOut(handle, RUNNER_PATHS.output) reads a runner's output,
  // also after it exited. Runners are never in listOwned() nor in onEvent() deaths.

  /**
   * Creates the runner, puts the bundle into RUNNER_PATHS.app, starts it; refuses (fail closed)
   * unless the egress guard is ready. Rejects a spec it cannot check (BadRequest) before anything
   * exists on the worker, and removes what it made when a later step fails.
   */
  startRunner?(spec: RunnerSpec, signal?: AbortSignal): Promise<{ handle: string }>;
  /**
   * Everything the runner printed, from its start, line by line in order; follows until the
   * runner exits (or is removed), then ends.
   */
  runnerLogs?(handle: string): AsyncIterable<LogLine>;
  /**
   * The runner's exit code once it exited (`oomKilled` when the memory limit ended it); null
   * when `timeoutMs` passed first. Rejects when the runner does not exist.
   */
  waitRunner?(handle: string, timeoutMs: number): Promise<{ exitCode: number; oomKilled?: boolean } | null>;
  /** Kills and removes the runner (its output with it); succeeds when it is already gone. */
  stopRunner?(handle: string): Promise<void>;
  /** Every runner of this install on this worker (found by labels), running or exited. */
  listOwnedRunners?(): Promise<OwnedRunner[]>;
}
