// Browsers as Docker containers on the local engine (dockerode over the Unix socket; the ping
// and the list of this install's containers through Bun's fetch, engine.ts) or a remote one.
//
// Threats this file answers for: a page escaping into the host (non-root uid, all capabilities
// dropped, no-new-privileges, read-only root, memory, CPU and pids limits, every writable place
// size-capped in memory so the worker's disk cannot fill); one session reaching
// another (own bridge network with inter-container traffic off, no published ports); a grid
// that loses track of containers (every container carries install/worker/session labels, and
// stop/inspect refuse containers of another install). The container itself is defined in
// docker-container.ts, its network in docker-network.ts, death events in docker-events.ts.
import type Docker from "dockerode";
import { browserContainerConfig, CDP_PORT, LABELS } from "./docker-container";
import { copyFileIntoContainer, copyIntoContainer, copyOutOfContainer, handOverProfile, waitChromiumExited } from "./docker-archive";
import { ContainerDeathWatcher, type ContainerDeath } from "./docker-events";
import { ensureBrowserNetwork } from "./docker-network";
import { DockerRunners } from "./docker-runner";
import { RUNNER_KIND } from "./docker-runner-container";
import { BROWSER_PATHS, browserPathOf, type BrowserLimits, type BrowserProvider, type BrowserSpec, type IncomingFile, type LogLine, type OwnedBrowser, type OwnedRunner, type ProviderEvent, type RunnerSpec, type StartedBrowser } from "./provider";
import { statusOf } from "./docker-status";
import { dockerClient, dockerodeReads, socketReads, type EngineReads } from "./engine";
import { EngineDeadlines, hasNetworkDeadlock, withDeadlines } from "./engine-deadlines";
import { EngineTimeout } from "../lib/errors";

export { CDP_PORT, LABELS } from "./docker-container";

export interface DockerProviderOptions {
  installId: string;
  workerId: string;
  /** Bridge network for browser containers; created (ICC off) when missing. */
  network?: string;
  /** Images are `<imagePrefix>:<flavour>`. */
  imagePrefix?: string;
  /** Runner images are `<runnerImagePrefix>:<runtime>`; default browsergrid/runner. */
  runnerImagePrefix?: string;
  /** How long start() waits for CDP to answer. */
  readyTimeoutMs?: number;
  /** "ssh" for a remote engine reached through an SSH connection. */
  kind?: "docker" | "ssh";
  /** Loopback tunnels to remote container addresses (SSH workers); absent: addresses are local. */
  tunnel?: { reach(host: string, port: number): { host: string; port: number }; release(host: string, port: number): void };
  /** Runs on close() (e.g. ends the SSH connection). */
  onClose?: () => void;
  /**
   * The egress guard of this engine's host (src/security/egress): start() refuses (fail closed)
   * unless assertReady() resolves. Required so no caller forgets it; tests that start browsers
   * outside BrowserGrid pass a no-op.
   */
  egressGuard: { assertReady(): Promise<void> };
  /** DNS servers of browser containers (HostConfig.Dns); absent: the engine's defaults. */
  dns?: string[];
  /** The limits of a pool's browsers (CPU, storage caps); a spec's own `limits` win, absent: defaults. */
  poolLimits?: (poolId: string) => BrowserLimits | undefined;
  /** This worker's engine deadlines and their counters (engine-deadlines.ts); absent: defaults, named by workerId. */
  deadlines?: EngineDeadlines;
}

const POLL_MS = 5;
const ALIVE_CHECK_MS = 200;
/** Intentional stops are remembered this long so their `die` event is not reported. */
const STOP_MEMORY_MS = 60_000;
/** A removal that found another in progress waits this long for the container to be gone. */
const REMOVAL_WAIT_MS = 10_000;

export class DockerProvider implements BrowserProvider {
  readonly kind: "docker" | "ssh";
  private readonly docker: Docker;
  /** Ping, container list, events, the network: through fetch on a local socket (engine.ts). */
  private readonly reads: EngineReads;
  private readonly options: DockerProviderOptions;
  private readonly installId: string;
  private readonly workerId: string;
  private readonly network: string;
  private readonly imagePrefix: string;
  private readonly readyTimeoutMs: number;
  private networkReady?: Promise<void>;
  /** The engine's version, read once it first answers (it decides serializeNetworkChanges). */
  private engineVersion?: string;
  private readonly stopping = new Map<string, number>();
  private readonly starting = new Set<string>();
  private readonly listeners = new Set<(event: ProviderEvent) => void>();
  private watcher?: ContainerDeathWatcher;
  readonly deadlines: EngineDeadlines;
  private readonly runners: DockerRunners;

