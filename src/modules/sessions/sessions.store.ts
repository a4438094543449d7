// Session rows and their timeline. Every change of state is one transaction that checks the
// state it comes from and appends the event, so two racing stops cannot both "win" and the
// timeline never disagrees with the row.
import { and, eq, inArray, lt, notInArray } from "drizzle-orm";
import { withoutFsync, type Db } from "../../db/client";
import { dataGeneration, GenerationCache, insertReturning, rowMapper, updateReturning } from "../../db/fast-rows";
import { SESSION_TERMINAL, sessionEvents, sessions, type SessionStatus } from "../../db/schema";

export type SessionRow = typeof sessions.$inferSelect;
export type NewSessionRow = typeof sessions.$inferInsert;
export type SessionEventRow = typeof sessionEvents.$inferSelect;

export const LIVE_STATUSES: SessionStatus[] = ["queued", "starting", "running", "paused", "stopping"];

export function isTerminal(status: SessionStatus): boolean {
  return (SESSION_TERMINAL as readonly string[]).includes(status);
}

/** Being stopped or already over: no client may connect, nothing is left to stop. */
export function isEndingOrEnded(status: SessionStatus): boolean {
  return status === "stopping" || isTerminal(status);
}

export function insertSession(db: Db, row: NewSessionRow, event: { type: string; detail?: Record<string, unknown> }): SessionRow {
  return db.transaction(() => {
    const inserted = insertReturning(db.$client, sessions, row);
    appendEvent(db, inserted.id, event.type, event.detail);
    return inserted;
  });
}

/**
 * The session that takes over a claimed warm browser: inserted `running` on the warm browser's
 * worker and container, with its `starting` and `running` events. Called inside the scheduler's
 * claim transaction (scheduler.ts claimWarm): if it throws, the claim is undone with it.
 */
export function insertClaimedSession(
  db: Db,
  row: NewSessionRow,
  warm: { id: string; workerId: string; containerId: string; cdpEndpoint: string },
  detail: Record<string, unknown>,
): SessionRow {
  return db.transaction(() => {
    const inserted = insertReturning(db.$client, sessions, { ...row, workerId: warm.workerId, containerId: warm.containerId, cdpEndpoint: warm.cdpEndpoint, status: "running" });
    appendEvent(db, inserted.id, "starting", { ...detail, worker: warm.workerId, warm: warm.id });
    appendEvent(db, inserted.id, "running", { startMs: 0, warm: true });
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
  return db.transaction(() => {
    const updated = updateReturning(db.$client, sessions, { ...fields, status: to }, `id = ? AND status IN (${from.map(() => "?").join(", ")})`, [id, ...from]);
    if (!updated) return null;
    appendEvent(db, id, event.type, event.detail);
    return updated;
  });
}

export function appendEvent(db: Db, sessionId: string, type: string, detail?: Record<string, unknown>): void {
  // A cached prepared statement: the query builder re-prepares on every call.
  db.$client.query("INSERT INTO session_events (session_id, type, detail) VALUES (?, ?, ?)").run(sessionId, type, detail === undefined ? null : JSON.stringify(detail));
}

/**
 * appendEvent for timeline notes written on the CDP path (a client connected or left, downloads
 * allowed): committed without waiting for the disk (withoutFsync), so a client's connect never
 * waits behind an fsync. Losing one in a power cut is harmless; state changes use appendEvent.
 */
export function appendNote(db: Db, sessionId: string, type: string, detail?: Record<string, unknown>): void {
  withoutFsync(db, () => appendEvent(db, sessionId, type, detail));
}

// getSession and listSessions serve every API read and the gateway's connect check: cached
// prepared statements (src/db/fast-rows.ts), not the query builder.
// Reads are also remembered until the next write to the database (GenerationCache): a page of
// 50 rows costs ≈ 300 µs to read and map, asking whether anything changed ≈ 2 µs. Rows come
// back frozen and shared: copy ({ ...row }) to change one.
const readCaches = new WeakMap<Db, { one: GenerationCache<SessionRow>; lists: GenerationCache<SessionRow> }>();

function cachesOf(db: Db) {
  let c = readCaches.get(db);
  if (!c) readCaches.set(db, (c = { one: new GenerationCache<SessionRow>(4096), lists: new GenerationCache<SessionRow>(256) }));
  return c;
}

export function getSession(db: Db, id: string): SessionRow | undefined {
  const m = rowMapper(sessions);
  return cachesOf(db).one.get(
    id,
    dataGeneration(db.$client),
    () => {
      const v = db.$client.query<unknown[], [string]>(`SELECT ${m.columns} FROM sessions WHERE id = ?`).values(id)[0];
      return v ? [m.map(v)] : [];
    },
    db.$client.inTransaction,
  )[0];
}

export function listEvents(db: Db, sessionId: string): SessionEventRow[] {
  return db.select().from(sessionEvents).where(eq(sessionEvents.sessionId, sessionId)).orderBy(sessionEvents.id).all();
}

export interface ListFilter {
  status?: SessionStatus;
  poolId?: string;
  workerId?: string;
  ownerId?: string;
  limit: number;
  /** Opaque cursor: the createdAt:id of the last row of the previous page. */
  cursor?: { createdAt: number; id: string };
}

/** Newest first, keyset-paginated on (created_at, id). */
export function listSessions(db: Db, f: ListFilter): SessionRow[] {
  const m = rowMapper(sessions);
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (f.status) where.push("status = ?"), params.push(f.status);
  if (f.poolId) where.push("pool_id = ?"), params.push(f.poolId);
  if (f.workerId) where.push("worker_id = ?"), params.push(f.workerId);
  if (f.ownerId) where.push("owner_id = ?"), params.push(f.ownerId);
  if (f.cursor) where.push("(created_at < ? OR (created_at = ? AND id < ?))"), params.push(f.cursor.createdAt, f.cursor.createdAt, f.cursor.id);
  params.push(f.limit);
  // At most 32 distinct SQL texts: bun:sqlite compiles each once and caches it.
  const text = `SELECT ${m.columns} FROM sessions${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, id DESC LIMIT ?`;
  const rows = cachesOf(db).lists.get(
    `${text}\u0000${params.join("\u0000")}`,
    dataGeneration(db.$client),
    () => db.$client.query<unknown[], (string | number)[]>(text).values(...params).map(m.map),
    db.$client.inTransaction,
  );
  return rows.slice();
}

export function liveSessions(db: Db, workerId?: string): SessionRow[] {
  const where = [inArray(sessions.status, LIVE_STATUSES)];
  if (workerId) where.push(eq(sessions.workerId, workerId));
  return db.select().from(sessions).where(and(...where)).all();
}

/** The live session whose connect token has this SHA-256 digest (uses the status index). */
export function findLiveByConnectTokenHash(db: Db, digest: string): SessionRow | undefined {
  return db
    .select()
    .from(sessions)
    .where(and(inArray(sessions.status, LIVE_STATUSES), eq(sessions.connectTokenHash, digest)))
    .get();
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
