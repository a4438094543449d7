// Nothing BrowserGrid asks a Docker engine waits forever. Docker 20.10 deadlocks under container
// churn (moby/moby#42545): from then on `_ping` and `ps` still answer while inspect, info,
// network calls and removals hang for good. Without deadlines a warm refill stayed "starting"
// forever and its worker stayed "online".
//
// Every engine call runs through one EngineDeadlines per worker: a deadline sized for the call's
// kind (a multiple of BROWSERGRID_ENGINE_TIMEOUT_MS), the HTTP request aborted when it passes,
// an EngineTimeout (503, naming the worker and the call) for whoever needed the call, a counter
// per call kind (shown with the worker), and listeners told at once (the fleet checks the
// worker). `withDeadlines` puts a dockerode client behind it; engine.ts's socket reads use `run`.
import type Docker from "dockerode";
import { EngineTimeout } from "../lib/errors";

export const ENGINE_CALL_KINDS = ["ping", "info", "list", "inspect", "events", "network", "logs", "exec", "create", "start", "stop", "remove", "wait", "archive"] as const;
export type EngineCallKind = (typeof ENGINE_CALL_KINDS)[number];

/** The deadline of a quick call (inspect, list, info, network, events connect), ms. */
export const DEFAULT_ENGINE_TIMEOUT_MS = 10_000;

/**
 * Deadlines as multiples of the quick-call deadline. Creating, starting and removing a container
 * take seconds on a busy 2-core host; an archive copy moves a profile or a client's upload.
 */
const MULTIPLE: Record<EngineCallKind, number> = {
  ping: 1,
  info: 1,
  list: 1,
  inspect: 1,
  events: 1,
  network: 1,
  logs: 1,
  exec: 1,
  create: 3,
  start: 3,
  stop: 3,
  remove: 3,
  wait: 3,
  archive: 12,
};

/** Engines older than this deadlock under container churn (moby/moby#42545, libnetwork#2649; seen on 20.10.24). */
export const FIRST_SAFE_ENGINE_MAJOR = 23;

/** Whether an engine of this version (`ServerVersion`, e.g. "20.10.24+dfsg1") has the known network deadlock; null when not understood. */
export function hasNetworkDeadlock(version: string): boolean | null {
  const m = /^(\d+)\.(\d+)/.exec(version);
  return m ? Number(m[1]) < FIRST_SAFE_ENGINE_MAJOR : null;
}

/**
 * Calls that join or leave a container's network sandbox (start attaches its endpoint; stop,
 * kill and removal detach it) or change a network. The 20.10 deadlock is two of these racing:
 * an endpoint deletion in the network watch loop against a sandbox leave. On such an engine they
 * run one at a time (serializeNetworkChanges).
 */
const NETWORK_CHANGING: ReadonlySet<EngineCallKind> = new Set(["start", "stop", "remove", "network"]);

export function engineDeadlineMs(kind: EngineCallKind, quickMs = DEFAULT_ENGINE_TIMEOUT_MS): number {
  return Math.round(MULTIPLE[kind] * quickMs);
}

/**
 * The longest a browser start can take when every step runs to its deadline (network, create,
 * start, profile copy, inspect, then `readyTimeoutMs` for Chromium): a start older than this is
 * stuck whatever it waits on, and is failed by the sessions' and warm pool's sweeps.
 */
export function browserStartBudgetMs(quickMs = DEFAULT_ENGINE_TIMEOUT_MS, readyTimeoutMs = 20_000): number {
  return (["network", "create", "start", "archive", "inspect", "remove"] as const).reduce((ms, k) => ms + engineDeadlineMs(k, quickMs), readyTimeoutMs);
}

export class EngineDeadlines {
  private readonly timeouts = Object.fromEntries(ENGINE_CALL_KINDS.map((k) => [k, 0])) as Record<EngineCallKind, number>;
  private readonly listeners = new Set<(err: EngineTimeout) => void>();
  private serial = false;
  /** The last network-changing call while `serial`: the next one waits for it. */
  private networkTail: Promise<unknown> = Promise.resolve();

  /** `worker`: the name errors show; `quickMs`: BROWSERGRID_ENGINE_TIMEOUT_MS. */
  constructor(
    readonly worker: string,
    readonly quickMs = DEFAULT_ENGINE_TIMEOUT_MS,
  ) {}

  deadlineMs(kind: EngineCallKind): number {
    return engineDeadlineMs(kind, this.quickMs);
  }

  /**
   * On an engine with the known network deadlock (hasNetworkDeadlock), network-changing calls
   * run one at a time: fewer concurrent sandbox changes, at the cost of parallel starts and
   * removals on that engine. A call's deadline includes its wait for the one before it.
   */
  serializeNetworkChanges(on: boolean): void {
    this.serial = on;
  }

  get serializesNetworkChanges(): boolean {
    return this.serial;
  }

  /** Calls past their deadline so far, per kind (every kind present). */
  timeoutCounts(): Record<EngineCallKind, number> {
    return { ...this.timeouts };
  }

