// Accounts and roles. admin: everything, including users; member: sessions, profiles,
// deployments and their own API keys; viewer: read-only. The install always keeps at least
// one enabled admin, so nobody can lock everyone out through the API. A user who is disabled,
// deleted or made a viewer loses their browser sessions too (sessions.owners.ts): they end, and
// their cdpUrl tokens and live links die with them; the user's API keys stop working at once.
import { and, eq, isNull, ne, sql } from "drizzle-orm";
import type { AppDeps } from "../../http/context";
import { users, type Role } from "../../db/schema";
import { hashPassword, passwordProblem } from "../../security/passwords";
import { newId } from "../../lib/ids";
import { BadRequest, Conflict, NotFound } from "../../lib/errors";
import { authState, clockOf } from "../auth/auth.state";
import { deleteUserSessions } from "../auth/auth-sessions.service";
import { endSessionsOfUnfitOwner } from "../sessions/sessions.owners";

export type UserRow = typeof users.$inferSelect;
export const ROLES: readonly Role[] = ["viewer", "member", "admin"];
export const EMAIL_MAX_LENGTH = 254;

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

export function lowerRole(a: Role, b: Role): Role {
  return roleRank(a) <= roleRank(b) ? a : b;
}

export interface PublicUser {
  id: string;
  email: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export function toPublicUser(u: UserRow): PublicUser {
  return {
    id: u.id,
    email: u.email,
    role: u.role,
    disabled: u.disabledAt !== null,
    createdAt: new Date(u.createdAt).toISOString(),
    updatedAt: new Date(u.updatedAt).toISOString(),
  };
}

/** Lower-cased and trimmed; throws a clear 400 when it is not an address. */
export function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length > EMAIL_MAX_LENGTH) throw new BadRequest(`Email is longer than ${EMAIL_MAX_LENGTH} characters.`, "invalid_email");
  if (!/^[^\s@<>"']+@[^\s@<>"']+$/.test(email)) throw new BadRequest("Enter an email address like name@example.com.", "invalid_email");
  return email;
}

export function checkPassword(password: string, email?: string): void {
  const problem = passwordProblem(password, email);
  if (problem) throw new BadRequest(`Password refused: ${problem}`, "weak_password");
}

export function hasAnyUser(deps: Pick<AppDeps, "db">): boolean {
  return deps.db.$client.query("SELECT 1 FROM users LIMIT 1").get() !== null;
}

/** Raw prepared SQL: proxy-header auth calls this on every request. */
export function findUserByEmail(deps: Pick<AppDeps, "db">, email: string): UserRow | undefined {
  return (
    deps.db.$client
      .query<UserRow, [string]>(
        "SELECT id, email, password_hash AS passwordHash, role, created_at AS createdAt, updated_at AS updatedAt, disabled_at AS disabledAt FROM users WHERE email = ?",
      )
      .get(email.trim().toLowerCase()) ?? undefined
  );
}

export function getUser(deps: Pick<AppDeps, "db">, id: string): UserRow {
  const u = deps.db.select().from(users).where(eq(users.id, id)).get();
  if (!u) throw new NotFound("User");
  return u;
}

export function listUsers(deps: Pick<AppDeps, "db">): UserRow[] {
  return deps.db.select().from(users).orderBy(users.createdAt, users.id).all();
}

/** Validates, hashes and inserts. `onlyIfEmpty` makes first-run setup race-free. */
export async function createUser(
  deps: AppDeps,
  input: { email: string; password: string; role: Role },
  opts: { onlyIfEmpty?: boolean } = {},
): Promise<UserRow> {
  const email = normalizeEmail(input.email);
  checkPassword(input.password, email);
  const passwordHash = await hashPassword(input.password);
  const now = clockOf(deps)();
  const row: UserRow = { id: newId("usr"), email, passwordHash, role: input.role, createdAt: now, updatedAt: now, disabledAt: null };
  deps.db.transaction(
    (tx) => {
      if (opts.onlyIfEmpty && count(tx) > 0) throw new Conflict("Setup is already done: sign in instead.", "setup_done");
      if (tx.select({ id: users.id }).from(users).where(eq(users.email, email)).get()) throw new Conflict("A user with this email already exists.", "email_taken");
      tx.insert(users).values(row).run();
    },
    { behavior: "immediate" },
  );
  authState(deps).hasUsers = true;
  return row;
}

type Tx = Pick<AppDeps["db"], "select">;

function count(tx: Tx, where?: ReturnType<typeof and>): number {
  return tx.select({ n: sql<number>`count(*)` }).from(users).where(where).get()!.n;
}

function otherEnabledAdmins(tx: Tx, userId: string): number {
  return count(tx, and(eq(users.role, "admin"), isNull(users.disabledAt), ne(users.id, userId)));
}

/**
 * Role, enabled state or a new password (which ends the user's sign-in sessions). Disabling or
 * demoting to viewer also ends the user's browser sessions; resolves once they have ended.
 */
export async function updateUser(deps: AppDeps, id: string, patch: { role?: Role; disabled?: boolean; password?: string }): Promise<UserRow> {
  const current = getUser(deps, id);
  if (patch.password !== undefined) checkPassword(patch.password, current.email);
  const passwordHash = patch.password !== undefined ? await hashPassword(patch.password) : undefined;
  const now = clockOf(deps)();
  deps.db.transaction(
    (tx) => {
      const u = tx.select().from(users).where(eq(users.id, id)).get();
      if (!u) throw new NotFound("User");
      const losesAdmin = (patch.role !== undefined && patch.role !== "admin") || patch.disabled === true;
      if (u.role === "admin" && u.disabledAt === null && losesAdmin && otherEnabledAdmins(tx, id) === 0)
        throw new Conflict("This is the last admin: make another user admin first.", "last_admin");
      tx.update(users)
        .set({
          ...(patch.role !== undefined ? { role: patch.role } : {}),
          ...(patch.disabled !== undefined ? { disabledAt: patch.disabled ? (u.disabledAt ?? now) : null } : {}),
          ...(passwordHash ? { passwordHash } : {}),
          updatedAt: now,
        })
        .where(eq(users.id, id))
        .run();
    },
    { behavior: "immediate" },
  );
  if (passwordHash || patch.disabled) deleteUserSessions(deps, id);
  authState(deps).keyCache.clear();
  const reason = patch.disabled ? "owner's account disabled" : "owner's role lowered to viewer";
  if (patch.disabled || patch.role === "viewer") await endSessionsOfUnfitOwner(deps, id, reason);
  return getUser(deps, id);
}

/** Deletes the account, its sign-in sessions and API keys, and ends its browser sessions (resolves once ended). */
export async function deleteUser(deps: AppDeps, id: string): Promise<UserRow> {
  const u = deps.db.transaction(
    (tx) => {
      const u = tx.select().from(users).where(eq(users.id, id)).get();
      if (!u) throw new NotFound("User");
      if (u.role === "admin" && u.disabledAt === null && otherEnabledAdmins(tx, id) === 0)
        throw new Conflict("This is the last admin: make another user admin first.", "last_admin");
      tx.delete(users).where(eq(users.id, id)).run(); // sessions and keys go with it (ON DELETE CASCADE)
      return u;
    },
    { behavior: "immediate" },
  );
  authState(deps).keyCache.clear();
  await endSessionsOfUnfitOwner(deps, id, "owner's account deleted");
  return u;
}

export async function setPassword(deps: AppDeps, id: string, password: string): Promise<void> {
  const u = getUser(deps, id);
  checkPassword(password, u.email);
  const passwordHash = await hashPassword(password);
  deps.db.update(users).set({ passwordHash, updatedAt: clockOf(deps)() }).where(eq(users.id, id)).run();
}
