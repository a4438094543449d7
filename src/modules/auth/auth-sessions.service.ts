// UI sign-in sessions, as Lucia's author now recommends instead of the library: a random
// 256-bit token in an HttpOnly cookie, only its SHA-256 in the database (a stolen database
// holds no usable session), a sliding 30-day expiry renewed once half of it is used, and an
// idle timeout. Writes are coalesced to at most one a minute per session to keep SQLite quiet.
import { and, eq, ne } from "drizzle-orm";
import type { AppDeps } from "../../http/context";
import type { Config } from "../../config";
import { authSessions, users } from "../../db/schema";
import { hashToken, newSessionToken, SESSION_TOKEN_RE } from "../../security/tokens";
import { clockOf, MINUTE } from "./auth.state";

export const SESSION_COOKIE = "bg_session";
export const SESSION_TTL_MS = 30 * 24 * 60 * MINUTE;
export const SESSION_IDLE_MS = 7 * 24 * 60 * MINUTE;
const TOUCH_EVERY_MS = MINUTE;

export type UserRow = typeof users.$inferSelect;

interface SessionJoinRow {
  expiresAt: number;
  lastSeenAt: number;
  userId: string;
  email: string;
  passwordHash: string;
  role: UserRow["role"];
  createdAt: number;
  updatedAt: number;
  disabledAt: number | null;
}

const SESSION_LOOKUP = `SELECT s.expires_at AS expiresAt, s.last_seen_at AS lastSeenAt, u.id AS userId, u.email, u.password_hash AS passwordHash,
  u.role, u.created_at AS createdAt, u.updated_at AS updatedAt, u.disabled_at AS disabledAt
  FROM auth_sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`;

export interface ValidSession {
  sessionId: string;
  user: UserRow;
  expiresAt: number;
  /** True when the expiry moved: the cookie must be sent again with the new Max-Age. */
  renewed: boolean;
}

export function createAuthSession(deps: AppDeps, userId: string, meta: { ip?: string; userAgent?: string | null } = {}): { token: string; expiresAt: number } {
  const token = newSessionToken();
  const now = clockOf(deps)();
  const expiresAt = now + SESSION_TTL_MS;
  deps.db
    .insert(authSessions)
    .values({ id: hashToken(token), userId, createdAt: now, expiresAt, lastSeenAt: now, ip: meta.ip ?? null, userAgent: meta.userAgent?.slice(0, 256) ?? null })
    .run();
  return { token, expiresAt };
}

/** The session and its user, or null (unknown, expired, idle too long, user disabled). */
export function validateAuthSession(deps: AppDeps, token: string): ValidSession | null {
  if (!SESSION_TOKEN_RE.test(token)) return null;
  const id = hashToken(token);
  // Raw prepared SQL: this runs on every cookie request, and drizzle's builder costs ~170 µs here.
  const sqlite = deps.db.$client;
  const s = sqlite.query<SessionJoinRow, [string]>(SESSION_LOOKUP).get(id);
  if (!s) return null;
  const now = clockOf(deps)();
  if (now >= s.expiresAt || now - s.lastSeenAt >= SESSION_IDLE_MS || s.disabledAt !== null) {
    sqlite.query("DELETE FROM auth_sessions WHERE id = ?").run(id);
    return null;
  }
  const renew = s.expiresAt - now < SESSION_TTL_MS / 2;
  const expiresAt = renew ? now + SESSION_TTL_MS : s.expiresAt;
  if (renew || now - s.lastSeenAt >= TOUCH_EVERY_MS) sqlite.query("UPDATE auth_sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?").run(now, expiresAt, id);
  const user: UserRow = { id: s.userId, email: s.email, passwordHash: s.passwordHash, role: s.role, createdAt: s.createdAt, updatedAt: s.updatedAt, disabledAt: s.disabledAt };
  return { sessionId: id, user, expiresAt, renewed: renew };
}

export function deleteAuthSession(deps: Pick<AppDeps, "db">, sessionId: string): void {
  deps.db.delete(authSessions).where(eq(authSessions.id, sessionId)).run();
}

/** Ends every session of a user, except `keepSessionId` (the one changing the password). */
export function deleteUserSessions(deps: Pick<AppDeps, "db">, userId: string, keepSessionId?: string): void {
  deps.db
    .delete(authSessions)
    .where(keepSessionId ? and(eq(authSessions.userId, userId), ne(authSessions.id, keepSessionId)) : eq(authSessions.userId, userId))
    .run();
}

function secure(config: Readonly<Config>): string {
  return config.publicUrl.startsWith("https:") ? "; Secure" : "";
}

export function sessionCookie(config: Readonly<Config>, token: string, expiresAt: number, now: number): string {
  const maxAge = Math.max(0, Math.floor((expiresAt - now) / 1000));
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure(config)}`;
}

export function clearSessionCookie(config: Readonly<Config>): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secure(config)}`;
}

/** The bg_session value from a Cookie header, without parsing every cookie. */
export function readSessionCookie(cookieHeader: string | null): string | null {
  if (!cookieHeader) return null;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return null;
}
