// Runner containers on a Docker engine (RunnerSpec, provider.ts): create → bundle into the app
// volume → start, logs followed until exit, exit code, removal, listing by labels. The
// DockerProvider hands its engine client (every call behind the worker's deadlines), network
// and egress guard in; the container itself is defined in docker-runner-container.ts.
//
// Threats this file answers for: a script escaping into the host or the engine (no socket, no
// host mount, non-root, all capabilities dropped, read-only root, limits: the container's
// config); a runner another install owns being touched (every call checks the install label);
// a runner taken for a browser (the kind label keeps it out of listOwned and death events).
import type Docker from "dockerode";
import { Readable } from "node:stream";
import { BadRequest, EngineTimeout } from "../lib/errors";
import { LABELS } from "./docker-container";
import { demuxLogLines } from "./docker-logs";
import { runnerContainerConfig, RUNNER_KIND } from "./docker-runner-container";
import { statusOf } from "./docker-status";
import type { EngineReads } from "./engine";
import { RUNNER_PATHS, type LogLine, type OwnedRunner, type RunnerSpec } from "./provider";

/** waitRunner asks whether the runner still runs after this long, then less often, up to once a second. */
const WAIT_POLL_FIRST_MS = 100;
const WAIT_POLL_MAX_MS = 1_000;

export interface RunnerHost {
  docker: Docker;
  reads: EngineReads;
  installId: string;
  workerId: string;
  network: string;
  dns?: string[];
  /** Images are `<imagePrefix>:<runtime>`. */
  imagePrefix: string;
  egressGuard: { assertReady(): Promise<void> };
  ensureNetwork(): Promise<void>;
  /** Force-removes a container; resolves once it is gone (also when another removal was under way). */
  remove(id: string): Promise<void>;
}

export class DockerRunners {
  constructor(private readonly host: RunnerHost) {}

  async start(spec: RunnerSpec, signal?: AbortSignal): Promise<{ handle: string }> {
    const { host } = this;
    const image = `${host.imagePrefix}:${spec.runtime}`;
    const config = runnerContainerConfig(spec, { image, installId: host.installId, workerId: host.workerId, network: host.network, dns: host.dns });
    if (!(spec.bundle instanceof Uint8Array) || spec.bundle.byteLength === 0) throw new BadRequest("the runner's bundle is empty: give the deployment's tar.gz");
    signal?.throwIfAborted();
    const guard = host.egressGuard.assertReady().then(
      () => null,
      (err: unknown) => err,
    );
    await host.ensureNetwork();
    signal?.throwIfAborted();
    let id: string | undefined;
    try {
      const container = await host.docker.createContainer(config).catch((err) => {
        if (statusOf(err) === 404) throw new Error(`runner image ${image} not found; build it with scripts/build-runner-images.sh`);
        if (statusOf(err) === 409) throw new Error(`a runner for run ${spec.runId} attempt ${spec.attempt} already exists`);
        throw err;
      });
      id = container.id;
      // The engine unpacks the gzip'd tar itself; the app volume takes it before the start.
      await container.putArchive(Buffer.from(spec.bundle.buffer, spec.bundle.byteOffset, spec.bundle.byteLength), { path: RUNNER_PATHS.app, noOverwriteDirNonDir: "true" });
      signal?.throwIfAborted();
      const refused = await guard;
      if (refused) throw refused;
      await container.start();
      return { handle: id };
    } catch (err) {
      if (id) {
        const removal = host.remove(id).catch(() => {});
        if (!(err instanceof EngineTimeout)) await removal;
      }
      throw err;
    }
  }

  async *logs(handle: string): AsyncGenerator<LogLine> {
    const container = await this.owned(handle);
    // follow: the engine ends the stream once the container stopped; from the first line on.
    const raw = (await container.logs({ follow: true, stdout: true, stderr: true, timestamps: true })) as unknown as NodeJS.ReadableStream;
    const stream = raw instanceof Readable ? raw : Readable.from(raw as AsyncIterable<Uint8Array>);
    try {
      yield* demuxLogLines(stream as AsyncIterable<Uint8Array>);
    } catch (err) {
      // A runner removed while followed (stopRunner) ends its logs; any other break is an error.
      const state = await container.inspect().then((i) => i.State, (e) => (statusOf(e) === 404 ? null : Promise.reject(e)));
      if (state && state.Running) throw err;
    } finally {
      stream.destroy();
    }
  }

  async wait(handle: string, timeoutMs: number): Promise<{ exitCode: number; oomKilled?: boolean } | null> {
    const container = await this.owned(handle);
    const deadline = Date.now() + Math.max(0, timeoutMs);
    let pollMs = WAIT_POLL_FIRST_MS;
    for (;;) {
      const info = await container.inspect().catch((err) => {
        if (statusOf(err) === 404) throw new Error(`runner ${handle.slice(0, 12)} no longer exists`);
        throw err;
      });
      const state = info.State;
      if (!state.Running && state.Status !== "created") return { exitCode: state.ExitCode, ...(state.OOMKilled ? { oomKilled: true } : {}) };
      if (Date.now() >= deadline) return null;
      await Bun.sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())));
      pollMs = Math.min(WAIT_POLL_MAX_MS, Math.round(pollMs * 1.5));
    }
  }

  async stop(handle: string): Promise<void> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.host.docker.getContainer(handle).inspect();
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw err;
    }
    if (info.Config.Labels?.[LABELS.install] !== this.host.installId || info.Config.Labels?.[LABELS.kind] !== RUNNER_KIND) {
      throw new Error(`container ${handle.slice(0, 12)} is not a runner of this BrowserGrid install; not stopping it`);
    }
    await this.host.remove(info.Id);
  }

  async list(): Promise<OwnedRunner[]> {
    const filters = { label: [`${LABELS.install}=${this.host.installId}`, `${LABELS.worker}=${this.host.workerId}`, `${LABELS.kind}=${RUNNER_KIND}`] };
    const containers = await this.host.reads.listContainers(filters);
    return containers.map((c) => ({
      handle: c.Id,
      runId: c.Labels[LABELS.run] ?? "",
      attempt: Number(c.Labels[LABELS.attempt] ?? 0),
      running: c.State === "running",
    }));
  }

  private async owned(handle: string): Promise<Docker.Container> {
    const container = this.host.docker.getContainer(handle);
    let labels: Record<string, string> | undefined;
    try {
      labels = (await container.inspect()).Config.Labels ?? undefined;
    } catch (err) {
      if (statusOf(err) === 404) throw new Error(`runner ${handle.slice(0, 12)} does not exist`);
      throw err;
    }
    if (labels?.[LABELS.install] !== this.host.installId || labels?.[LABELS.kind] !== RUNNER_KIND) {
      throw new Error(`container ${handle.slice(0, 12)} is not a runner of this BrowserGrid install`);
    }
    return container;
  }
}
