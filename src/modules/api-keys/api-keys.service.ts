// API keys `bg_<id>_<secret>`. The id is public (it is the row's primary key and the shown
// prefix); only SHA-256 of the secret is stored. The secret is 256 random bits, so a fast hash
// is enough — nobody can brute-force 2^256 — while argon2 on every API request would cap the
// API at ~50 requests/s per core. Comparison is constant-time. A key acts with its owner's
// role, or a lower one chosen at creation, and never above the owner's current role.
import { and, desc, eq, isNull, sql } from "drizzle-orm";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { apiKeys, type Role } from "../../db/schema";
import { newApiKey, parseApiKey } from "../../security/tokens";
import { safeEqual, sha256Hex } from "../../lib/ids";
import { BadRequest, Forbidden, NotFound } from "../../lib/errors";
import { authState, clockOf, MINUTE } from "../auth/auth.state";
import { lowerRole, roleRank } from "../users/users.service";

/** Verified keys are trusted for this long before the database is asked again. */
const CACHE_TTL_MS = 5_000;
const CACHE_MAX = 10_000;
const LAST_USED_EVERY_MS = MINUTE;

export type ApiKeyRow = typeof apiKeys.$inferSelect;

interface KeyJoinRow {
  userId: string;
  role: Role;
  secretHash: string;
  lastUsedAt: number | null;
  expiresAt: number | null;
  revokedAt: number | null;
  email: string;
  userRole: Role;
  disabledAt: number | null;
}

const KEY_LOOKUP = `SELECT k.user_id AS userId, k.role, k.secret_hash AS secretHash, k.last_used_at AS lastUsedAt, k.expires_at AS expiresAt,
  k.revoked_at AS revokedAt, u.email, u.role AS userRole, u.disabled_at AS disabledAt
  FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = ?`;

export interface PublicApiKey {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  userId: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toPublicApiKey(k: ApiKeyRow): PublicApiKey {
  return { id: k.id, name: k.name, prefix: k.prefix, role: k.role, userId: k.userId, createdAt: iso(k.createdAt)!, lastUsedAt: iso(k.lastUsedAt), expiresAt: iso(k.expiresAt) };
}

/** Creates a key for `owner`; returns the row and the full key, which is never shown again. */
export function createApiKey(
  deps: AppDeps,
  owner: { userId: string; role: Role },
  input: { name: string; role?: Role; expiresAt?: number | null },
): { row: ApiKeyRow; key: string } {
  const name = input.name.trim();
  if (!name) throw new BadRequest("Give the key a name, e.g. the script that uses it.", "invalid_name");
  const role = input.role ?? owner.role;
  if (roleRank(role) > roleRank(owner.role)) throw new Forbidden(`A ${owner.role} cannot create a key with role ${role}.`);
  const now = clockOf(deps)();
  if (input.expiresAt != null && input.expiresAt <= now) throw new BadRequest("expiresAt must be in the future.", "invalid_expiry");
  const k = newApiKey();
  const row: ApiKeyRow = {
    id: k.id,
    userId: owner.userId,
    name,
    role,
    secretHash: sha256Hex(k.secret),
    prefix: k.prefix,
    createdAt: now,
    lastUsedAt: null,
    expiresAt: input.expiresAt ?? null,
    revokedAt: null,
  };
  deps.db.insert(apiKeys).values(row).run();
  return { row, key: k.key };
}

/** Live keys (not revoked), newest first; all users' keys when `userId` is omitted. */
export function listApiKeys(deps: Pick<AppDeps, "db">, userId?: string): ApiKeyRow[] {
  return deps.db
    .select()
    .from(apiKeys)
    .where(userId ? and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)) : isNull(apiKeys.revokedAt))
    .orderBy(desc(apiKeys.createdAt), desc(sql`rowid`))
    .all();
}

/** Revokes a key; `ownerId` restricts it to that user's keys (others look not found). */
export function revokeApiKey(deps: AppDeps, id: string, ownerId?: string): ApiKeyRow {
  const k = deps.db.select().from(apiKeys).where(eq(apiKeys.id, id)).get();
  if (!k || k.revokedAt !== null || (ownerId !== undefined && k.userId !== ownerId)) throw new NotFound("API key");
  deps.db.update(apiKeys).set({ revokedAt: clockOf(deps)() }).where(eq(apiKeys.id, id)).run();
  authState(deps).keyCache.delete(id);
  return k;
}

/**
 * The actor behind a full API key, or null when it is unknown, revoked, expired or its owner
 * is disabled. Synchronous and cached: a hit costs one SHA-256 and a map lookup.
 */
export function verifyApiKey(deps: AppDeps, token: string, via: Actor["via"] = "bearer"): Actor | null {
  const parsed = parseApiKey(token);
  if (!parsed) return null;
  const state = authState(deps);
  const secretHash = sha256Hex(parsed.secret);

  const staticHash = state.staticKeys.get(parsed.id);
  if (staticHash !== undefined) {
    return safeEqual(staticHash, secretHash) ? { type: "static_key", userId: null, role: "admin", keyId: parsed.id, via } : null;
  }

  const now = state.now();
  let entry = state.keyCache.get(parsed.id);
  if (!entry || entry.cachedUntil <= now) {
    state.keyCache.delete(parsed.id);
    // Raw prepared SQL: drizzle's query builder costs more than everything else here together.
    const row = deps.db.$client.query<KeyJoinRow, [string]>(KEY_LOOKUP).get(parsed.id);
    if (!row || row.revokedAt !== null || row.disabledAt !== null) return null;
    if (!safeEqual(row.secretHash, secretHash)) return null;
    entry = {
      secretHash: row.secretHash,
      actor: { type: "api_key", userId: row.userId, email: row.email, role: lowerRole(row.role, row.userRole), keyId: parsed.id, via },
      expiresAt: row.expiresAt,
      lastUsedAt: row.lastUsedAt ?? 0,
      cachedUntil: now + CACHE_TTL_MS,
    };
    if (state.keyCache.size >= CACHE_MAX) state.keyCache.delete(state.keyCache.keys().next().value!);
    state.keyCache.set(parsed.id, entry);
  } else if (!safeEqual(entry.secretHash, secretHash)) return null;

  if (entry.expiresAt !== null && entry.expiresAt <= now) return null;
  if (now - entry.lastUsedAt >= LAST_USED_EVERY_MS) {
    entry.lastUsedAt = now;
    deps.db.$client.query("UPDATE api_keys SET last_used_at = ? WHERE id = ?").run(now, parsed.id);
  }
  return entry.actor.via === via ? entry.actor : { ...entry.actor, via };
}

/** For the CDP gateway's `/connect?token=<api key>`: the key's actor or null. */
export async function authenticateApiKey(deps: AppDeps, token: string): Promise<Actor | null> {
  return verifyApiKey(deps, token, "query");
}
