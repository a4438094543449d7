// Rows of `runs` and `run_events`. Status changes go through `transition`, which names the
// statuses it may leave, so two writers (an attempt ending, a cancel) never both win.
import { findDeployment } from "../deployments/deployments.store";
import { and, asc, desc, eq, inArray, lt, or, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { RUN_TERMINAL, runEvents, runs } from "../../db/schema";

export type RunRow = typeof runs.$inferSelect;
export type NewRunRow = typeof runs.$inferInsert;
export type RunStatus = RunRow["status"];
export type RunEventRow = typeof runEvents.$inferSelect;

export const RUN_STATUSES = ["queued", "running", "succeeded", "failed", "timed_out", "cancelled"] as const;

export function isRunTerminal(status: RunStatus): boolean {
  return (RUN_TERMINAL as readonly string[]).includes(status);
}

export function appendRunEvent(db: Db, runId: string, type: string, detail: Record<string, unknown> | null, at: number): void {
  db.insert(runEvents).values({ runId, type, detail, at }).run();
}

export function insertRun(db: Db, row: NewRunRow, at: number): RunRow {
  return db.transaction((tx) => {
    const r = tx.insert(runs).values(row).returning().get();
    tx.insert(runEvents).values({ runId: r.id, type: "queued", detail: { trigger: r.trigger, version: r.version }, at }).run();
    return r;
  });
}

export function getRun(db: Db, id: string): RunRow | undefined {
  return db.select().from(runs).where(eq(runs.id, id)).get();
}

/**
 * Moves a run from one of `from` to `to` with `fields`, and records `event`, in one
 * transaction; undefined when the run was not in one of `from` (someone else moved it).
 */
export function transitionRun(db: Db, id: string, from: readonly RunStatus[], to: RunStatus, fields: Partial<NewRunRow>, event: { type: string; detail?: Record<string, unknown> } | null, at: number): RunRow | undefined {
  return db.transaction((tx) => {
    const r = tx
      .update(runs)
      .set({ ...fields, status: to })
      .where(and(eq(runs.id, id), inArray(runs.status, [...from])))
      .returning()
      .get();
    if (r && event) tx.insert(runEvents).values({ runId: id, type: event.type, detail: event.detail ?? null, at }).run();
    return r;
  });
}

/** Sets fields of a run that is in `status` (no status change); false when it is not. */
export function updateRunIn(db: Db, id: string, status: RunStatus, fields: Partial<NewRunRow>): boolean {
  return db.update(runs).set(fields).where(and(eq(runs.id, id), eq(runs.status, status))).returning({ id: runs.id }).all().length > 0;
}

/** Queued runs in FIFO order: by insertion (rowid), so runs queued in the same millisecond keep their order. */
export function queuedRuns(db: Db): RunRow[] {
  return db.select().from(runs).where(eq(runs.status, "queued")).orderBy(asc(sql`rowid`)).all();
}

export function runningRuns(db: Db): RunRow[] {
  return db.select().from(runs).where(eq(runs.status, "running")).all();
}

/** Runs of a schedule that are queued or running. */
export function activeCountOfSchedule(db: Db, scheduleId: string): number {
  return (
    db
      .select({ n: sql<number>`count(*)` })
      .from(runs)
      .where(and(eq(runs.scheduleId, scheduleId), inArray(runs.status, ["queued", "running"])))
      .get()?.n ?? 0
  );
}

export function listRunEvents(db: Db, runId: string): RunEventRow[] {
  return db.select().from(runEvents).where(eq(runEvents.runId, runId)).orderBy(asc(runEvents.id)).all();
}

export interface RunListFilter {
  deploymentId?: string;
  status?: RunStatus;
  limit: number;
  /** The last row of the previous page (newest first). */
  cursor?: { createdAt: number; id: string };
}

/** Newest first. */
export function listRuns(db: Db, f: RunListFilter): RunRow[] {
  const conds = [];
  if (f.deploymentId) conds.push(eq(runs.deploymentId, f.deploymentId));
  if (f.status) conds.push(eq(runs.status, f.status));
  if (f.cursor) conds.push(or(lt(runs.createdAt, f.cursor.createdAt), and(eq(runs.createdAt, f.cursor.createdAt), lt(runs.id, f.cursor.id))));
  return db
    .select()
    .from(runs)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(runs.createdAt), desc(runs.id))
    .limit(f.limit)
    .all();
}

/** Deployment names by id (for answers and pages): the deployments store's lookup. */
export function deploymentName(db: Db, id: string): string | undefined {
  return findDeployment(db, id)?.name;
}

export function deploymentIdByName(db: Db, name: string): string | undefined {
  return findDeployment(db, name)?.id;
}

/** Per deployment: its latest run, and the share of finished runs that succeeded (cancelled runs count for neither side). */
export interface DeploymentRunStats {
  last: { id: string; status: RunStatus; createdAt: number } | null;
  finished: number;
  succeeded: number;
}

/** Run statistics of every deployment that has runs, in two indexed reads. */
export function deploymentRunStats(db: Db): Map<string, DeploymentRunStats> {
  const out = new Map<string, DeploymentRunStats>();
  const counts = db.$client
    .query<{ deployment_id: string; finished: number; succeeded: number }, []>(
      "SELECT deployment_id, SUM(status IN ('succeeded','failed','timed_out')) AS finished, SUM(status = 'succeeded') AS succeeded FROM runs GROUP BY deployment_id",
    )
    .all();
  for (const c of counts) out.set(c.deployment_id, { last: null, finished: c.finished, succeeded: c.succeeded });
  const latest = db.$client
    .query<{ deployment_id: string; id: string; status: RunStatus; created_at: number }, []>(
      "SELECT r.deployment_id, r.id, r.status, r.created_at FROM runs r WHERE r.rowid = (SELECT r2.rowid FROM runs r2 WHERE r2.deployment_id = r.deployment_id ORDER BY r2.created_at DESC, r2.rowid DESC LIMIT 1)",
    )
    .all();
  for (const l of latest) {
    const s = out.get(l.deployment_id);
    if (s) s.last = { id: l.id, status: l.status, createdAt: l.created_at };
  }
  return out;
}
