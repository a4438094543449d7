// Brute force without lockout (OWASP): failures block an address, and an account from one
// address; an account itself is only slowed, so an attacker cannot lock its owner out; and a
// browser that signed in to the account before (a signed device cookie) signs in even while
// its own address is blocked by someone else's failures.
import { describe, expect, test } from "bun:test";
import { makeTestApp, PASSWORDS, type TestApp } from "../../../test/helpers/app";
import { rememberPeer } from "../../http/peer";
import { authState } from "./auth.state";

const MIN = 60_000;

/** A sign-in through the API from `ip`, with an optional Cookie header. */
function signInFrom(t: TestApp, ip: string, email: string, password: string, cookie?: string) {
  const req = new Request("http://localhost/api/v1/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json", ...(cookie ? { cookie } : {}) },
    body: JSON.stringify({ email, password }),
  });
  rememberPeer(req, { requestIP: () => ({ address: ip, family: "IPv4", port: 40000 }) });
  return t.app.handle(req);
}

const deviceCookieOf = (res: Response) => res.headers.getSetCookie().find((c) => c.startsWith("bg_device="))?.split(";")[0];

/** Records the slow-down each sign-in waited instead of sleeping. */
function recordDelays(t: TestApp): number[] {
  const delays: number[] = [];
  authState(t.deps).delay = async (ms) => void delays.push(ms);
  return delays;
}

describe("sign-in throttling", () => {
  test("20 failures from an attacker's address do not lock the account: its owner signs in from elsewhere, slowed a few seconds at most", async () => {
    const t = await makeTestApp();
    const delays = recordDelays(t);
    const tries: number[] = [];
    for (let i = 0; i < 20; i++) tries.push((await signInFrom(t, "203.0.113.66", "admin@example.com", `wrong-password-${i}`)).status);
    expect(tries).toEqual([...Array(5).fill(401), ...Array(15).fill(429)]); // this account from this address: blocked after 5
    const owner = await signInFrom(t, "198.51.100.7", "admin@example.com", PASSWORDS.admin);
    expect(owner.status).toBe(200);
    expect(delays.at(-1)!).toBeLessThanOrEqual(3000);
    // Guessing on across other accounts, the address reaches its own limit (20 failures).
    for (let i = 0; i < 15; i++) expect((await signInFrom(t, "203.0.113.66", `u${i}@example.com`, `wrong-password-${i}`)).status).toBe(401);
    // The attacker's address is blocked, for this account and for any other.
    const again = await signInFrom(t, "203.0.113.66", "admin@example.com", PASSWORDS.admin);
    expect(again.status).toBe(429);
    expect(Number(again.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await signInFrom(t, "203.0.113.66", "viewer@example.com", PASSWORDS.viewer)).status).toBe(429);
  });

  test("5 failures for one account from one address block that pair only", async () => {
    const t = await makeTestApp();
    recordDelays(t);
    for (let i = 0; i < 5; i++) expect((await signInFrom(t, "203.0.113.5", "member@example.com", `wrong-password-${i}`)).status).toBe(401);
    const blocked = await signInFrom(t, "203.0.113.5", "member@example.com", PASSWORDS.member);
    expect(blocked.status).toBe(429);
    expect((await blocked.json()).error.message).toMatch(/this account from this address/);
    expect((await signInFrom(t, "203.0.113.5", "viewer@example.com", PASSWORDS.viewer)).status).toBe(200);
    expect((await signInFrom(t, "198.51.100.9", "member@example.com", PASSWORDS.member)).status).toBe(200);
    t.advance(15 * MIN + 1000);
    expect((await signInFrom(t, "203.0.113.5", "member@example.com", PASSWORDS.member)).status).toBe(200);
  });

  test("an account under a distributed attack is slowed, never blocked, and the slow-down is capped", async () => {
    const t = await makeTestApp();
    const delays = recordDelays(t);
    for (let i = 0; i < 12; i++) expect((await signInFrom(t, `203.0.113.${i + 1}`, "admin@example.com", `wrong-password-${i}`)).status).toBe(401);
    expect(delays).toEqual([0, 0, 0, 0, 0, 0, 250, 500, 1000, 2000, 3000, 3000]); // 5 failures free, then doubling, capped
    expect((await signInFrom(t, "198.51.100.1", "admin@example.com", PASSWORDS.admin)).status).toBe(200);
    t.advance(15 * MIN);
    delays.length = 0;
    await signInFrom(t, "198.51.100.1", "admin@example.com", "wrong-password-x");
    expect(delays).toEqual([0]); // quiet for the window: forgotten
  }, 60_000);
});

