// Slots and the per-pool FIFO queue. A slot is reserved before a browser starts and freed
// when it ends; freeing a slot hands it straight to the oldest waiter of that pool (no
// polling interval). Counts live in memory and are rebuilt from the database at start.
import { CapacityExhausted, Unavailable } from "../../lib/errors";

export interface PlacementWorker {
  id: string;
  poolId: string;
  capacity: number;
  online: boolean;
  /** Why the worker is unhealthy (its engine misses deadlines), or absent. */
  unhealthy?: string | null;
}

interface Waiter {
  poolId: string;
  since: number;
  resolve(workerId: string): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class Capacity {
  private load = new Map<string, number>();
  private queues = new Map<string, Waiter[]>();

  constructor(
    private workers: () => PlacementWorker[],
    private poolLimit: (poolId: string) => number,
    /** spread (default): least-loaded worker first; pack: the busiest worker with a free slot. */
    private placementOf: (poolId: string) => "spread" | "pack" = () => "spread",
  ) {}

  loadOf(workerId: string): number {
    return this.load.get(workerId) ?? 0;
  }

  queueDepth(poolId: string): number {
    return this.queues.get(poolId)?.length ?? 0;
  }

  /** Age of the oldest waiter of a pool, ms (0 when nobody waits). */
  oldestWaitMs(poolId: string): number {
    const w = this.queues.get(poolId)?.[0];
    return w ? Date.now() - w.since : 0;
  }

  /** Sets counts from the database's live sessions (boot, reconciliation). */
  reset(counts: Map<string, number>): void {
    this.load = new Map(counts);
  }

  /** Picks an online worker of the pool with a free slot (by the pool's placement), and reserves it. */
  tryReserve(poolId: string): string | null {
    const all = this.workers().filter((w) => w.poolId === poolId);
    // Sessions on offline or draining workers still count against the pool's limit.
    const poolLoad = all.reduce((n, w) => n + this.loadOf(w.id), 0);
    if (poolLoad >= this.poolLimit(poolId)) return null;
    const pack = this.placementOf(poolId) === "pack";
    let best: PlacementWorker | null = null;
    for (const w of all) {
      if (!w.online) continue;
      const l = this.loadOf(w.id);
      if (l >= w.capacity) continue;
      if (!best) best = w;
      else if (pack ? l > this.loadOf(best.id) : l < this.loadOf(best.id)) best = w;
    }
    if (!best) return null;
    this.load.set(best.id, this.loadOf(best.id) + 1);
    return best.id;
  }

  /**
   * Reserves a slot now, or waits in the pool's FIFO queue up to `timeoutMs`. `leave` takes the
   * waiter out of the queue at once (its request is no longer wanted): the promise rejects with
   * the signal's reason and no slot is reserved for it, then or later.
   */
  acquire(poolId: string, timeoutMs: number, opts: { onQueued?: () => void; leave?: AbortSignal } = {}): Promise<string> {
    if (opts.leave?.aborted) return Promise.reject(opts.leave.reason);
    if (this.queueDepth(poolId) === 0) {
      const w = this.tryReserve(poolId);
      if (w) return Promise.resolve(w);
    }
    // Waiting helps only when a slot can free up: not while every worker that could serve is stuck.
    const refusal = this.unplaceable(poolId);
    if (refusal) return Promise.reject(refusal);
    opts.onQueued?.();
    return new Promise<string>((resolve, reject) => {
      const leave = opts.leave;
      const onLeave = () => {
        this.removeWaiter(waiter);
        clearTimeout(waiter.timer);
        reject(leave!.reason);
      };
      const waiter: Waiter = {
        poolId,
        since: Date.now(),
        resolve: (workerId) => {
          leave?.removeEventListener("abort", onLeave);
          resolve(workerId);
        },
        reject: (err) => {
          leave?.removeEventListener("abort", onLeave);
          reject(err);
        },
        timer: setTimeout(() => {
          this.removeWaiter(waiter);
          waiter.reject(new CapacityExhausted(`The pool is full and no slot freed within ${Math.round(timeoutMs / 1000)} s; try again later.`, Math.max(1, timeoutMs / 2000)));
        }, timeoutMs),
      };
      const q = this.queues.get(poolId) ?? [];
      q.push(waiter);
      this.queues.set(poolId, q);
      leave?.addEventListener("abort", onLeave, { once: true });
      // The request may have gone while onQueued ran.
      if (leave?.aborted) onLeave();
    });
  }

  release(workerId: string): void {
    const l = this.loadOf(workerId);
    this.load.set(workerId, Math.max(0, l - 1));
    const w = this.workers().find((x) => x.id === workerId);
    if (w) this.drain(w.poolId);
  }

  /** Hands free slots to waiters, oldest first. */
  drain(poolId: string): void {
    const q = this.queues.get(poolId);
    while (q && q.length > 0) {
      const reserved = this.tryReserve(poolId);
      if (!reserved) return;
      const waiter = q.shift()!;
      clearTimeout(waiter.timer);
      waiter.resolve(reserved);
    }
  }

  /**
   * 503 (worker_unhealthy, with the workers' reasons) when no worker of the pool is online and at
   * least one is unhealthy; null when placement may still succeed or a slot may free up.
   */
  unplaceable(poolId: string): Unavailable | null {
    const all = this.workers().filter((w) => w.poolId === poolId);
    if (all.some((w) => w.online)) return null;
    const reasons = all.filter((w) => w.unhealthy).map((w) => w.unhealthy!);
    return reasons.length ? new Unavailable(`No worker can start a browser now: ${reasons.join("; ")}`, "worker_unhealthy") : null;
  }

  /** A worker of the pool turned unhealthy: waiters of a pool left with no usable worker get the 503 now. */
  refuseWaitersIfUnplaceable(poolId: string): void {
    const refusal = this.unplaceable(poolId);
    const q = this.queues.get(poolId);
    if (!refusal || !q) return;
    for (const w of q.splice(0)) {
      clearTimeout(w.timer);
      w.reject(refusal);
    }
  }

  /** Rejects every waiter (shutdown). */
  rejectAll(err: Error): void {
    for (const q of this.queues.values()) for (const w of q.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  private removeWaiter(w: Waiter): void {
    const q = this.queues.get(w.poolId);
    if (!q) return;
    const i = q.indexOf(w);
    if (i >= 0) q.splice(i, 1);
  }
}