  /** `docker`: a local engine's socket path, or a client (an SSH worker's, a test's); every call gets a deadline. */
  constructor(docker: Docker | string, options: DockerProviderOptions) {
    this.deadlines = options.deadlines ?? new EngineDeadlines(options.workerId);
    this.docker = withDeadlines(typeof docker === "string" ? dockerClient({ socketPath: docker }) : docker, this.deadlines);
    this.reads = typeof docker === "string" ? socketReads(docker, this.deadlines) : dockerodeReads(this.docker);
    // A call past its deadline: the fleet checks this worker now instead of at its next heartbeat.
    this.deadlines.onTimeout((err) => this.notifyUnreachable(err.message));
    this.installId = options.installId;
    this.workerId = options.workerId;
    this.network = options.network ?? "browsergrid-default";
    this.imagePrefix = options.imagePrefix ?? "browsergrid/browser";
    this.readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
    this.kind = options.kind ?? "docker";
    this.options = options;
    if (!this.installId || !this.workerId) throw new Error("DockerProvider needs installId and workerId");
    this.runners = new DockerRunners({
      docker: this.docker,
      reads: this.reads,
      installId: this.installId,
      workerId: this.workerId,
      network: this.network,
      dns: options.dns,
      imagePrefix: options.runnerImagePrefix ?? "browsergrid/runner",
      egressGuard: options.egressGuard,
      ensureNetwork: () => this.ensureNetwork(),
      remove: (id) => this.remove(id),
    });
  }

  async start(spec: BrowserSpec, signal?: AbortSignal): Promise<StartedBrowser> {
    const image = `${this.imagePrefix}:${spec.flavour}`;
    const limits = { ...this.options.poolLimits?.(spec.poolId), ...spec.limits };
    const config = browserContainerConfig({ ...spec, limits }, { image, installId: this.installId, workerId: this.workerId, network: this.network, dns: this.options.dns });
    const deadline = Date.now() + this.readyTimeoutMs;
    signal?.throwIfAborted();
    // Checked alongside creating the container (no added latency), awaited before it starts.
    const guard = this.options.egressGuard.assertReady().then(
      () => null,
      (err: unknown) => err,
    );
    await this.ensureNetwork();
    signal?.throwIfAborted();

    let id: string | undefined;
    try {
      const container = await this.docker.createContainer(config).catch((err) => {
        if (statusOf(err) === 404) throw new Error(`browser image ${image} not found; build it with scripts/build-images.sh`);
        throw err;
      });
      id = container.id;
      this.starting.add(id);
      signal?.throwIfAborted();
      const refused = await guard;
      if (refused) throw refused;
      await container.start();
      if (spec.profile) await handOverProfile(container, BROWSER_PATHS.profile, spec.profile.archive); // Chromium starts after this
      const info = await container.inspect();
      const host = info.NetworkSettings.Networks[this.network]?.IPAddress;
      if (!host) throw new Error(`container ${id.slice(0, 12)} has no address on network ${this.network}`);
      const browserPath = await this.waitForCdp(container, this.reach({ host, port: CDP_PORT }), deadline, signal);
      return { handle: id, cdp: { host, port: CDP_PORT }, ...(browserPath ? { browserPath } : {}) };
    } catch (err) {
      if (id) {
        // The original failure is the one to report. An engine past a deadline is not waited on
        // twice: reconciliation removes the container once the engine answers again.
        const removal = this.remove(id).catch(() => {});
        if (!(err instanceof EngineTimeout)) await removal;
      }
      throw err;
    } finally {
      if (id) this.starting.delete(id);
    }
  }

  async stop(handle: string): Promise<void> {
    const container = this.docker.getContainer(handle);
    let info: Docker.ContainerInspectInfo;
    try {
      info = await container.inspect();
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw err;
    }
    if (info.Config.Labels?.[LABELS.install] !== this.installId) {
      throw new Error(`container ${handle.slice(0, 12)} does not belong to this BrowserGrid install; not stopping it`);
    }
    await this.remove(info.Id);
    const ip = info.NetworkSettings.Networks[this.network]?.IPAddress;
    if (ip) this.options.tunnel?.release(ip, CDP_PORT);
  }