  /** `listener` hears of every call that passes its deadline; returns an unsubscribe function. */
  onTimeout(listener: (err: EngineTimeout) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Runs `call` (given the signal that aborts its request) with the deadline of `kind`; `outer`
   * (a caller's own signal) aborts it too. Rejects with EngineTimeout once the deadline passes,
   * whether or not the call honours the signal.
   */
  async run<T>(kind: EngineCallKind, what: string, call: (signal: AbortSignal) => Promise<T>, outer?: AbortSignal): Promise<T> {
    outer?.throwIfAborted();
    const ms = this.deadlineMs(kind);
    const expiry = new AbortController();
    const signal = outer ? AbortSignal.any([outer, expiry.signal]) : expiry.signal;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onOuterAbort: (() => void) | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new EngineTimeout(this.worker, what, ms);
        this.timeouts[kind]++;
        expiry.abort(err);
        reject(err);
        for (const listener of this.listeners) {
          try {
            listener(err);
          } catch {}
        }
      }, ms);
      if (outer) outer.addEventListener("abort", (onOuterAbort = () => reject(outer.reason)), { once: true });
    });
    const queued = this.serial && NETWORK_CHANGING.has(kind);
    const before = this.networkTail;
    const ran = queued ? before.then(() => (signal.aborted ? Promise.reject(signal.reason) : call(signal))) : call(signal);
    const settled = Promise.race([ran, expired]);
    // The next one waits until this call ends or its deadline passes, never longer.
    if (queued) this.networkTail = settled.catch(() => {});
    try {
      return await settled;
    } finally {
      clearTimeout(timer);
      if (onOuterAbort) outer?.removeEventListener("abort", onOuterAbort);
    }
  }
}

// ---- dockerode behind deadlines ------------------------------------------------------------

/** How one dockerode method is called: its kind, where its options object sits, what it returns. */
interface MethodRule {
  kind: EngineCallKind;
  /** Index of the options argument the abort signal is added to. */
  opts: number;
  /** The call's result is a dockerode object whose own calls get deadlines too. */
  wraps?: "container" | "network" | "exec" | "image";
}

const RULES: Record<"docker" | "container" | "network" | "exec" | "image", Record<string, MethodRule>> = {
  docker: {
    ping: { kind: "ping", opts: 0 },
    info: { kind: "info", opts: 0 },
    version: { kind: "info", opts: 0 },
    listContainers: { kind: "list", opts: 0 },
    listNetworks: { kind: "list", opts: 0 },
    listImages: { kind: "list", opts: 0 },
    getEvents: { kind: "events", opts: 0 },
    createContainer: { kind: "create", opts: 0, wraps: "container" },
    createNetwork: { kind: "network", opts: 0, wraps: "network" },
  },
  container: {
    inspect: { kind: "inspect", opts: 0 },
    top: { kind: "inspect", opts: 0 },
    start: { kind: "start", opts: 0 },
    stop: { kind: "stop", opts: 0 },
    kill: { kind: "stop", opts: 0 },
    remove: { kind: "remove", opts: 0 },
    wait: { kind: "wait", opts: 0 },
    logs: { kind: "logs", opts: 0 },
    putArchive: { kind: "archive", opts: 1 },
    getArchive: { kind: "archive", opts: 0 },
    exec: { kind: "exec", opts: 0, wraps: "exec" },
  },
  network: {
    inspect: { kind: "network", opts: 0 },
    connect: { kind: "network", opts: 0 },
    disconnect: { kind: "network", opts: 0 },
    remove: { kind: "network", opts: 0 },
  },
  exec: {
    start: { kind: "exec", opts: 0 },
    inspect: { kind: "inspect", opts: 0 },
  },
  image: {
    inspect: { kind: "inspect", opts: 0 },
  },
};

/** Getters that hand out dockerode objects without calling the engine. */
const HANDLES: Record<string, keyof typeof RULES> = { getContainer: "container", getNetwork: "network", getExec: "exec", getImage: "image" };

const WRAPPED = Symbol("engine deadlines");

/**
 * The client with a deadline on every engine call it makes, and on the calls of the containers,
 * networks, execs and images it hands out. Idempotent: an already wrapped client is returned.
 */
export function withDeadlines(docker: Docker, deadlines: EngineDeadlines): Docker {
  if ((docker as unknown as Record<symbol, unknown>)[WRAPPED]) return docker;
  return wrap(docker, "docker", deadlines, "") as Docker;
}

function wrap(target: object, type: keyof typeof RULES, deadlines: EngineDeadlines, id: string): object {
  return new Proxy(target, {
    get(obj, key, receiver) {
      if (key === WRAPPED) return true;
      const value = Reflect.get(obj, key, receiver);
      if (typeof key !== "string" || typeof value !== "function") return value;
      const handle = type === "docker" ? HANDLES[key] : undefined;
      if (handle) return (...args: unknown[]) => wrap(value.apply(obj, args), handle, deadlines, String(args[0] ?? ""));
      const rule = RULES[type][key];
      if (!rule) return value.bind(obj);
      const what = `${type === "docker" ? "" : `${type} ${id.slice(0, 12)} `}${key}`.trim();
      return (...args: unknown[]) =>
        deadlines.run(rule.kind, what, async (signal) => {
          const callArgs = [...args];
          while (callArgs.length <= rule.opts) callArgs.push(undefined);
          const given = (callArgs[rule.opts] ?? {}) as { abortSignal?: AbortSignal };
          callArgs[rule.opts] = { ...given, abortSignal: given.abortSignal ? AbortSignal.any([given.abortSignal, signal]) : signal };
          const result = await value.apply(obj, callArgs);
          if (!rule.wraps) return result;
          return wrap(result as object, rule.wraps, deadlines, String((result as { id?: string }).id ?? ""));
        });
    },
  });
}
