// Device cookies (OWASP "Slow brute force / device cookies"): after a successful sign-in the
// browser gets a cookie naming the account, signed with the install key (HMAC, install-key.ts).
// A sign-in that presents a valid one for the account it tries is a known device: address
// blocks and the account's slow-down, which an attacker can trigger from anywhere, do not
// apply to it, so the owner keeps signing in during an attack. The cookie proves only "this
// browser signed in to this account before": it opens nothing by itself and the password is
// still checked; a cookie that keeps failing is distrusted (AuthState.loginByDevice).
import { timingSafeEqual } from "node:crypto";
import type { AppDeps } from "../../http/context";
import type { Config } from "../../config";
import { hmac } from "../../security/install-key";
import { randomSecret } from "../../lib/ids";
import { clockOf, MINUTE } from "./auth.state";

export const DEVICE_COOKIE = "bg_device";
export const DEVICE_COOKIE_TTL_MS = 180 * 24 * 60 * MINUTE;
const DEVICE_COOKIE_RE = /^([a-z]+_[A-Za-z0-9]{1,40})\.(\d{1,13})\.([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{43})$/;

export interface KnownDevice {
  /** Identifies this cookie in the per-device failure count. */
  nonce: string;
}

function signature(key: Buffer, userId: string, expiresAt: string, nonce: string): string {
  return hmac(key, `device-cookie\n${userId}\n${expiresAt}\n${nonce}`);
}

/** A new device cookie for `userId`, as a Set-Cookie value. */
export function issueDeviceCookie(deps: AppDeps, userId: string): string {
  const now = clockOf(deps)();
  const expiresAt = String(now + DEVICE_COOKIE_TTL_MS);
  const nonce = randomSecret(18);
  const value = `${userId}.${expiresAt}.${nonce}.${signature(deps.installKey, userId, expiresAt, nonce)}`;
  return `${DEVICE_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(DEVICE_COOKIE_TTL_MS / 1000)}${secure(deps.config)}`;
}

/** The device behind `value` when it is an intact, unexpired cookie for `userId`; else null. */
export function verifyDeviceCookie(deps: AppDeps, value: string | null | undefined, userId: string): KnownDevice | null {
  if (!value || value.length > 256) return null;
  const m = DEVICE_COOKIE_RE.exec(value);
  if (!m) return null;
  const [, cookieUser, expiresAt, nonce, mac] = m as unknown as [string, string, string, string, string];
  const expected = signature(deps.installKey, cookieUser, expiresAt, nonce);
  if (!timingSafeEqual(Buffer.from(mac), Buffer.from(expected))) return null;
  if (cookieUser !== userId || Number(expiresAt) <= clockOf(deps)()) return null;
  return { nonce };
}

/** The bg_device value from a Cookie header. */
export function readDeviceCookie(cookieHeader: string | null): string | null {
  if (!cookieHeader) return null;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === DEVICE_COOKIE) return part.slice(eq + 1).trim();
  }
  return null;
}

function secure(config: Readonly<Config>): string {
  return config.publicUrl.startsWith("https:") ? "; Secure" : "";
}