  async inspect(handle: string): Promise<{ running: boolean } | null> {
    try {
      const info = await this.docker.getContainer(handle).inspect();
      if (info.Config.Labels?.[LABELS.install] !== this.installId) return null;
      return { running: info.State.Running };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async listOwned(): Promise<OwnedBrowser[]> {
    const filters = { label: [`${LABELS.install}=${this.installId}`, `${LABELS.worker}=${this.workerId}`] };
    const containers = (await this.reads.listContainers(filters)).filter((c) => c.Labels[LABELS.kind] !== RUNNER_KIND);
    return containers.map((c) => ({
      handle: c.Id,
      sessionId: c.Labels[LABELS.session] ?? "",
      workerId: c.Labels[LABELS.worker] ?? "",
      running: c.State === "running",
      ...(c.Labels[LABELS.warm] !== undefined ? { warm: true } : {}),
    }));
  }

  onEvent(listener: (event: ProviderEvent) => void): () => void {
    this.listeners.add(listener);
    this.watcher ??= new ContainerDeathWatcher(this.reads, this.installId, (death) => this.reportDeath(death));
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.watcher?.close();
        this.watcher = undefined;
      }
    };
  }

  /**
   * Reachable (ping) and not stuck. A deadlocked Docker 20.10 engine (moby/moby#42545) still
   * answers ping and `ps`, so the check also inspects this install's network, which takes the
   * engine's network locks, beside a filtered container list. A call past its deadline means
   * `missedDeadline` (the worker is unhealthy); an engine that cannot be reached is offline.
   */
  async health(): Promise<{ ok: boolean; detail?: string; missedDeadline?: boolean }> {
    try {
      await this.reads.ping();
      const filters = { label: [`${LABELS.install}=${this.installId}`, `${LABELS.worker}=${this.workerId}`] };
      await Promise.all([
        this.reads.inspectNetwork(this.network).catch((err) => {
          if (statusOf(err) !== 404) throw err; // no network yet is an answer too
        }),
        this.reads.listContainers(filters),
      ]);
      if (this.engineVersion === undefined) {
        this.engineVersion = (await this.reads.info()).ServerVersion ?? "";
        this.deadlines.serializeNetworkChanges(hasNetworkDeadlock(this.engineVersion) === true);
      }
      return { ok: true };
    } catch (err) {
      if (err instanceof EngineTimeout)
        return {
          ok: false,
          missedDeadline: true,
          detail: `Docker engine stuck: no answer to ${err.call} within ${err.timeoutMs / 1000} s (a Docker 20.10 engine deadlocked under container churn looks like this, moby/moby#42545: restart dockerd, and upgrade the engine to ≥ 26; browsergrid doctor checks the version)`,
        };
      return { ok: false, detail: `Docker engine unreachable: ${(err as Error).message}` };
    }
  }

  /** Calls to this worker's engine that passed their deadline, per call kind. */
  engineTimeouts(): Record<string, number> {
    return this.deadlines.timeoutCounts();
  }

  /** Where this process connects to reach a browser's CDP address (a loopback tunnel on SSH workers). */
  reach(cdp: { host: string; port: number }): { host: string; port: number } {
    return this.options.tunnel ? this.options.tunnel.reach(cdp.host, cdp.port) : cdp;
  }

  copyIn(handle: string, path: string, archive: Uint8Array): Promise<void> {
    return copyIntoContainer(this.docker, this.installId, handle, path, archive);
  }

  copyFileIn(handle: string, dir: string, file: IncomingFile): Promise<void> {
    return copyFileIntoContainer(this.docker, this.installId, handle, dir, file);
  }

  copyOut(handle: string, path: string): Promise<NodeJS.ReadableStream> {
    return copyOutOfContainer(this.docker, this.installId, handle, path);
  }

  waitExited(handle: string, timeoutMs: number): Promise<boolean> {
    return waitChromiumExited(this.docker, handle, timeoutMs);
  }

  startRunner(spec: RunnerSpec, signal?: AbortSignal): Promise<{ handle: string }> {
    return this.runners.start(spec, signal);
  }

  runnerLogs(handle: string): AsyncIterable<LogLine> {
    return this.runners.logs(handle);
  }

  waitRunner(handle: string, timeoutMs: number): Promise<{ exitCode: number; oomKilled?: boolean } | null> {
    return this.runners.wait(handle, timeoutMs);
  }

  stopRunner(handle: string): Promise<void> {
    return this.runners.stop(handle);
  }

  listOwnedRunners(): Promise<OwnedRunner[]> {
    return this.runners.list();
  }

