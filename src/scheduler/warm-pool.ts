// The warm pool filler: keeps `minWarm` browsers started ahead in every active pool, so a
// session whose settings equal the pool's defaults is a database claim, not a container start.
//
// - A warm browser belongs to one pool (its flavour, viewport and limits) and holds a slot of its
//   worker and of its pool like a session does; only a session of that pool may claim it
//   (scheduler.ts claimWarm, which also states what becomes of the slot). On a worker serving several pools each pool keeps its own warm browsers there,
//   all counted against the worker's capacity. The filler never takes a slot a waiting request
//   (of any pool) could use, and a waiting request makes the filler give a warm browser back —
//   its own pool's first, else another pool's on a worker it can use (a cold request must not
//   starve behind idle warm ones).
// - Refills run with bounded concurrency (WARM_CONCURRENCY per pool) and are triggered by
//   events (claim, death, worker online, pool change); a periodic pass is only a safety net
//   that also recycles browsers older than the pool's warmMaxAgeSec and ones whose settings no
//   longer match the pool.
import type { Db } from "../db/client";
import type { Logger } from "../lib/logger";
import { newId } from "../lib/ids";
import type { ProviderRegistry } from "../providers/registry";
import type { BrowserProvider, StartedBrowser } from "../providers/provider";
import { browserStartBudgetMs } from "../providers/engine-deadlines";
import { serves, type Capacity } from "./capacity";
import type { PoolRow, SchedulerCatalog } from "./placement";
import { deleteWarm, findWarmByContainer, insertWarm, listWarm, markWarmReady, warmCounts, warmKey, type WarmRow } from "./warm.store";

const WARM_CONCURRENCY = 2;
const FAILURE_BACKOFF_MS = 5_000;
/**
 * After a claim, the refill waits this long while the pool still has a ready browser: starting
 * a container and Chromium takes both cores of a small host for a few hundred ms, exactly when
 * the client of the claimed browser connects and loads its first page (measured: the gateway
 * handshake went from ≈ 16 to ≈ 38 ms p50 with the refill running beside it).
 */
export const REFILL_DEFER_MS = 500;

export function poolDefaults(pool: PoolRow) {
  return { browser: pool.flavour, viewport: { width: pool.viewportWidth, height: pool.viewportHeight } };
}

/** A warm browser started under other CPU or storage limits than its pool's now is replaced. */
function limitsKey(pool: PoolRow): string {
  return `${pool.cpuMillis}:${pool.storageMb}`;
}

export class WarmPool {
  private inFlight = new Map<string, number>();
  private backoffUntil = new Map<string, number>();
  private closed = false;

  constructor(
    private deps: {
      db: Db;
      log: Logger;
      providers: ProviderRegistry;
      capacity: Capacity;
      catalog: SchedulerCatalog;
      /** A warm browser still starting after this long is given up (failStuckStarts). */
      startDeadlineMs?: number;
      /** A warm browser is ready: what its provider returned (boot hands the browser path to the gateway's cache). */
      onReady?: (provider: BrowserProvider, started: StartedBrowser) => void;
    },
  ) {}

  /** Tops up every pool (or one). Returns at once; starts run in the background. */
  fill(poolId?: string): void {
    if (this.closed) return;
    const pools = poolId ? [this.deps.catalog.pool(poolId)].filter((p): p is PoolRow => !!p) : this.deps.catalog.pools();
    for (const pool of pools) this.fillPool(pool);
  }

  private deferred = new Map<string, ReturnType<typeof setTimeout>>();

  /**
   * A warm browser of the pool was claimed: refill at once when none is ready any more (the
   * next request would start cold), else after REFILL_DEFER_MS (one pending refill per pool).
   */
  refillAfterClaim(poolId: string): void {
    if (this.closed) return;
    if (warmCounts(this.deps.db, poolId).ready === 0) return void setImmediate(() => this.fill(poolId));
    if (this.deferred.has(poolId)) return;
    const t = setTimeout(() => {
      this.deferred.delete(poolId);
      this.fill(poolId);
    }, REFILL_DEFER_MS);
    t.unref?.();
    this.deferred.set(poolId, t);
  }

  private fillPool(pool: PoolRow): void {
    if ((this.backoffUntil.get(pool.id) ?? 0) > Date.now()) return;
    const key = warmKey(poolDefaults(pool));
    const have = listWarm(this.deps.db, pool.id).filter((w) => (w.config as { key?: string }).key === key).length;
    let needed = pool.state === "active" ? pool.minWarm - have : 0;
    while (needed > 0 && (this.inFlight.get(pool.id) ?? 0) < WARM_CONCURRENCY) {
      if (this.deps.capacity.queueDepth(pool.id) > 0) return;
      const workerId = this.deps.capacity.tryReserve(pool.id, { idleOnly: true });
      if (!workerId) return;
      needed--;
      this.inFlight.set(pool.id, (this.inFlight.get(pool.id) ?? 0) + 1);
      void this.startOne(pool, workerId, key).finally(() => {
        this.inFlight.set(pool.id, (this.inFlight.get(pool.id) ?? 1) - 1);
        this.fill(pool.id);
      });
    }
  }

