// Unit tests for passwords, tokens, client addresses and the rate limiters.
import { describe, expect, test } from "bun:test";
import { hashPassword, passwordProblem, verifyPassword } from "./passwords";
import { newApiKey, newSessionToken, parseApiKey, randomAlphanumeric } from "./tokens";
import { addressMatches, clientIp } from "./client-ip";
import { FailureDelay, FailureLimiter, TokenBuckets } from "../http/plugins/rate-limit";
import { redact } from "../lib/logger";

describe("passwords", () => {
  test("argon2id at OWASP's minimum cost; verify is exact", async () => {
    const h = await hashPassword("correct horse battery");
    expect(h).toStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
    expect(await verifyPassword("correct horse battery", h)).toBe(true);
    expect(await verifyPassword("correct horse batterY", h)).toBe(false);
    expect(await verifyPassword("x", "not-a-hash")).toBe(false);
  });
  test("weak passwords are refused with a reason", () => {
    expect(passwordProblem("short")).toContain("12");
    expect(passwordProblem("a".repeat(257))).toContain("256");
    expect(passwordProblem("aaaaaaaaaaaaaa")).not.toBeNull();
    expect(passwordProblem("123456789012")).not.toBeNull();
    expect(passwordProblem("qwertyuiopas")).not.toBeNull();
    expect(passwordProblem("jane.doe.work@example.com", "jane.doe.work@example.com")).not.toBeNull();
    expect(passwordProblem("blue-lantern-river-7")).toBeNull();
  });
});

describe("tokens", () => {
  test("session tokens are 256-bit base64url and unique", () => {
    const a = newSessionToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newSessionToken()).not.toBe(a);
  });
  test("API keys: 12-char id, 43 alphanumerics, parsed back", () => {
    const k = newApiKey();
    expect(k.key).toMatch(/^bg_[a-z0-9]{12}_[A-Za-z0-9]{43}$/);
    expect(parseApiKey(k.key)).toEqual({ id: k.id, secret: k.secret });
    for (const bad of ["", "bg_", "bg_abc_def", `bg_${k.id}_${k.secret}!`, `xx_${k.id}_${k.secret}`, `bg_${k.id}_${"a".repeat(200)}`]) expect(parseApiKey(bad)).toBeNull();
  });
  test("alphanumerics are uniform enough (no modulo bias toward the first letters)", () => {
    const counts = new Map<string, number>();
    for (const c of randomAlphanumeric(62_000)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    for (const n of counts.values()) expect(n).toBeWithin(800, 1200);
  });
});

describe("client address", () => {
  const req = (xff?: string) => new Request("http://x/", { headers: xff ? { "x-forwarded-for": xff } : {} });
  test("X-Forwarded-For is believed only from a trusted proxy", () => {
    expect(clientIp(req("1.2.3.4"), "9.9.9.9", [])).toBe("9.9.9.9");
    expect(clientIp(req("1.2.3.4"), "9.9.9.9", ["10.0.0.0/8"])).toBe("9.9.9.9");
    expect(clientIp(req("6.6.6.6, 1.2.3.4"), "10.1.2.3", ["10.0.0.0/8"])).toBe("1.2.3.4");
    expect(clientIp(req("1.2.3.4, 10.0.0.9"), "::ffff:10.1.2.3", ["10.0.0.0/8"])).toBe("1.2.3.4");
    expect(clientIp(req(), undefined, [])).toBe("unknown");
  });
  test("CIDR and exact matches", () => {
    expect(addressMatches("192.168.1.7", "192.168.0.0/16")).toBe(true);
    expect(addressMatches("192.169.1.7", "192.168.0.0/16")).toBe(false);
    expect(addressMatches("::1", "::1")).toBe(true);
    expect(addressMatches("::1", "127.0.0.1")).toBe(false);
  });
});

describe("rate limiters", () => {
  test("failure delay slows after the free failures, caps the wait, forgets after a quiet window, bounds its memory", () => {
    let now = 0;
    const d = new FailureDelay({ freeFailures: 2, baseMs: 100, maxMs: 350, windowMs: 1000, maxEntries: 50 }, () => now);
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      seen.push(d.delayMs("a"));
      d.fail("a");
    }
    expect(seen).toEqual([0, 0, 0, 100, 200, 350]);
    now += 1000;
    expect(d.delayMs("a")).toBe(0);
    for (let i = 0; i < 10_000; i++) d.fail(`k${i}`);
    expect(d.size).toBeLessThanOrEqual(50);
  });

  test("failure limiter locks, backs off and bounds its memory", () => {
    let now = 0;
    const l = new FailureLimiter({ limit: 3, windowMs: 1000, maxLockMs: 3000, maxEntries: 100, what: "tries" }, () => now);
    for (let i = 0; i < 3; i++) l.fail("a");
    expect(l.retryAfterSec("a")).toBe(1);
    expect(() => l.check("a")).toThrow(/Too many failed tries/);
    now += 1000;
    for (let i = 0; i < 3; i++) l.fail("a");
    expect(l.retryAfterSec("a")).toBe(2);
    now += 2000;
    for (let i = 0; i < 3; i++) l.fail("a");
    expect(l.retryAfterSec("a")).toBe(3); // capped
    for (let i = 0; i < 10_000; i++) l.fail(`k${i}`);
    expect(l.size).toBeLessThanOrEqual(100);
  });
  test("token buckets refill over time and bound their memory", () => {
    let now = 0;
    const b = new TokenBuckets(60, () => now, 50);
    for (let i = 0; i < 60; i++) b.take("k");
    expect(() => b.take("k")).toThrow(/60 requests a minute/);
    now += 1000;
    b.take("k");
    for (let i = 0; i < 1000; i++) b.take(`x${i}`);
  });
});

test("the logger redacts credentials in the URLs this module uses", () => {
  const key = newApiKey().key;
  expect(redact(`/connect?token=${key}&pool=default`)).toBe("/connect?token=[redacted]&pool=default");
  expect(redact(`Authorization: Bearer ${key}`)).not.toContain(key.slice(16));
  expect(redact(`key ${key} leaked`)).not.toContain(key.slice(16));
  // Strings without any of ? & : whitespace or "bg_" are passed through unscanned; each pattern needs one.
  expect(redact(`/api/v1/things/${key}`)).not.toContain(key.slice(16));
  expect(redact(`x?T=abc`)).toBe("x?T=[redacted]");
  expect(redact(`BEARER\tabc.def`)).toBe("BEARER\t[redacted]");
  expect(redact(`socks5://user:pw@proxy:1080`)).toBe("socks5://user:[redacted]@proxy:1080");
  expect(redact("/api/v1/sessions/ses_abc123")).toBe("/api/v1/sessions/ses_abc123");
});
