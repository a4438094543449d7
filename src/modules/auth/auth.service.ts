// Signing in and out, first-run setup and password changes. Brute force is throttled per
// address and per account+address, and only slowed per account (see auth.state.ts), so an
// attacker cannot lock an account's owner out; a known device (device-cookie.ts) signs in
// regardless. While a limit blocks, the password is not even checked, so the block cannot be
// used as an oracle.
import { eq } from "drizzle-orm";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { users } from "../../db/schema";
import { verifyAgainstDummy, verifyPassword, PASSWORD_MAX_LENGTH } from "../../security/passwords";
import { BadRequest, DomainError, Forbidden, Unauthorized } from "../../lib/errors";
import { accountAddressKey, authState } from "./auth.state";
import { issueDeviceCookie, verifyDeviceCookie } from "./device-cookie";
import { createAuthSession, deleteUserSessions, type UserRow } from "./auth-sessions.service";
import { audit } from "../audit/audit.service";
import { createUser, findUserByEmail, hasAnyUser, setPassword } from "../users/users.service";
import { announceSetupToken, ensureSetupToken, retireSetupToken, verifySetupToken } from "./setup-token";

export interface RequestMeta {
  ip: string;
  userAgent?: string | null;
}

export interface LoginMeta extends RequestMeta {
  /** The bg_device cookie the browser sent, if any. */
  deviceCookie?: string | null;
}

export class LoginFailed extends Unauthorized {
  constructor() {
    super("Email or password is wrong.");
  }
}

export interface LoginResult {
  user: UserRow;
  token: string;
  expiresAt: number;
  /** Set-Cookie value of a fresh device cookie for this account. */
  deviceCookie: string;
}

/** Checks the password and opens a session; throws LoginFailed or TooManyRequests. */
export async function login(deps: AppDeps, email: string, password: string, meta: LoginMeta): Promise<LoginResult> {
  const state = authState(deps);
  const account = email.trim().toLowerCase().slice(0, 320);
  const pair = accountAddressKey(account, meta.ip);
  const user = password.length <= PASSWORD_MAX_LENGTH ? findUserByEmail(deps, account) : undefined;
  const known = user ? verifyDeviceCookie(deps, meta.deviceCookie, user.id) : null;
  const device = known && state.loginByDevice.retryAfterSec(known.nonce) === 0 ? known : null;
  if (!device) {
    state.loginByAddress.check(meta.ip);
    state.loginByAccountAddress.check(pair);
    await state.delay(state.loginDelayByAccount.delayMs(account));
  }
  const ok = user && user.disabledAt === null ? await verifyPassword(password, user.passwordHash) : await verifyAgainstDummy(password.slice(0, PASSWORD_MAX_LENGTH));
  if (!ok || !user) {
    if (device) state.loginByDevice.fail(device.nonce);
    else {
      state.loginByAddress.fail(meta.ip);
      state.loginByAccountAddress.fail(pair);
    }
    state.loginDelayByAccount.fail(account);
    audit(deps, null, "auth.login_failed", user?.id ?? null, account.includes("@") ? { email: account.slice(0, 254) } : null, meta.ip);
    throw new LoginFailed();
  }
  state.loginByAccountAddress.reset(pair);
  if (device) state.loginByDevice.reset(device.nonce);
  const s = createAuthSession(deps, user.id, meta);
  audit(deps, { type: "user", userId: user.id, email: user.email, role: user.role, via: "cookie" }, "auth.login", user.id, device ? { knownDevice: true } : null, meta.ip);
  return { user, ...s, deviceCookie: issueDeviceCookie(deps, user.id) };
}

export class SetupTokenRefused extends DomainError {
  constructor() {
    super("setup_token", "The setup token is missing or wrong. Use the link from the server's log or install.sh, or the token in the file setup-token in the data directory.", 403);
  }
}

/**
 * Creates the first admin while no user exists, for the holder of the setup token
 * (setup-token.ts); then opens a session for them and retires the token. Wrong tokens count
 * against the address like failed sign-ins.
 */
export async function setupAdmin(deps: AppDeps, setupToken: string | undefined, email: string, password: string, meta: RequestMeta): Promise<{ user: UserRow; token: string; expiresAt: number }> {
  const state = authState(deps);
  state.loginByAddress.check(meta.ip);
  if (!verifySetupToken(deps.config, setupToken)) {
    state.loginByAddress.fail(meta.ip);
    audit(deps, { type: "anonymous" }, "setup.token_refused", null, null, meta.ip);
    throw new SetupTokenRefused();
  }
  const user = await createUser(deps, { email, password, role: "admin" }, { onlyIfEmpty: true });
  retireSetupToken(deps.config);
  audit(deps, { type: "anonymous" }, "setup.admin_created", user.id, { email: user.email }, meta.ip);
  const s = createAuthSession(deps, user.id, meta);
  return { user, ...s };
}

/** Needs the current password (counted like a login); ends the user's other sessions. */
export async function changePassword(deps: AppDeps, actor: Actor, currentPassword: string, newPassword: string, meta: RequestMeta): Promise<void> {
  if (!actor.userId) throw new Forbidden("Static keys have no password to change.");
  const state = authState(deps);
  const user = deps.db.select().from(users).where(eq(users.id, actor.userId)).get();
  if (!user) throw new Unauthorized();
  const pair = accountAddressKey(user.email, meta.ip);
  state.loginByAccountAddress.check(pair);
  if (currentPassword.length > PASSWORD_MAX_LENGTH || !(await verifyPassword(currentPassword, user.passwordHash))) {
    state.loginByAccountAddress.fail(pair);
    state.loginByAddress.fail(meta.ip);
    audit(deps, actor, "auth.password_change_failed", user.id, null, meta.ip);
    throw new BadRequest("The current password is wrong.", "wrong_password");
  }
  if (currentPassword === newPassword) throw new BadRequest("Choose a new password different from the current one.", "weak_password");
  await setPassword(deps, user.id, newPassword);
  deleteUserSessions(deps, user.id, actor.authSessionId);
  audit(deps, actor, "auth.password_changed", user.id, null, meta.ip);
}

/**
 * Unattended installs: BROWSERGRID_ADMIN_EMAIL + BROWSERGRID_ADMIN_PASSWORD create the first
 * admin when no user exists, and are ignored afterwards (changing them later changes nothing).
 */
export async function bootstrapAdminFromEnv(deps: AppDeps): Promise<"created" | "ignored" | "absent"> {
  const { adminEmail, adminPassword } = deps.config;
  if (hasAnyUser(deps)) {
    authState(deps).hasUsers = true;
    retireSetupToken(deps.config);
    return adminEmail ? "ignored" : "absent";
  }
  if (!adminEmail || !adminPassword) {
    const { token, path } = ensureSetupToken(deps.config);
    announceSetupToken(deps, token, path);
    return "absent";
  }
  try {
    const user = await createUser(deps, { email: adminEmail, password: adminPassword, role: "admin" }, { onlyIfEmpty: true });
    retireSetupToken(deps.config);
    audit(deps, { type: "system" }, "setup.admin_created", user.id, { email: user.email, source: "env" }, null);
    deps.log.info("created the first admin from BROWSERGRID_ADMIN_EMAIL; the variables are ignored from now on", { email: user.email });
    return "created";
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(`BROWSERGRID_ADMIN_EMAIL/BROWSERGRID_ADMIN_PASSWORD: ${msg}`);
  }
}
