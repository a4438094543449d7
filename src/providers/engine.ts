// How BrowserGrid reaches a Docker engine, and what that costs at start:
// - dockerode, for everything that changes something, loaded on first use (`dockerClient`):
//   in the executable, loading it takes 18–28 ms (node:http and node:https) and its first call
//   10–13 ms more, all on the one event loop;
// - the reads made at start and on every heartbeat (`EngineReads`: ping, info, a network, this
//   install's containers, the event stream) on a local engine's socket through Bun's own fetch
//   (≈ 1 ms), so a start reaches ready without loading dockerode at all. Other engines (SSH
//   workers, tests' clients) are read through dockerode.
import type Docker from "dockerode";
import type { EngineCallKind, EngineDeadlines } from "./engine-deadlines";

let dockerode: typeof Docker | undefined;

/**
 * A dockerode client that loads dockerode and connects on its first use. It stands for the
 * client itself: every property and method is the real one's.
 */
export function dockerClient(options: Docker.DockerOptions): Docker {
  let real: Docker | undefined;
  const get = (): Docker => {
    // A require() inside a function: the bundle evaluates dockerode here, not at start.
    dockerode ??= require("dockerode") as typeof Docker;
    return (real ??= new dockerode(options));
  };
  return new Proxy({} as Docker, {
    get(_target, key) {
      const client = get();
      const value = Reflect.get(client, key, client);
      return typeof value === "function" ? value.bind(client) : value;
    },
    set(_target, key, value) {
      return Reflect.set(get(), key, value);
    },
    has(_target, key) {
      return Reflect.has(get(), key);
    },
  });
}

/** An engine's answer other than 2xx: `statusCode` as dockerode's errors carry it (docker-status.ts). */
export class EngineError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

const SOCKET_ERRORS: Record<string, string> = {
  ENOENT: "no such socket",
  ECONNREFUSED: "nothing listens there",
  EACCES: "permission denied (is this user in the docker group?)",
};

/**
 * GET on the engine's local socket; the parsed JSON (or the text, for /_ping). Throws EngineError,
 * the transport's error, or `signal`'s reason (socketReads passes its deadline's signal).
 */
export async function engineGet<T>(socketPath: string, path: string, timeoutMs = 2_000, signal?: AbortSignal): Promise<T> {
  let res: Response;
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    res = await fetch(`http://docker${path}`, { unix: socketPath, signal: signal ? AbortSignal.any([signal, timeout]) : timeout } as RequestInit);
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if ((err as Error).name === "TimeoutError") throw new Error(`Docker did not answer ${path.split("?")[0]} within ${timeoutMs / 1000} s`);
    const code = (err as { code?: string }).code;
    throw new Error(`cannot connect to ${socketPath}: ${SOCKET_ERRORS[code ?? ""] ?? (err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {}
    throw new EngineError(res.status, `(HTTP code ${res.status}) ${message.trim()}`);
  }
  return ((res.headers.get("content-type") ?? "").includes("json") ? JSON.parse(text) : text) as T;
}

/** Answers when the engine on this socket does (GET /_ping). */
export async function enginePing(socketPath: string, timeoutMs = 2_000): Promise<void> {
  await engineGet<string>(socketPath, "/_ping", timeoutMs);
}

/** An open event stream: its chunks as they come, and how to end it. */
export interface EventStream {
  chunks: AsyncIterable<Uint8Array | string>;
  close(): void;
}

type Filters = Record<string, string[]>;

/** The engine reads BrowserGrid makes at start and on heartbeats. */
export interface EngineReads {
  ping(): Promise<unknown>;
  info(): Promise<{ SecurityOptions?: string[]; OperatingSystem?: string; ServerVersion?: string }>;
  /** Throws with statusCode 404 when there is no such network. */
  inspectNetwork(name: string): Promise<Docker.NetworkInspectInfo>;
  listContainers(filters: Filters): Promise<Docker.ContainerInfo[]>;
  /** `GET /events` from `since` ("seconds.nanoseconds"), as a stream. */
  events(query: { since: string; filters: Filters }): Promise<EventStream>;
}

/** A local engine's socket, through Bun's fetch; every read within its deadline (engine-deadlines.ts). */
export function socketReads(socketPath: string, deadlines: EngineDeadlines): EngineReads {
  const get = <T>(kind: EngineCallKind, what: string, path: string) => deadlines.run(kind, what, (signal) => engineGet<T>(socketPath, path, deadlines.deadlineMs(kind) + 1_000, signal));
  return {
    ping: () => get("ping", "ping", "/_ping"),
    info: () => get("info", "info", "/info"),
    inspectNetwork: (name) => get("network", `network ${name} inspect`, `/networks/${encodeURIComponent(name)}`),
    listContainers: (filters) => get("list", "listContainers", `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify(filters))}`),
    events: (query) =>
      deadlines.run("events", "events", async (connecting) => {
        const abort = new AbortController();
        const params = new URLSearchParams({ since: query.since, filters: JSON.stringify(query.filters) });
        // The deadline covers the connect; then no idle timeout: events come when they come.
        const res = await fetch(`http://docker/events?${params}`, { unix: socketPath, signal: AbortSignal.any([abort.signal, connecting]), timeout: false } as RequestInit);
        if (!res.ok || !res.body) throw new EngineError(res.status, `(HTTP code ${res.status}) ${(await res.text()).trim()}`);
        return { chunks: res.body as unknown as AsyncIterable<Uint8Array>, close: () => abort.abort() };
      }),
  };
}

/** Any engine dockerode reaches (an SSH worker's, a test's client); deadlines are the client's (withDeadlines). */
export function dockerodeReads(docker: Docker): EngineReads {
  return {
    ping: () => docker.ping(),
    info: () => docker.info(),
    inspectNetwork: (name) => docker.getNetwork(name).inspect(),
    listContainers: (filters) => docker.listContainers({ all: true, filters }),
    async events(query) {
      // Docker parses "seconds.nanoseconds"; the typings only know numbers.
      const stream = (await docker.getEvents({ since: query.since as unknown as number, filters: query.filters })) as NodeJS.ReadableStream & { destroy?: () => void };
      return { chunks: stream as AsyncIterable<Uint8Array | string>, close: () => stream.destroy?.() };
    },
  };
}
