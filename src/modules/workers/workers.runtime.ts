// Wiring of the worker fleet into the rest of the server: what a worker going offline or
// coming back means for its sessions, the queue and the warm pool; the readiness probes.
import type { Db } from "../../db/client";
import type { ProbeResult } from "../../http/context";
import type { Logger } from "../../lib/logger";
import type { ProviderRegistryImpl } from "../../providers/registry";
import type { WarmPool } from "../../scheduler/warm-pool";
import type { Scheduler } from "../../scheduler/scheduler";
import type { SessionService } from "../sessions/sessions.service";
import * as store from "../sessions/sessions.store";
import { activeMaintenance } from "../settings/maintenance.service";
import { WorkerFleet } from "./fleet";
import { buildProvider, type ProviderContext } from "./worker-providers";
import { listWorkers, storeWorker, validateWorkerInput, type AddWorkerInput, type Worker } from "./workers.service";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { audit } from "../audit/audit.service";
import { BadRequest } from "../../lib/errors";
import { enginePing } from "../../providers/engine";
import { localChromiumPath } from "../../providers/local-process";
import { HostKeyMismatch } from "../../providers/ssh-connection";
import { probeSshWorker } from "../../providers/ssh-docker";
import type { EgressGuard } from "../../security/egress/guard";
import { listWarm } from "../../scheduler/warm.store";
import { poolsOfWorker, servesPool } from "./worker-pools";

export function createFleet(ctx: ProviderContext & { db: Db; providers: ProviderRegistryImpl }): WorkerFleet {
  // A Docker health check is a ping, then a network inspect beside a container list: two quick-call deadlines.
  const healthTimeoutMs = 2 * ctx.config.engineTimeoutMs + 1_000;
  const fleet = new WorkerFleet({ db: ctx.db, log: ctx.log, providers: ctx.providers, build: (w) => buildProvider(w, ctx), healthTimeoutMs }, { onProviderAdded() {}, onStatusChange() {} });
  fleet.sync();
  return fleet;
}

/**
 * Offline or unhealthy: the worker's live sessions get a `worker_offline` / `worker_unhealthy`
 * event (their browsers may be fine and come back with the worker; the hard timeout still
 * applies) and its capacity leaves the pool (placement only uses online workers); requests
 * queued in a pool left with no online worker and an unhealthy one are answered 503 with its
 * reason. Online again: what was left on the engine while it did not answer is reconciled
 * (`reconcile`), and the queue and the warm pool move.
 */
export function wireFleet(fleet: WorkerFleet, deps: { db: Db; log: Logger; sessions: SessionService; scheduler: Scheduler; warm: WarmPool; egress: EgressGuard; reconcile?: () => Promise<unknown> }): void {
  fleet.setHooks({
    onProviderAdded: (_id, provider) => deps.sessions.watchProvider(provider),
    onStatusChange(worker, from, to) {
      // An SSH worker (re)connected: its host may have rebooted, so its guard is installed again.
      if (to === "online" && worker.kind === "ssh") void deps.egress.install(worker.id);
      const away = (s: string) => s === "offline" || s === "unhealthy";
      const type = to === "online" ? "worker_online" : to === "offline" ? "worker_offline" : to === "unhealthy" ? "worker_unhealthy" : null;
      if (type && (away(to) || away(from)))
        for (const s of store.liveSessions(deps.db, worker.id)) store.appendEvent(deps.db, s.id, type, { worker: worker.name });
      if (to === "unhealthy") deps.scheduler.capacity.refuseWaitersIfUnplaceable();
      if (to === "online") {
        if (from === "unhealthy") void deps.reconcile?.().catch((err) => deps.log.warn("reconcile after the engine answered again failed", { worker: worker.name, err }));
        deps.scheduler.capacity.drainAll();
        deps.warm.fill();
      }
    },
  });
}

export function workerProbes(db: Db): (() => Promise<ProbeResult>)[] {
  return [
    async () => {
      const all = listWorkers(db);
      const online = all.filter((w) => w.status === "online").length;
      const unhealthy = all.filter((w) => w.status === "unhealthy").map((w) => `${w.name} is unhealthy: ${w.lastError ?? "its engine misses deadlines"}`);
      const detail = online > 0 ? [`${online} reachable`, ...unhealthy].join("; ") : unhealthy.length ? `no worker is usable: ${unhealthy.join("; ")}` : "no worker is reachable: is Docker running? (browsergrid doctor)";
      return { name: "workers", ok: online > 0, detail };
    },
    async () => {
      const m = activeMaintenance(db);
      return { name: "maintenance", ok: !m, detail: m ? m.message : undefined };
    },
  ];
}

/**
 * Stores a checked worker and, when it is new, lets everything that depends on workers know:
 * the audit log, the fleet (provider + first heartbeat), the queues and warm pools of the pools it serves.
 * The API and the UI both add workers through here.
 */
export async function addCheckedWorker(deps: AppDeps, actor: Actor, ip: string, input: AddWorkerInput, fingerprint?: string) {
  const checked = validateWorkerInput(input);
  const stored = storeWorker(deps.db, deps.installKey, input, { ...checked, fingerprint });
  if (stored.created) {
    const w = stored.worker;
    audit(deps, actor, "worker.added", w.id, { name: w.name, endpoint: w.endpoint, hostKeyFingerprint: w.hostKeyFingerprint }, ip);
    deps.fleet?.sync();
    await deps.fleet?.check(w.id);
    await deps.egress?.install(w.id); // coalesced with the install the fleet's status hook started
    deps.scheduler.capacity.drainAll();
    deps.warm?.fill();
  }
  return stored;
}

/**
 * A worker's pools changed: warm browsers of pools it no longer serves are
 * stopped (slots freed), its egress guard is rebuilt for the allow-lists of the pools it serves
 * now, queued requests that may use it now move, and warm pools refill.
 */
export async function poolsChanged(deps: AppDeps, w: Worker): Promise<void> {
  const served = poolsOfWorker(deps.db, w);
  await Promise.all(listWarm(deps.db).filter((x) => x.workerId === w.id && !servesPool(served, x.poolId)).map((x) => deps.warm?.discard(x, "worker no longer serves the pool")));
  await deps.egress?.workerPoolsChanged(w.id);
  deps.scheduler.capacity.drainAll();
  deps.warm?.fill();
}

/** Contacts a new worker before it is stored (the API and the Workers page); returns the pinned host key for SSH. */
export async function checkReachable(endpoint: ReturnType<typeof validateWorkerInput>["endpoint"], input: Pick<AddWorkerInput, "sshPrivateKey" | "hostKeyFingerprint">): Promise<string | undefined> {
  if (endpoint.kind === "ssh") {
    try {
      return (await probeSshWorker({ endpoint: endpoint.canonical, privateKey: input.sshPrivateKey!, hostKeyFingerprint: input.hostKeyFingerprint })).fingerprint;
    } catch (err) {
      if (err instanceof HostKeyMismatch) throw new BadRequest(err.message, "host_key_mismatch");
      throw new BadRequest(`Cannot use ${endpoint.canonical}: ${(err as Error).message}`, "worker_unreachable");
    }
  }
  if (endpoint.kind === "docker") {
    await enginePing(endpoint.socketPath).catch((err: Error) => {
      throw new BadRequest(`No Docker engine answers on ${endpoint.canonical}: ${err.message}`, "worker_unreachable");
    });
  }
  if (endpoint.kind === "local" && !localChromiumPath()) throw new BadRequest("No Chromium on this host for a local worker (apt-get install chromium).", "worker_unreachable");
  return undefined;
}
