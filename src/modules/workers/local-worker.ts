// The local Docker engine as the default pool's worker, and the heartbeat that keeps each
// worker's status true. Registration is an upsert on the endpoint, so restarts never add rows.
import Docker from "dockerode";
import type { Config } from "../../config";
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import { DockerProvider } from "../../providers/docker";
import type { ProviderRegistryImpl } from "../../providers/registry";
import { ensureDefaultPool } from "../pools/pools.service";
import { listWorkers, registerWorker, setWorkerStatus } from "./workers.service";

export async function attachLocalDocker(
  deps: { config: Readonly<Config>; db: Db; log: Logger; installId: string },
  providers: ProviderRegistryImpl,
): Promise<void> {
  const { config, db, log } = deps;
  const endpoint = `unix://${config.dockerSocket}`;
  const docker = new Docker({ socketPath: config.dockerSocket });
  let reachable = false;
  try {
    await docker.ping();
    reachable = true;
  } catch {
    log.warn("no Docker engine answers; sessions cannot start until one does", { socket: config.dockerSocket });
  }
  let worker = listWorkers(db).find((w) => w.endpoint === endpoint);
  if (!worker && reachable) worker = registerWorker(db, { name: "local", poolId: ensureDefaultPool(db).id, endpoint, kind: "docker" });
  if (!worker) return;
  providers.set(worker.id, new DockerProvider(docker, { installId: deps.installId, workerId: worker.id, imagePrefix: config.browserImage }));
  setWorkerStatus(db, worker.id, reachable ? "online" : "offline");
}

/** Pings every worker's provider and records online/offline; returns how many answered. */
export async function heartbeatWorkers(db: Db, providers: ProviderRegistryImpl, log: Logger): Promise<number> {
  let online = 0;
  for (const [workerId, provider] of providers.entries()) {
    const h = await provider.health().catch((e) => ({ ok: false, detail: String(e) }));
    const before = listWorkers(db).find((w) => w.id === workerId)?.status;
    const status = h.ok ? "online" : "offline";
    if (before !== "draining") setWorkerStatus(db, workerId, status);
    if (before !== status && before !== "draining") log.info("worker status changed", { workerId, status, detail: h.detail });
    if (h.ok) online++;
  }
  return online;
}
