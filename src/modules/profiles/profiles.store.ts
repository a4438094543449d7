// Profile rows, their versions and the one-writer lock. Version numbers only grow; the lock
// is a row that counts only while its session is live, so it dies with the session whatever
// way the session ends (stop, crash, a server killed mid-session and restarted).
import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { profileLocks, profiles, profileVersions, SESSION_TERMINAL, sessions } from "../../db/schema";

export type ProfileRow = typeof profiles.$inferSelect;
export type ProfileVersionRow = typeof profileVersions.$inferSelect;

export function getProfile(db: Db, idOrName: string): ProfileRow | undefined {
  return db.select().from(profiles).where(eq(profiles.id, idOrName)).get() ?? db.select().from(profiles).where(eq(profiles.name, idOrName)).get();
}

export function listProfiles(db: Db, ownerId?: string): ProfileRow[] {
  return db
    .select()
    .from(profiles)
    .where(ownerId !== undefined ? eq(profiles.ownerId, ownerId) : undefined)
    .orderBy(asc(profiles.name))
    .all();
}

export function insertProfile(db: Db, row: typeof profiles.$inferInsert): ProfileRow {
  return db.insert(profiles).values(row).returning().get();
}

export function updateProfile(db: Db, id: string, fields: Partial<Pick<ProfileRow, "name" | "description" | "lastUsedAt">>): ProfileRow | undefined {
  return db
    .update(profiles)
    .set({ ...fields, ...(fields.lastUsedAt === undefined ? { updatedAt: Date.now() } : {}) })
    .where(eq(profiles.id, id))
    .returning()
    .get();
}

export function deleteProfile(db: Db, id: string): void {
  db.delete(profiles).where(eq(profiles.id, id)).run();
}

export function listVersions(db: Db, profileId: string): ProfileVersionRow[] {
  return db.select().from(profileVersions).where(eq(profileVersions.profileId, profileId)).orderBy(desc(profileVersions.version)).all();
}

export function getVersion(db: Db, profileId: string, version: number): ProfileVersionRow | undefined {
  return db
    .select()
    .from(profileVersions)
    .where(and(eq(profileVersions.profileId, profileId), eq(profileVersions.version, version)))
    .get();
}

/** Takes the next version number (before the archive is written, so two writers never share one). */
export function reserveVersion(db: Db, profileId: string): number {
  const row = db
    .update(profiles)
    .set({ nextVersion: sql`${profiles.nextVersion} + 1` })
    .where(eq(profiles.id, profileId))
    .returning({ n: profiles.nextVersion })
    .get();
  if (!row) throw new Error(`profile ${profileId} is gone`);
  return row.n - 1;
}

/**
 * Records a stored archive as the profile's current version and returns the versions that fell
 * out of the newest `keep` (their blobs are the caller's to delete). One transaction.
 */
export function commitVersion(db: Db, row: typeof profileVersions.$inferInsert, keep: number): ProfileVersionRow[] {
  return db.transaction((tx) => {
    if (!tx.select({ id: profiles.id }).from(profiles).where(eq(profiles.id, row.profileId)).get()) throw new Error(`profile ${row.profileId} is gone`);
    tx.insert(profileVersions).values(row).run();
    tx.update(profiles).set({ currentVersion: row.version, updatedAt: Date.now() }).where(eq(profiles.id, row.profileId)).run();
    const old = tx
      .select()
      .from(profileVersions)
      .where(eq(profileVersions.profileId, row.profileId))
      .orderBy(desc(profileVersions.version))
      .all()
      .slice(keep);
    for (const v of old) tx.delete(profileVersions).where(and(eq(profileVersions.profileId, v.profileId), eq(profileVersions.version, v.version))).run();
    return old;
  });
}

// ---- locks ---------------------------------------------------------------------------------

const TERMINAL = SESSION_TERMINAL as readonly string[];

/**
 * The session holding the profile, or null. A lock counts while its session is live; a lock
 * whose session row does not exist yet (a create in flight) counts while `pending` says so.
 */
export function lockHolder(db: Db, profileId: string, pending: (sessionId: string) => boolean): string | null {
  const lock = db.select().from(profileLocks).where(eq(profileLocks.profileId, profileId)).get();
  if (!lock) return null;
  const s = db.select({ status: sessions.status }).from(sessions).where(eq(sessions.id, lock.sessionId)).get();
  if (s) return TERMINAL.includes(s.status) ? null : lock.sessionId;
  return pending(lock.sessionId) ? lock.sessionId : null;
}

/** Takes the lock for `sessionId`, replacing a dead one; returns the live holder when refused. */
export function acquireLock(db: Db, profileId: string, sessionId: string, pending: (sessionId: string) => boolean): { ok: true } | { ok: false; holder: string } {
  return db.transaction((tx) => {
    const holder = lockHolder(tx as unknown as Db, profileId, pending);
    if (holder) return { ok: false as const, holder };
    tx.delete(profileLocks).where(eq(profileLocks.profileId, profileId)).run();
    tx.insert(profileLocks).values({ profileId, sessionId, acquiredAt: Date.now() }).run();
    return { ok: true as const };
  });
}

export function releaseLock(db: Db, sessionId: string): void {
  db.delete(profileLocks).where(eq(profileLocks.sessionId, sessionId)).run();
}

export function lockOf(db: Db, sessionId: string): { profileId: string } | undefined {
  return db.select({ profileId: profileLocks.profileId }).from(profileLocks).where(eq(profileLocks.sessionId, sessionId)).get();
}

/** Removes locks whose session ended (or never came to exist and is older than `before`). */
export function sweepDeadLocks(db: Db, before: number): number {
  const r = db.$client
    .query(
      `DELETE FROM profile_locks WHERE session_id IN (SELECT id FROM sessions WHERE status IN (${TERMINAL.map(() => "?").join(",")}))
       OR (acquired_at < ? AND session_id NOT IN (SELECT id FROM sessions))`,
    )
    .run(...TERMINAL, before);
  return r.changes;
}