  private async startOne(pool: PoolRow, workerId: string, key: string): Promise<void> {
    const id = newId("wrm");
    insertWarm(this.deps.db, { id, poolId: pool.id, workerId, key, limits: limitsKey(pool) });
    const provider = this.deps.providers.get(workerId);
    try {
      if (!provider) throw new Error(`worker ${workerId} has no provider`);
      const d = poolDefaults(pool);
      const started = await provider.start({ sessionId: id, poolId: pool.id, workerId, flavour: d.browser, viewport: d.viewport, warm: true });
      if (!markWarmReady(this.deps.db, id, started.handle, `${started.cdp.host}:${started.cdp.port}`)) {
        // Discarded while starting (whoever deleted the row freed the slot): do not leave the browser behind.
        await provider.stop(started.handle).catch(() => {});
      } else this.deps.onReady?.(provider, started);
    } catch (err) {
      if (deleteWarm(this.deps.db, id)) this.deps.capacity.release(workerId, pool.id);
      this.backoffUntil.set(pool.id, Date.now() + FAILURE_BACKOFF_MS);
      if (!this.closed) this.deps.log.warn("warm browser failed to start", { pool: pool.name, err });
    }
  }

  /** Stops a warm browser and frees its slot (recycling, eviction, shrinking). */
  async discard(w: WarmRow, why: string): Promise<void> {
    if (!deleteWarm(this.deps.db, w.id)) return; // claimed or discarded meanwhile
    if (w.containerId) await this.deps.providers.get(w.workerId)?.stop(w.containerId).catch((err) => this.deps.log.warn("warm browser stop failed", { err }));
    this.deps.capacity.release(w.workerId, w.poolId);
    this.deps.log.debug("warm browser discarded", { id: w.id, why });
  }

  /**
   * A request has to wait in this pool: give back an idle warm browser whose slot it can take —
   * one of its own pool, else (when the pool is under its own limit, so a worker slot is what
   * it lacks) one of another pool on a worker that serves this pool.
   */
  evictFor(poolId: string): boolean {
    let victim = listWarm(this.deps.db, poolId).find((w) => w.status === "ready");
    const pool = victim ? undefined : this.deps.catalog.pool(poolId);
    if (!victim && pool && this.deps.capacity.poolLoadOf(poolId) < pool.maxSessions) {
      const usable = new Set(this.deps.catalog.workers().filter((w) => serves(w, poolId)).map((w) => w.id));
      victim = listWarm(this.deps.db).find((w) => w.status === "ready" && w.poolId !== poolId && usable.has(w.workerId));
    }
    if (!victim) return false;
    void this.discard(victim, "a queued request needs the slot");
    return true;
  }

  /** A browser died that no session owns: if it was warm, forget it and refill. */
  onBrowserDied(handle: string): void {
    const w = findWarmByContainer(this.deps.db, handle);
    if (!w || !deleteWarm(this.deps.db, w.id)) return;
    this.deps.capacity.release(w.workerId, w.poolId);
    this.deps.log.warn("warm browser died; replacing it", { id: w.id });
    this.fill(w.poolId);
  }

  /** Safety net: recycle old or mismatched warm browsers and those beyond minWarm, then refill. */
  async maintain(now = Date.now()): Promise<void> {
    // Draining or removed-on-request workers give their warm browsers back, and so do workers
    // that no longer serve the warm browser's pool (an admin changed the worker's pools).
    const workers = this.deps.catalog.workers();
    const leaving = new Set(workers.filter((w) => w.draining).map((w) => w.id));
    const serving = (workerId: string, poolId: string) => {
      const w = workers.find((x) => x.id === workerId);
      return !!w && serves(w, poolId);
    };
    for (const w of listWarm(this.deps.db)) {
      if (w.status !== "ready") continue;
      if (leaving.has(w.workerId)) await this.discard(w, "worker draining");
      else if (!serving(w.workerId, w.poolId)) await this.discard(w, "worker no longer serves the pool");
    }
    for (const pool of this.deps.catalog.pools()) {
      const key = warmKey(poolDefaults(pool));
      const ready = listWarm(this.deps.db, pool.id).filter((w) => w.status === "ready");
      let keep = pool.state === "active" ? pool.minWarm : 0;
      for (const w of ready.sort((a, b) => (b.readyAt ?? 0) - (a.readyAt ?? 0))) {
        const old = (w.readyAt ?? w.createdAt) + pool.warmMaxAgeSec * 1000 < now;
        const config = w.config as { key?: string; limits?: string };
        const mismatch = config.key !== key || config.limits !== limitsKey(pool);
        if (old || mismatch || keep <= 0) await this.discard(w, old ? "max age" : mismatch ? "pool settings changed" : "above minWarm");
        else keep--;
      }
    }
    this.fill();
  }

  /**
   * Safety net behind the engine deadlines (run on every heartbeat): a warm browser still
   * starting past the start deadline is given up (row deleted, slot freed); a start that
   * finishes later finds its row gone and stops its browser, and reconciliation removes a
   * container left behind once the engine answers. Returns the ids given up.
   */
  failStuckStarts(now = Date.now()): string[] {
    const limitMs = this.deps.startDeadlineMs ?? browserStartBudgetMs();
    const stuck = listWarm(this.deps.db).filter((w) => w.status === "starting" && now - w.createdAt >= limitMs);
    for (const w of stuck) {
      if (!deleteWarm(this.deps.db, w.id)) continue;
      this.deps.capacity.release(w.workerId, w.poolId);
      this.deps.log.warn("warm browser still starting past its deadline; given up", { id: w.id, worker: w.workerId });
    }
    return stuck.map((w) => w.id);
  }

  /** At boot: warm rows still "starting" belong to the previous process; reconciliation removes their containers. */
  forgetUnfinished(): void {
    for (const w of listWarm(this.deps.db)) if (w.status === "starting") deleteWarm(this.deps.db, w.id);
  }

  close(): void {
    this.closed = true;
    for (const t of this.deferred.values()) clearTimeout(t);
    this.deferred.clear();
  }
}
