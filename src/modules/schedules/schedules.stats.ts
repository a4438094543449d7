// Per-schedule statistics, read from the runs table (read-only SQL, one query per figure for all
// schedules asked about): how many runs, how many are active, the success rate, p50/p95 duration
// of finished runs, the last failure and its reason, and the last runs for the chart.
// Success rate = succeeded / (succeeded + failed + timed_out): a cancelled run was stopped by a
// person, not failed by its code, so it counts for neither side.
import type { Db } from "../../db/client";

/** Percentiles are taken over this many latest finished runs per schedule. */
export const DURATION_WINDOW = 500;
export const RECENT_RUNS = 20;

export interface RecentRun {
  id: string;
  status: string;
  durationMs: number | null;
  createdAt: number;
}

export interface ScheduleStats {
  runs: number;
  /** Queued or running now. */
  active: number;
  succeeded: number;
  /** failed + timed_out. */
  failed: number;
  cancelled: number;
  /** 0..1, null before the first run that succeeded or failed. */
  successRate: number | null;
  p50DurationMs: number | null;
  p95DurationMs: number | null;
  lastFailure: { runId: string; status: string; at: number; error: string | null } | null;
  /** Newest first. */
  recentRuns: RecentRun[];
}

const TERMINAL = "('succeeded','failed','timed_out','cancelled')";
const DURATION = "coalesce(duration_ms, ended_at - started_at)";
/** The ids go in as one JSON array parameter, however many there are. */
const IN_IDS = "schedule_id IN (SELECT value FROM json_each(?))";

/** Nearest-rank percentile of ascending values. */
export function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

export function emptyStats(): ScheduleStats {
  return { runs: 0, active: 0, succeeded: 0, failed: 0, cancelled: 0, successRate: null, p50DurationMs: null, p95DurationMs: null, lastFailure: null, recentRuns: [] };
}

export function scheduleStats(db: Db, scheduleIds: string[]): Map<string, ScheduleStats> {
  const out = new Map(scheduleIds.map((id) => [id, emptyStats()]));
  if (!scheduleIds.length) return out;
  const c = db.$client;
  const ids = JSON.stringify(scheduleIds);

  const counts = c
    .query(
      `SELECT schedule_id AS id, count(*) AS runs, sum(status IN ('queued','running')) AS active, sum(status = 'succeeded') AS succeeded,
              sum(status IN ('failed','timed_out')) AS failed, sum(status = 'cancelled') AS cancelled
         FROM runs WHERE ${IN_IDS} GROUP BY schedule_id`,
    )
    .all(ids) as { id: string; runs: number; active: number; succeeded: number; failed: number; cancelled: number }[];
  for (const r of counts) {
    const s = out.get(r.id)!;
    Object.assign(s, { runs: r.runs, active: r.active, succeeded: r.succeeded, failed: r.failed, cancelled: r.cancelled });
    s.successRate = r.succeeded + r.failed ? r.succeeded / (r.succeeded + r.failed) : null;
  }

  const durations = c
    .query(
      `SELECT id, d FROM (SELECT schedule_id AS id, ${DURATION} AS d, row_number() OVER (PARTITION BY schedule_id ORDER BY created_at DESC) AS n
         FROM runs WHERE ${IN_IDS} AND status IN ${TERMINAL} AND ${DURATION} IS NOT NULL) WHERE n <= ${DURATION_WINDOW} ORDER BY id, d`,
    )
    .all(ids) as { id: string; d: number }[];
  const byId = new Map<string, number[]>();
  for (const r of durations) (byId.get(r.id) ?? byId.set(r.id, []).get(r.id)!).push(r.d);
  for (const [id, ds] of byId) Object.assign(out.get(id)!, { p50DurationMs: percentile(ds, 0.5), p95DurationMs: percentile(ds, 0.95) });

  const failures = c
    .query(
      `SELECT sid, id, status, at, error FROM (SELECT schedule_id AS sid, id, status, coalesce(ended_at, created_at) AS at, error,
              row_number() OVER (PARTITION BY schedule_id ORDER BY coalesce(ended_at, created_at) DESC, id DESC) AS n
         FROM runs WHERE ${IN_IDS} AND status IN ('failed','timed_out')) WHERE n = 1`,
    )
    .all(ids) as { sid: string; id: string; status: string; at: number; error: string | null }[];
  for (const r of failures) out.get(r.sid)!.lastFailure = { runId: r.id, status: r.status, at: r.at, error: r.error };

  const recent = c
    .query(
      `SELECT sid, id, status, d, created_at FROM (SELECT schedule_id AS sid, id, status, ${DURATION} AS d, created_at,
              row_number() OVER (PARTITION BY schedule_id ORDER BY created_at DESC, id DESC) AS n
         FROM runs WHERE ${IN_IDS}) WHERE n <= ${RECENT_RUNS} ORDER BY sid, n`,
    )
    .all(ids) as { sid: string; id: string; status: string; d: number | null; created_at: number }[];
  for (const r of recent) out.get(r.sid)!.recentRuns.push({ id: r.id, status: r.status, durationMs: r.d, createdAt: r.created_at });
  return out;
}
