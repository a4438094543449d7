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
}

export interface StartedBrowser {
  /** Provider-specific handle (a container id for Docker). */
  handle: string;
  /** Where the gateway reaches Chromium's DevTools HTTP/WebSocket endpoint. */
  cdp: { host: string; port: number };
}

export interface OwnedBrowser {
  handle: string;
  sessionId: string;
  workerId: string;
  running: boolean;
}

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
  /** Cheap reachability check for /readyz and heartbeats. */
  health(): Promise<{ ok: boolean; detail?: string }>;
  close(): Promise<void>;
}
