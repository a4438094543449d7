// Per-process auth state: rate limiters, the verified-key cache and the hashed static keys.
// Built once by boot.ts (createAuthState) and carried as `deps.auth`: one per app, so tests
// never share counters.
import type { Config } from "../../config";
import type { Actor } from "../../security/actor";
import { FailureDelay, FailureLimiter, TokenBuckets, type Clock } from "../../http/plugins/rate-limit";
import { parseApiKey } from "../../security/tokens";
import { sha256Hex } from "../../lib/ids";

export const MINUTE = 60_000;

/** The key of an account tried from one address. */
export function accountAddressKey(account: string, ip: string): string {
  return `${account}\n${ip}`;
}

export interface CachedKey {
  secretHash: string;
  actor: Actor;
  /** The key's own expiry (ms) or null. */
  expiresAt: number | null;
  lastUsedAt: number;
  /** When this cache entry must be re-read from the database. */
  cachedUntil: number;
}

/**
 * Sign-in brute force, per OWASP's guidance against lockout abuse: failures block an address
 * (`loginByAddress`) and an account from one address (`loginByAccountAddress`); an account as
 * such is only slowed (`loginDelayByAccount`), so nobody can lock its owner out; a browser
 * holding a device cookie for the account (device-cookie.ts) skips all three, and is itself
 * distrusted after a few failures (`loginByDevice`).
 */
export interface AuthState {
  now: Clock;
  loginByAddress: FailureLimiter;
  loginByAccountAddress: FailureLimiter;
  loginDelayByAccount: FailureDelay;
  loginByDevice: FailureLimiter;
  /** Waits out a slow-down; tests replace it to record the delay instead of sleeping. */
  delay: (ms: number) => Promise<void>;
  badKeyByAddress: FailureLimiter;
  apiRate: TokenBuckets;
  keyCache: Map<string, CachedKey>;
  /** Static keys from BROWSERGRID_API_KEYS: id → SHA-256 of the secret. */
  staticKeys: Map<string, string>;
  /** Once a user exists it stays so (the last admin cannot be deleted). */
  hasUsers: boolean;
}

/** The app's clock: the injected one (tests) or Date.now. */
export function clockOf(deps: { now?: Clock }): Clock {
  return deps.now ?? Date.now;
}

/** The auth state of the app `deps` belongs to (built by boot.ts). */
export function authState(deps: { auth: AuthState }): AuthState {
  return deps.auth;
}

export function createAuthState(config: Pick<Readonly<Config>, "staticApiKeys" | "apiRateLimitPerMinute">, now: Clock): AuthState {
  const staticKeys = new Map<string, string>();
  for (const k of config.staticApiKeys) {
    const p = parseApiKey(k);
    if (p) staticKeys.set(p.id, sha256Hex(p.secret));
  }
  return {
    now,
    loginByAddress: new FailureLimiter({ limit: 20, windowMs: 15 * MINUTE, maxLockMs: 4 * 60 * MINUTE, what: "sign-ins from this address" }, now),
    loginByAccountAddress: new FailureLimiter({ limit: 5, windowMs: 15 * MINUTE, maxLockMs: 4 * 60 * MINUTE, what: "sign-ins for this account from this address" }, now),
    loginDelayByAccount: new FailureDelay({ freeFailures: 5, baseMs: 250, maxMs: 3000, windowMs: 15 * MINUTE }, now),
    loginByDevice: new FailureLimiter({ limit: 5, windowMs: 15 * MINUTE, maxLockMs: 4 * 60 * MINUTE, what: "sign-ins from this browser" }, now),
    delay: (ms) => Bun.sleep(ms),
    badKeyByAddress: new FailureLimiter({ limit: 20, windowMs: 5 * MINUTE, maxLockMs: 60 * MINUTE, what: "API keys from this address" }, now),
    apiRate: new TokenBuckets(config.apiRateLimitPerMinute, now),
    keyCache: new Map(),
    staticKeys,
    hasUsers: false,
  };
}
