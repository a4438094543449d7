// In-memory rate limits (one process, so no shared store is needed). Both limiters bound
// their memory: past `maxEntries` they drop entries that no longer limit anyone, then the
// oldest. Time comes from an injected clock so tests need not sleep.
import { TooManyRequests } from "../../lib/errors";

export type Clock = () => number;

interface FailureRecord {
  count: number;
  windowStart: number;
  lockedUntil: number;
  strikes: number;
  lastFailure: number;
}

/**
 * Counts failures (bad passwords, bad API keys) per key. `limit` failures inside `windowMs`
 * lock the key for `windowMs`; each further lockout before a quiet day doubles it (up to
 * `maxLockMs`), so a patient attacker gets slower and slower.
 */
export class FailureLimiter {
  private readonly records = new Map<string, FailureRecord>();

  constructor(
    private readonly opts: { limit: number; windowMs: number; maxLockMs: number; maxEntries?: number; what: string },
    private readonly now: Clock,
  ) {}

  /** Seconds until `key` may try again, or 0. */
  retryAfterSec(key: string): number {
    const r = this.records.get(key);
    if (!r) return 0;
    const wait = r.lockedUntil - this.now();
    return wait > 0 ? Math.ceil(wait / 1000) : 0;
  }

  /** Throws 429 with Retry-After while `key` is locked out. */
  check(key: string): void {
    const sec = this.retryAfterSec(key);
    if (sec > 0) throw new TooManyRequests(`Too many failed ${this.opts.what}; try again in ${formatWait(sec)}.`, sec);
  }

  fail(key: string): void {
    const now = this.now();
    let r = this.records.get(key);
    if (!r) {
      this.makeRoom(now);
      r = { count: 0, windowStart: now, lockedUntil: 0, strikes: 0, lastFailure: now };
      this.records.set(key, r);
    }
    if (now - r.lastFailure > 24 * 3600_000) r.strikes = 0;
    if (now - r.windowStart >= this.opts.windowMs) {
      r.count = 0;
      r.windowStart = now;
    }
    r.lastFailure = now;
    if (++r.count >= this.opts.limit) {
      const lock = Math.min(this.opts.windowMs * 2 ** r.strikes, this.opts.maxLockMs);
      r.lockedUntil = now + lock;
      r.strikes++;
      r.count = 0;
      r.windowStart = r.lockedUntil;
    }
  }

  reset(key: string): void {
    this.records.delete(key);
  }

  get size(): number {
    return this.records.size;
  }

  private makeRoom(now: number): void {
    const max = this.opts.maxEntries ?? 10_000;
    if (this.records.size < max) return;
    // Forgettable: not locked, and quiet long enough that its count or strikes no longer matter.
    for (const [k, r] of this.records) {
      const quiet = now - r.lastFailure;
      if (r.lockedUntil <= now && (quiet > 24 * 3600_000 || (r.strikes === 0 && quiet > this.opts.windowMs))) this.records.delete(k);
    }
    for (const k of this.records.keys()) {
      if (this.records.size < max) break;
      this.records.delete(k);
    }
  }
}

interface DelayRecord {
  count: number;
  lastFailure: number;
}

/**
 * Slows, never blocks: after `freeFailures` failures for a key, each attempt waits
 * `baseMs`, doubling per further failure up to `maxMs`. A key forgets its failures after
 * `windowMs` without one. For accounts: a lockout per account lets anyone lock its owner out,
 * a capped delay only costs a guesser (OWASP Authentication Cheat Sheet).
 */
export class FailureDelay {
  private readonly records = new Map<string, DelayRecord>();

  constructor(
    private readonly opts: { freeFailures: number; baseMs: number; maxMs: number; windowMs: number; maxEntries?: number },
    private readonly now: Clock,
  ) {}

  /** How long an attempt for `key` waits now, in ms (0 when it does not). */
  delayMs(key: string): number {
    const r = this.records.get(key);
    if (!r || this.now() - r.lastFailure >= this.opts.windowMs) return 0;
    const over = r.count - this.opts.freeFailures;
    return over <= 0 ? 0 : Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** Math.min(over - 1, 30));
  }

  fail(key: string): void {
    const now = this.now();
    let r = this.records.get(key);
    if (r && now - r.lastFailure >= this.opts.windowMs) r.count = 0;
    if (!r) {
      this.makeRoom(now);
      this.records.set(key, (r = { count: 0, lastFailure: now }));
    }
    r.count++;
    r.lastFailure = now;
  }

  get size(): number {
    return this.records.size;
  }

  private makeRoom(now: number): void {
    const max = this.opts.maxEntries ?? 10_000;
    if (this.records.size < max) return;
    for (const [k, r] of this.records) if (now - r.lastFailure >= this.opts.windowMs) this.records.delete(k);
    for (const k of this.records.keys()) {
      if (this.records.size < max) break;
      this.records.delete(k);
    }
  }
}

interface Bucket {
  tokens: number;
  at: number;
}

/** A token bucket per key: `perMinute` requests a minute, bursts up to `perMinute`. */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    private readonly perMinute: number,
    private readonly now: Clock,
    private readonly maxEntries = 10_000,
  ) {
    this.perMs = perMinute / 60_000;
  }

  /** Takes one token or throws 429 with the seconds until the next one. */
  take(key: string): void {
    const sec = this.tryTake(key);
    if (sec > 0) throw new TooManyRequests(`Rate limit of ${this.perMinute} requests a minute reached; retry in ${formatWait(sec)}.`, sec);
  }

  /** Takes one token and returns 0, or takes nothing and returns the seconds until the next one. */
  tryTake(key: string): number {
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      this.makeRoom(now);
      b = { tokens: this.perMinute, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.perMinute, b.tokens + (now - b.at) * this.perMs);
      b.at = now;
    }
    if (b.tokens < 1) return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
    b.tokens -= 1;
    return 0;
  }

  private makeRoom(now: number): void {
    if (this.buckets.size < this.maxEntries) return;
    // A bucket that has refilled is the same as no bucket.
    for (const [k, b] of this.buckets) if (b.tokens + (now - b.at) * this.perMs >= this.perMinute) this.buckets.delete(k);
    for (const k of this.buckets.keys()) {
      if (this.buckets.size < this.maxEntries) break;
      this.buckets.delete(k);
    }
  }
}

function formatWait(sec: number): string {
  if (sec < 90) return `${sec} s`;
  return `${Math.ceil(sec / 60)} min`;
}
