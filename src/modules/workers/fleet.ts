// Keeps one provider per worker row and each worker's status true.
//
// - sync(): builds providers for rows that have none (workers added through the API or the CLI,
//   which writes the database directly) and closes those whose row is gone.
// - heartbeat(): asks every provider's health (in parallel, each bounded by a deadline);
//   transitions between online, offline (cannot be reached) and unhealthy (answers, but an
//   engine call missed its deadline: a stuck engine) are reported to `onStatusChange`
//   (sessions are marked, the queue and the warm pool move). A provider reporting
//   "unreachable" (an SSH connection that dropped, an engine call past its deadline) is
//   checked at once, so a dead or stuck worker leaves placement well before its next heartbeat.
// - Workers whose removal was asked are deleted once drained.
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import type { BrowserProvider } from "../../providers/provider";
import type { ProviderRegistryImpl } from "../../providers/registry";
import { listWorkers, removeDrainedWorkers, setWorkerStatus, type Worker } from "./workers.service";

export interface FleetHooks {
  /** A provider was built for a worker (subscribe to its events). */
  onProviderAdded(workerId: string, provider: BrowserProvider): void;
  onStatusChange(worker: Worker, from: Worker["status"], to: Worker["status"]): void;
}

/** A health check that has not answered by then counts as a missed deadline (the provider's own calls have shorter ones). */
const DEFAULT_HEALTH_TIMEOUT_MS = 3_000;

export class WorkerFleet {
  private checking = new Map<string, Promise<boolean>>();

  constructor(
    private deps: { db: Db; log: Logger; providers: ProviderRegistryImpl; build: (w: Worker) => BrowserProvider; healthTimeoutMs?: number },
    private hooks: FleetHooks,
  ) {}

  setHooks(hooks: FleetHooks): void {
    this.hooks = hooks;
  }

  sync(): void {
    const rows = listWorkers(this.deps.db);
    const ids = new Set(rows.map((w) => w.id));
    for (const w of rows) {
      if (this.deps.providers.get(w.id)) continue;
      let provider: BrowserProvider;
      try {
        provider = this.deps.build(w);
      } catch (err) {
        this.deps.log.error("cannot build the provider of a worker", { worker: w.name, err });
        if (w.status !== "draining") setWorkerStatus(this.deps.db, w.id, "offline", (err as Error).message);
        continue;
      }
      this.deps.providers.set(w.id, provider);
      provider.onUnreachable?.(() => void this.check(w.id));
      this.hooks.onProviderAdded(w.id, provider);
    }
    for (const [id, provider] of this.deps.providers.entries()) {
      if (ids.has(id)) continue;
      this.deps.providers.delete(id);
      void provider.close().catch(() => {});
    }
  }

  /** The worker's engine calls that passed their deadline, per call kind; null for providers without an engine. */
  engineTimeoutsOf(workerId: string): Record<string, number> | null {
    return this.deps.providers.get(workerId)?.engineTimeouts?.() ?? null;
  }

  /** Checks one worker now (coalesced with a check already under way); true when online. */
  check(workerId: string): Promise<boolean> {
    const running = this.checking.get(workerId);
    if (running) return running;
    const p = this.runCheck(workerId).finally(() => this.checking.delete(workerId));
    this.checking.set(workerId, p);
    return p;
  }

  private async runCheck(workerId: string): Promise<boolean> {
    const provider = this.deps.providers.get(workerId);
    const before = listWorkers(this.deps.db).find((w) => w.id === workerId);
    if (!provider || !before) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeoutMs = this.deps.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
    const h: { ok: boolean; detail?: string; missedDeadline?: boolean } = await Promise.race([
      provider.health(),
      new Promise<{ ok: boolean; detail?: string; missedDeadline?: boolean }>(
        (resolve) => (timer = setTimeout(() => resolve({ ok: false, missedDeadline: true, detail: `the health check got no answer within ${timeoutMs / 1000} s` }), timeoutMs)),
      ),
    ]).catch((e: Error) => ({ ok: false, detail: e.message }));
    clearTimeout(timer);
    const now = listWorkers(this.deps.db).find((w) => w.id === workerId);
    if (!now) return false;
    const status: Worker["status"] = now.status === "draining" ? "draining" : h.ok ? "online" : h.missedDeadline ? "unhealthy" : "offline";
    setWorkerStatus(this.deps.db, workerId, status, h.ok ? null : (h.detail ?? "unreachable"));
    if (status !== now.status) {
      this.deps.log.info("worker status changed", { worker: now.name, from: now.status, to: status, detail: h.detail });
      this.hooks.onStatusChange(now, now.status, status);
    }
    return h.ok;
  }

  /** One round: sync providers, check every worker, remove drained ones. Returns how many answered. */
  async heartbeat(): Promise<number> {
    this.sync();
    const results = await Promise.all(this.deps.providers.entries().map(([id]) => this.check(id)));
    for (const w of removeDrainedWorkers(this.deps.db)) {
      this.deps.log.info("worker removed after draining", { worker: w.name, endpoint: w.endpoint });
      const p = this.deps.providers.get(w.id);
      this.deps.providers.delete(w.id);
      await p?.close().catch(() => {});
    }
    return results.filter(Boolean).length;
  }
}
