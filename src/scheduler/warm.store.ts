// Warm browser rows. A claim is one transaction: the oldest ready warm browser of the pool whose
// settings match, on an online worker that still serves the pool, is deleted (RETURNING) and the session row that takes its
// container is inserted — two concurrent claims can never get the same browser, and there is no
// moment where the container belongs to neither.
import { and, eq } from "drizzle-orm";
import { withoutFsync, type Db } from "../../db/client";
import { insertReturning, selectRows } from "../../db/fast-rows";
import { sessions, warmBrowsers } from "../../db/schema";
import { appendEvent, type NewSessionRow, type SessionRow } from "../sessions/sessions.store";
import { listWorkers } from "../workers/workers.service";
import { parseEndpoint } from "../../providers/endpoint";

export type WarmRow = typeof warmBrowsers.$inferSelect;

/** What a warm browser was started with; a request is served only by an equal key. */
export function warmKey(c: { browser: string; viewport: { width: number; height: number } }): string {
  return `${c.browser}:${c.viewport.width}x${c.viewport.height}`;
}

/** `limits`: the pool's browser limits the warm browser was started with (warm-pool.ts limitsKey). */
export function insertWarm(db: Db, row: { id: string; poolId: string; workerId: string; key: string; limits?: string }): WarmRow {
  const config = { key: row.key, ...(row.limits ? { limits: row.limits } : {}) };
  return db.insert(warmBrowsers).values({ id: row.id, poolId: row.poolId, workerId: row.workerId, status: "starting", config }).returning().get();
}

export function markWarmReady(db: Db, id: string, containerId: string, cdpEndpoint: string): boolean {
  return !!db
    .update(warmBrowsers)
    .set({ status: "ready", containerId, cdpEndpoint, readyAt: Date.now() })
    .where(and(eq(warmBrowsers.id, id), eq(warmBrowsers.status, "starting")))
    .returning({ id: warmBrowsers.id })
    .get();
}

export function deleteWarm(db: Db, id: string): WarmRow | undefined {
  return db.delete(warmBrowsers).where(eq(warmBrowsers.id, id)).returning().get();
}

export function listWarm(db: Db, poolId?: string): WarmRow[] {
  return poolId ? selectRows(db.$client, warmBrowsers, "pool_id = ?", [poolId]) : selectRows(db.$client, warmBrowsers, "1");
}

export function findWarmByContainer(db: Db, containerId: string): WarmRow | undefined {
  return db.select().from(warmBrowsers).where(eq(warmBrowsers.containerId, containerId)).get();
}

export function warmCounts(db: Db, poolId: string): { ready: number; starting: number } {
  const rows = db.$client.query<{ status: string; n: number }, [string]>("SELECT status, count(*) AS n FROM warm_browsers WHERE pool_id = ? GROUP BY status").all(poolId);
  return { ready: rows.find((r) => r.status === "ready")?.n ?? 0, starting: rows.find((r) => r.status === "starting")?.n ?? 0 };
}

const CLAIM = `DELETE FROM warm_browsers WHERE id = (
  SELECT w.id FROM warm_browsers w JOIN workers k ON k.id = w.worker_id
  WHERE w.pool_id = ?1 AND w.status = 'ready' AND json_extract(w.config, '$.key') = ?2 AND k.status = 'online'
    AND (k.all_pools = 1 OR EXISTS (SELECT 1 FROM worker_pools p WHERE p.worker_id = k.id AND p.pool_id = ?1))
  ORDER BY w.ready_at LIMIT 1
) RETURNING id, worker_id AS workerId, container_id AS containerId, cdp_endpoint AS cdpEndpoint`;

/**
 * Claims a warm browser for a new session: returns the inserted (running) session row, or null
 * when no matching warm browser is ready. `row` is completed with the worker and container.
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
export function claimWarm(db: Db, poolId: string, key: string, row: NewSessionRow, detail: Record<string, unknown>): SessionRow | null {
  const claim = () =>
    db.transaction(() => {
      const w = db.$client.query(CLAIM).get(poolId, key) as { id: string; workerId: string; containerId: string; cdpEndpoint: string } | null;
      if (!w) return null;
      const inserted = insertReturning(db.$client, sessions, { ...row, workerId: w.workerId, containerId: w.containerId, cdpEndpoint: w.cdpEndpoint, status: "running" });
      appendEvent(db, inserted.id, "starting", { ...detail, worker: w.workerId, warm: w.id });
      appendEvent(db, inserted.id, "running", { startMs: 0, warm: true });
      return inserted;
    });
  const remoteWorkers = listWorkers(db, poolId).some((w) => parseEndpoint(w.endpoint).kind === "ssh");
  return remoteWorkers ? claim() : withoutFsync(db, claim);
}