describe("device cookies", () => {
  test("a browser that signed in before gets in, unslowed, while its address is blocked by others' failures", async () => {
    const t = await makeTestApp();
    const delays = recordDelays(t);
    const first = await signInFrom(t, "192.0.2.10", "admin@example.com", PASSWORDS.admin);
    const device = deviceCookieOf(first)!;
    expect(device).toMatch(/^bg_device=/);
    expect(first.headers.getSetCookie().find((c) => c.startsWith("bg_device="))).toMatch(/HttpOnly; SameSite=Strict; Max-Age=\d+/);
    // An attacker behind the same address (a shared NAT) fails until the address is blocked.
    for (let i = 0; i < 25; i++) await signInFrom(t, "192.0.2.10", "admin@example.com", `wrong-password-${i}`);
    expect((await signInFrom(t, "192.0.2.10", "admin@example.com", PASSWORDS.admin)).status).toBe(429);
    delays.length = 0;
    const known = await signInFrom(t, "192.0.2.10", "admin@example.com", PASSWORDS.admin, device);
    expect(known.status).toBe(200);
    expect(delays.every((d) => d === 0)).toBe(true);
    expect(deviceCookieOf(known)).toMatch(/^bg_device=/);
  });

  test("a device cookie is trusted only for its account, intact, and until it fails 5 times", async () => {
    const t = await makeTestApp();
    recordDelays(t);
    const device = deviceCookieOf(await signInFrom(t, "192.0.2.20", "member@example.com", PASSWORDS.member))!;
    for (let i = 0; i < 20; i++) expect((await signInFrom(t, "192.0.2.20", `u${i}@example.com`, `wrong-password-${i}`)).status).toBe(401);
    // For another account, or altered, it is a stranger's browser: the address block applies.
    expect((await signInFrom(t, "192.0.2.20", "viewer@example.com", PASSWORDS.viewer, device)).status).toBe(429);
    const tampered = device.slice(0, -2) + (device.endsWith("AA") ? "BB" : "AA");
    expect((await signInFrom(t, "192.0.2.20", "member@example.com", PASSWORDS.member, tampered)).status).toBe(429);
    // Five wrong passwords through the cookie make it untrusted too.
    for (let i = 0; i < 5; i++) expect((await signInFrom(t, "192.0.2.20", "member@example.com", `wrong-password-${i}`, device)).status).toBe(401);
    expect((await signInFrom(t, "192.0.2.20", "member@example.com", PASSWORDS.member, device)).status).toBe(429);
  });

  test("the sign-in form sets the device cookie too and honours it", async () => {
    const t = await makeTestApp();
    recordDelays(t);
    const post = (password: string, cookie?: string) => {
      const req = new Request("http://localhost/login", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://localhost", ...(cookie ? { cookie } : {}) },
        body: new URLSearchParams({ email: "admin@example.com", password, next: "/sessions" }).toString(),
      });
      rememberPeer(req, { requestIP: () => ({ address: "192.0.2.30", family: "IPv4", port: 40000 }) });
      return t.app.handle(req);
    };
    const first = await post(PASSWORDS.admin);
    expect(first.status).toBe(303);
    const cookies = first.headers.getSetCookie();
    expect(cookies.some((c) => c.startsWith("bg_session="))).toBe(true);
    const device = deviceCookieOf(first)!;
    for (let i = 0; i < 6; i++) await post(`wrong-password-${i}`);
    expect((await post(PASSWORDS.admin)).status).toBe(429);
    const known = await post(PASSWORDS.admin, device);
    expect(known.status).toBe(303);
    expect(known.headers.get("location")).toBe("/sessions");
  });
});
