// The scheduler answers one question: "give me a browser for this request". The answer is a
// warm browser claimed at once, or a slot on a worker chosen by the pool's placement (waiting
// in the pool's FIFO queue when none is free) for the caller to start a browser in. Its parts:
// the slots and the queue (capacity.ts), what placement reads (placement.ts), the warm pools
// (warm-pool.ts) and their rows (warm.store.ts). It reads the database and talks to providers;
// it never reads or writes the sessions table — the caller's callbacks do (sessions store).
//
// Slots. A slot is held for a pool on a worker by exactly one browser: a session's or a warm
// one. The slot handover rule lives here and only here: a claimed warm browser's slot becomes
// the claiming session's slot as it is — the counts do not move, no other request can take it
// in between, and from then on the session's end frees it (release). At start-up the counts are
// rebuilt from the live sessions the caller lists plus the warm rows (rebuildSlots).
//
// Release: whoever ends the holder of a slot frees it once with release(slot) — for a session,
// the caller whose state change ended it (a row moved to a terminal state), for a warm browser,
// whoever deleted its row. A slot freed goes at once to the oldest waiter that can use it.
import { withoutFsync, type Db } from "../db/client";
import type { Logger } from "../lib/logger";
import type { BrowserProvider, StartedBrowser } from "../providers/provider";
import type { ProviderRegistry } from "../providers/registry";
import { serves, type Capacity, type HeldSlot } from "./capacity";
import { capacityOf, type SchedulerCatalog } from "./placement";
import { WarmPool } from "./warm-pool";
import { listWarm, takeWarm, type ClaimedWarm } from "./warm.store";

/** A slot held on a worker for a pool. */
export type Slot = HeldSlot;

export interface BrowserRequest<T> {
  poolId: string;
  /**
   * warmKey(config) when a warm browser of the pool may serve this request; null when it needs
   * a browser of its own (a profile, its own user agent, locale or timezone, a cold network).
   */
  warmKey: string | null;
  /**
   * Writes what takes a claimed warm browser over (the session row and its events, in the
   * sessions store). Runs inside the claim's transaction: if it throws, the claim is rolled
   * back and the warm browser stays in the pool, ready for the next claim.
   */
  adoptWarm(warm: ClaimedWarm): T;
  /** How long the request may wait in the pool's queue for a slot (then 429). */
  queueTimeoutMs: number;
  /** The request is about to wait in the queue (the caller records it as queued). */
  onQueued?(): void;
}

export type Acquired<T> =
  /** A warm browser, running, whose slot is now the adopter's. */
  | { kind: "warm"; slot: Slot; warm: ClaimedWarm; adopted: T }
  /** A slot reserved on a worker: the caller starts a browser there, or releases the slot. */
  | { kind: "cold"; slot: Slot };

export interface SchedulerDeps {
  db: Db;
  log: Logger;
  providers: ProviderRegistry;
  catalog: SchedulerCatalog;
  /** Keep warm browsers (boot does; tests that start no browsers do not). */
  warmPools?: boolean;
  /** A warm browser still starting after this long is given up; absent: engine-deadlines.ts. */
  startDeadlineMs?: number;
  /** A browser the scheduler started (a warm one) is ready: what its provider returned. */
  onBrowserReady?: (provider: BrowserProvider, started: StartedBrowser) => void;
}

export class Scheduler {
  /** Slot counts and the per-pool FIFO queue. */
  readonly capacity: Capacity;
  /** The warm pools; null when this process keeps none. */
  readonly warm: WarmPool | null;

  constructor(private readonly deps: SchedulerDeps) {
    this.capacity = capacityOf(deps.catalog);
    this.warm = deps.warmPools
      ? new WarmPool({ db: deps.db, log: deps.log, providers: deps.providers, capacity: this.capacity, catalog: deps.catalog, startDeadlineMs: deps.startDeadlineMs, onReady: deps.onBrowserReady })
      : null;
  }

  /**
   * A browser for the request: a matching ready warm browser when nobody queues in its pool,
   * else a slot on a worker (now, or once one frees up within `queueTimeoutMs`). Rejects with
   * 429 capacity_exhausted when the wait times out, 503 worker_unhealthy when no worker can
   * serve the pool, and with `leave`'s reason when it aborts (the request left the queue; no
   * slot is held for it, then or later).
   */
  async acquire<T>(request: BrowserRequest<T>, leave?: AbortSignal): Promise<Acquired<T>> {
    const { poolId } = request;
    if (request.warmKey !== null && this.warm && this.capacity.queueDepth(poolId) === 0) {
      const claimed = this.claimWarm(poolId, request.warmKey, request.adoptWarm);
      if (claimed) return { kind: "warm", slot: { workerId: claimed.warm.workerId, poolId }, ...claimed };
    }
    const workerId = await this.capacity.acquire(poolId, request.queueTimeoutMs, {
      leave,
      onQueued: () => {
        // A waiting request must not starve behind idle warm browsers: one gives its slot back.
        this.warm?.evictFor(poolId);
        request.onQueued?.();
      },
    });
    return { kind: "cold", slot: { workerId, poolId } };
  }

  /**
   * Claims a warm browser: one transaction deletes the warm row (warm.store.ts takeWarm) and
   * runs `adopt`, so two concurrent claims never get the same browser, no warm row outlives
   * its claim, and nothing is adopted without its browser. Null when none is ready. The pool
   * is refilled once per claim.
   *
   * In a pool of workers on this machine the claim commits without waiting for the disk
   * (withoutFsync): the fsync was most of a warm create's server time (1–7 ms of 5–9). What it
   * records — this browser now serves this session — cannot outlive a power cut there: the
   * browser dies with the machine, a cut that loses the claim leaves the warm row pointing at a
   * dead container (reconciliation removes it) and no session row, and the next durable commit
   * carries the claim to the disk. A crash of the process alone loses nothing: the commit is in
   * the WAL the kernel holds. A pool with an SSH worker keeps the fsync: a browser on another
   * machine survives this one's power cut, and a lost claim would offer a used browser, with the
   * first client's pages and cookies, as warm to the next session.
   */
  claimWarm<T>(poolId: string, key: string, adopt: (warm: ClaimedWarm) => T): { warm: ClaimedWarm; adopted: T } | null {
    const { db } = this.deps;
    const claim = () =>
      db.transaction(() => {
        const warm = takeWarm(db, poolId, key);
        return warm ? { warm, adopted: adopt(warm) } : null;
      });
    const remote = this.deps.catalog.workers().some((w) => w.remote && serves(w, poolId));
    const claimed = remote ? claim() : withoutFsync(db, claim);
    if (claimed) this.warm?.refillAfterClaim(poolId);
    return claimed;
  }

  /** Frees a slot once its holder ended (see the header); the next waiter that can use it gets it. */
  release(slot: Slot): void {
    this.capacity.release(slot.workerId, slot.poolId);
  }

  /** Sets the slot counts from the live sessions' slots (the caller's) and every warm row (boot, after reconciliation). */
  rebuildSlots(sessionSlots: Iterable<Slot>): void {
    const slots: Slot[] = [...sessionSlots];
    for (const w of listWarm(this.deps.db)) slots.push({ workerId: w.workerId, poolId: w.poolId });
    this.capacity.reset(slots);
  }

  /** Shutdown: no more warm starts or refills, and every waiter is rejected with `reason`. */
  close(reason: Error): void {
    this.warm?.close();
    this.capacity.rejectAll(reason);
  }
}
