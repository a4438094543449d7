// Slots and the per-pool FIFO queue. A slot is reserved for a pool on a worker before a browser
// (a session's or a warm one) starts and freed when it ends. Two limits hold at once: a worker
// runs at most its capacity over every pool it serves, and a pool holds at most its maxSessions
// over every worker. Freeing a slot hands it straight to the oldest waiter that can use it — of
// the slot's pool, or of another pool the worker serves (no polling interval). Counts live in
// memory and are rebuilt from the database at start.
import { CapacityExhausted, Unavailable } from "../lib/errors";

export interface PlacementWorker {
  id: string;
  /** The pools it serves: "all", or pool ids. */
  pools: "all" | readonly string[];
  capacity: number;
  online: boolean;
  /** Why the worker is unhealthy (its engine misses deadlines), or absent. */
  unhealthy?: string | null;
}

/** One held slot, for rebuilding the counts (a live session or a warm browser). */
export interface HeldSlot {
  workerId: string;
  poolId: string;
}

/** Whether a worker takes browsers of the pool ("all" includes pools created later). */
export const serves = (w: Pick<PlacementWorker, "pools">, poolId: string): boolean => w.pools === "all" || w.pools.includes(poolId);

interface Waiter {
  poolId: string;
  since: number;
  resolve(workerId: string): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class Capacity {
  /** Slots held per worker (all pools) and per pool (all workers). */
  private load = new Map<string, number>();
  private poolLoad = new Map<string, number>();
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

  /** Slots a pool holds over all workers (sessions and warm browsers), counted against its maxSessions. */
  poolLoadOf(poolId: string): number {
    return this.poolLoad.get(poolId) ?? 0;
  }

  queueDepth(poolId: string): number {
    return this.queues.get(poolId)?.length ?? 0;
  }

  /** Age of the oldest waiter of a pool, ms (0 when nobody waits). */
  oldestWaitMs(poolId: string): number {
    const w = this.queues.get(poolId)?.[0];
    return w ? Date.now() - w.since : 0;
  }

  /** Sets counts from the database's live sessions and warm browsers (boot, reconciliation). */
  reset(slots: Iterable<HeldSlot>): void {
    this.load = new Map();
    this.poolLoad = new Map();
    for (const s of slots) this.add(s.workerId, s.poolId, 1);
  }

  /**
   * Picks an online worker serving the pool with a free slot (by the pool's placement) while the
   * pool is under its own limit, and reserves the slot. `idleOnly` (the warm filler): only on
   * workers no waiting request could use, so a warm browser never takes a slot a queued
   * request of any pool is waiting for.
   */
  tryReserve(poolId: string, opts: { idleOnly?: boolean } = {}): string | null {
    // Slots on offline or draining workers still count against the pool's limit.
    if (this.poolLoadOf(poolId) >= this.poolLimit(poolId)) return null;
    const waiting = opts.idleOnly ? [...this.queues].filter(([, q]) => q.length > 0).map(([p]) => p) : [];
    const pack = this.placementOf(poolId) === "pack";
    let best: PlacementWorker | null = null;
    for (const w of this.workers()) {
      if (!w.online || !serves(w, poolId)) continue;
      const l = this.loadOf(w.id);
      if (l >= w.capacity) continue;
      if (waiting.some((p) => serves(w, p))) continue;
      if (!best) best = w;
      else if (pack ? l > this.loadOf(best.id) : l < this.loadOf(best.id)) best = w;
    }
    if (!best) return null;
    this.add(best.id, poolId, 1);
    return best.id;
  }

  private add(workerId: string, poolId: string, n: number): void {
    this.load.set(workerId, Math.max(0, this.loadOf(workerId) + n));
    this.poolLoad.set(poolId, Math.max(0, this.poolLoadOf(poolId) + n));
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

  /**
   * Frees a slot the pool held on the worker and hands it on: to the waiters of that pool and of
   * every other pool the worker serves, the pool with the oldest waiter first.
   */
  release(workerId: string, poolId: string): void {
    this.add(workerId, poolId, -1);
    if (![...this.queues.values()].some((q) => q.length > 0)) return; // nobody waits: no need to read the workers
    const w = this.workers().find((x) => x.id === workerId);
    this.drainWaiting((p) => p === poolId || (!!w && serves(w, p)));
  }

  /** Hands free slots to the waiters of every pool (a worker came online or serves other pools now), oldest first. */
  drainAll(): void {
    this.drainWaiting(() => true);
  }

  private drainWaiting(which: (poolId: string) => boolean): void {
    const pools = [...this.queues].filter(([p, q]) => q.length > 0 && which(p)).sort(([, a], [, b]) => a[0]!.since - b[0]!.since);
    for (const [p] of pools) this.drain(p);
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
   * 503 (worker_unhealthy, with the workers' reasons) when no worker serving the pool is online
   * and at least one is unhealthy; null when placement may still succeed or a slot may free up.
   */
  unplaceable(poolId: string): Unavailable | null {
    const all = this.workers().filter((w) => serves(w, poolId));
    if (all.some((w) => w.online)) return null;
    const reasons = all.filter((w) => w.unhealthy).map((w) => w.unhealthy!);
    return reasons.length ? new Unavailable(`No worker can start a browser now: ${reasons.join("; ")}`, "worker_unhealthy") : null;
  }

  /** A worker turned unhealthy: waiters of every pool left with no usable worker get the 503 now. */
  refuseWaitersIfUnplaceable(): void {
    for (const [poolId, q] of this.queues) {
      const refusal = this.unplaceable(poolId);
      if (!refusal) continue;
      for (const w of q.splice(0)) {
        clearTimeout(w.timer);
        w.reject(refusal);
      }
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