  async close(): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
    this.listeners.clear();
    this.options.onClose?.();
  }

  private ensureNetwork(): Promise<void> {
    this.networkReady ??= ensureBrowserNetwork(this.docker, this.network, this.installId, this.reads).then(() => {}, (err) => {
      this.networkReady = undefined;
      throw err;
    });
    return this.networkReady;
  }

  /** Force-removes (SIGKILL + remove) a container, remembering the stop was intended. */
  private async remove(id: string): Promise<void> {
    const now = Date.now();
    for (const [key, until] of this.stopping) if (until < now) this.stopping.delete(key);
    this.stopping.set(id, now + STOP_MEMORY_MS);
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      // 404: already gone. 409: another call's removal is in progress; this one resolves when
      // that one is done, so "removed" means gone for every caller (a run's cancel and its end).
      if (statusOf(err) === 409) await this.goneWithin(id, REMOVAL_WAIT_MS);
      else if (statusOf(err) !== 404) throw err;
    }
  }

  /** Waits until the engine no longer knows the container (404), at most `ms`. */
  private async goneWithin(id: string, ms: number): Promise<void> {
    for (const until = Date.now() + ms; Date.now() < until; await Bun.sleep(50)) {
      try {
        await this.docker.getContainer(id).inspect();
      } catch (err) {
        if (statusOf(err) === 404) return;
        throw err;
      }
    }
  }

  /**
   * Polls GET /json/version through the in-container relay until Chromium answers. The relay
   * accepts TCP before Chromium listens, so a TCP connect alone proves nothing. Chromium only
   * answers /json when the Host header is an IP, hence the IP URL. Resolves with the browser's
   * WebSocket path from that answer (StartedBrowser.browserPath).
   */
  private async waitForCdp(container: Docker.Container, at: { host: string; port: number }, deadline: number, signal?: AbortSignal): Promise<string | undefined> {
    const { host, port } = at;
    const url = `http://${host}:${port}/json/version`;
    let nextAliveCheck = Date.now() + ALIVE_CHECK_MS;
    for (;;) {
      signal?.throwIfAborted();
      const timeout = AbortSignal.timeout(1_000);
      try {
        const res = await fetch(url, {
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          headers: { Connection: "close" },
          keepalive: false,
        });
        const body = (await res.json().catch(() => null)) as { webSocketDebuggerUrl?: string } | null;
        if (res.ok && body?.webSocketDebuggerUrl) return browserPathOf(body.webSocketDebuggerUrl);
      } catch {
        signal?.throwIfAborted();
      }
      if (Date.now() > deadline) throw new Error(`Chromium did not answer on ${host}:${port} within ${this.readyTimeoutMs} ms`);
      if (Date.now() >= nextAliveCheck) {
        const state = (await container.inspect()).State;
        if (!state.Running) {
          const logs = await container.logs({ stdout: true, stderr: true, tail: 10 }).catch(() => Buffer.from(""));
          const tail = logs.toString("utf8").replace(/[\x00-\x08\x0e-\x1f]/g, "").slice(-1_000);
          throw new Error(`browser container exited with code ${state.ExitCode} before CDP was ready: ${tail}`);
        }
        nextAliveCheck = Date.now() + ALIVE_CHECK_MS;
      }
      await Bun.sleep(POLL_MS);
    }
  }

  private readonly unreachableListeners = new Set<(reason: string) => void>();

  onUnreachable(listener: (reason: string) => void): () => void {
    this.unreachableListeners.add(listener);
    return () => this.unreachableListeners.delete(listener);
  }

  /** The way to the engine broke (SSH connection lost): listeners re-check health now. */
  notifyUnreachable(reason: string): void {
    for (const listener of this.unreachableListeners) {
      try {
        listener(reason);
      } catch {}
    }
  }

  private reportDeath(death: ContainerDeath): void {
    if (this.stopping.has(death.id) || this.starting.has(death.id)) return;
    if (death.labels[LABELS.worker] !== this.workerId) return;
    if (death.labels[LABELS.kind] === RUNNER_KIND) return; // a runner's exit is waitRunner's to tell
    const reason = death.oom
      ? "out of memory"
      : death.exitCode === 137
        ? "killed (SIGKILL)"
        : `exited with code ${death.exitCode ?? "unknown"}`;
    const event: ProviderEvent = { type: "died", handle: death.id, sessionId: death.labels[LABELS.session] ?? "", exitCode: death.exitCode, reason };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A failing listener must not stop the others from hearing about the death.
      }
    }
  }
}
