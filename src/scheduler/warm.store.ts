// Warm browser rows: the scheduler's own table. A claim is one atomic DELETE … RETURNING of the
// oldest ready warm browser of the pool whose settings match, on an online worker that still
// serves the pool: two concurrent claims can never get the same browser. The session row that
// takes the browser is written by the sessions store in the same transaction (scheduler.ts
// claimWarm), so there is no moment where the container belongs to neither.
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { selectRows } from "../db/fast-rows";
import { warmBrowsers } from "../db/schema";

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

/** A warm browser taken out of the pool by a claim: its row is gone, its browser is the claimer's. */
export interface ClaimedWarm {
  id: string;
  workerId: string;
  poolId: string;
  containerId: string;
  cdpEndpoint: string;
}

/**
 * Deletes and returns the oldest matching ready warm browser, or null when none is ready. Runs
 * inside the caller's transaction (scheduler.ts claimWarm): rolled back, the row is claimable again.
 */
export function takeWarm(db: Db, poolId: string, key: string): ClaimedWarm | null {
  const w = db.$client.query(CLAIM).get(poolId, key) as Omit<ClaimedWarm, "poolId"> | null;
  return w ? { ...w, poolId } : null;
}
