// Session rows and their timeline. Every change of state is one transaction that checks the
// state it comes from and appends the event, so two racing stops cannot both "win" and the
// timeline never disagrees with the row.
import { and, desc, eq, inArray, lt, notInArray, sql, type SQL } from "drizzle-orm";
import type { Db } from "../../db/client";
import { SESSION_TERMINAL, sessionEvents, sessions, type SessionStatus } from "../../db/schema";

export type SessionRow = typeof sessions.$inferSelect;
export type NewSessionRow = typeof sessions.$inferInsert;
export type SessionEventRow = typeof sessionEvents.$inferSelect;

export const LIVE_STATUSES: SessionStatus[] = ["queued", "starting", "running", "paused", "stopping"];

export function isTerminal(status: SessionStatus): boolean {
  return (SESSION_TERMINAL as readonly string[]).includes(status);
}

export function insertSession(db: Db, row: NewSessionRow, event: { type: string; detail?: Record<string, unknown> }): SessionRow {
  return db.transaction((tx) => {
    const inserted = tx.insert(sessions).values(row).returning().get();
    tx.insert(sessionEvents).values({ sessionId: inserted.id, type: event.type, detail: event.detail }).run();
    return inserted;
  });
}

/**
 * Moves a session to `to` only if it is currently in one of `from`; appends the event in the
 * same transaction. Returns the updated row, or null when the session was not in `from`.
 */
export function transition(
  db: Db,
  id: string,
  from: SessionStatus[],
  to: SessionStatus,
  fields: Partial<NewSessionRow>,
  event: { type: string; detail?: Record<string, unknown> },
): SessionRow | null {
  return db.transaction((tx) => {
    const updated = tx
      .update(sessions)
      .set({ ...fields, status: to })
      .where(and(eq(sessions.id, id), inArray(sessions.status, from)))
      .returning()
      .get();
    if (!updated) return null;
    tx.insert(sessionEvents).values({ sessionId: id, type: event.type, detail: event.detail }).run();
    return updated;
  });
}

export function appendEvent(db: Db, sessionId: string, type: string, detail?: Record<string, unknown>): void {
  db.insert(sessionEvents).values({ sessionId, type, detail }).run();
}

export function getSession(db: Db, id: string): SessionRow | undefined {
  return db.select().from(sessions).where(eq(sessions.id, id)).get();
}

export function listEvents(db: Db, sessionId: string): SessionEventRow[] {
  return db.select().from(sessionEvents).where(eq(sessionEvents.sessionId, sessionId)).orderBy(sessionEvents.id).all();
}

export interface ListFilter {
  status?: SessionStatus;
  poolId?: string;
  ownerId?: string;
  limit: number;
  /** Opaque cursor: the createdAt:id of the last row of the previous page. */
  cursor?: { createdAt: number; id: string };
}

/** Newest first, keyset-paginated on (created_at, id). */
export function listSessions(db: Db, f: ListFilter): SessionRow[] {
  const where: SQL[] = [];
  if (f.status) where.push(eq(sessions.status, f.status));
  if (f.poolId) where.push(eq(sessions.poolId, f.poolId));
  if (f.ownerId) where.push(eq(sessions.ownerId, f.ownerId));
  if (f.cursor)
    where.push(
      sql`(${sessions.createdAt} < ${f.cursor.createdAt} OR (${sessions.createdAt} = ${f.cursor.createdAt} AND ${sessions.id} < ${f.cursor.id}))`,
    );
  return db
    .select()
    .from(sessions)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(sessions.createdAt), desc(sessions.id))
    .limit(f.limit)
    .all();
}

export function liveSessions(db: Db, workerId?: string): SessionRow[] {
  const where = [inArray(sessions.status, LIVE_STATUSES)];
  if (workerId) where.push(eq(sessions.workerId, workerId));
  return db.select().from(sessions).where(and(...where)).all();
}

export function findLiveByContainer(db: Db, containerId: string): SessionRow | undefined {
  return db
    .select()
    .from(sessions)
    .where(and(eq(sessions.containerId, containerId), notInArray(sessions.status, [...SESSION_TERMINAL])))
    .get();
}

export function expiredBefore(db: Db, now: number): SessionRow[] {
  return db
    .select()
    .from(sessions)
    .where(and(inArray(sessions.status, ["running", "paused"]), lt(sessions.expiresAt, now)))
    .all();
}
