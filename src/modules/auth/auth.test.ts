// Sign-in, sessions, setup, password changes, brute-force limits and CSRF.
import { describe, expect, test } from "bun:test";
import { makeTestApp, ORIGIN, PASSWORDS } from "../../../test/helpers/app";
import { checkWebSocketOrigin } from "../../http/plugins/auth";
import { bootstrapAdminFromEnv } from "./auth.service";
import { loadConfig } from "../../config";
import { setLogLevel, setLogSink } from "../../lib/logger";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

function form(fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return { method: "POST", body: new URLSearchParams(fields).toString(), headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, ...headers } };
}
const cookieOf = (res: { headers: Headers }) => (res.headers.get("set-cookie") ?? "").split(";")[0]!;

describe("first run", () => {
  test("every UI route leads to /setup, which creates the admin once", async () => {
    const t = await makeTestApp({ withUsers: false });
    const home = await t.app.handle(new Request("http://localhost/"));
    expect(home.status).toBe(303);
    expect(home.headers.get("location")).toBe("/setup");
    expect((await t.app.handle(new Request("http://localhost/login"))).headers.get("location")).toBe("/setup");
    const page = await (await t.app.handle(new Request("http://localhost/setup"))).text();
    expect(page).toContain('autocomplete="new-password"');
    expect(page).toContain('id="token"');

    const token = readFileSync(join(t.deps.config.dataDir, "setup-token"), "utf8").trim();
    const weak = await t.app.handle(new Request("http://localhost/setup", form({ email: "a@example.com", password: "short", confirm: "short", token })));
    expect(weak.status).toBe(400);
    expect(await weak.text()).toMatch(/id="password-error">Password refused: Use at least 12/);
    const evil = await t.app.handle(new Request("http://localhost/setup", form({ email: "e@evil.test", password: PASSWORDS.admin, confirm: PASSWORDS.admin, token }, { origin: "https://evil.test" })));
    expect(evil.status).toBe(403);
    expect(t.deps.db.$client.query("SELECT count(*) AS n FROM users").get()).toEqual({ n: 0 });

    const ok = await t.app.handle(new Request("http://localhost/setup", form({ email: "Admin@Example.com", password: PASSWORDS.admin, confirm: PASSWORDS.admin, token })));
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/");
    const cookie = cookieOf(ok);
    expect((await t.call("GET", "/api/v1/auth/me", { auth: cookie })).body.user.email).toBe("admin@example.com");
    expect(existsSync(join(t.deps.config.dataDir, "setup-token"))).toBe(false);

    expect((await t.app.handle(new Request("http://localhost/setup"))).headers.get("location")).toBe("/login");
    const again = await t.app.handle(new Request("http://localhost/setup", form({ email: "b@example.com", password: PASSWORDS.admin, confirm: PASSWORDS.admin, token })));
    expect(again.status).toBe(303);
    expect(t.deps.db.$client.query("SELECT count(*) AS n FROM users").get()).toEqual({ n: 1 });
  });

  test("setup needs the one-time token from the data dir (0600) or the log; without it nothing is created", async () => {
    const t = await makeTestApp({ withUsers: false });
    const lines: string[] = [];
    setLogSink((l) => lines.push(l));
    setLogLevel("info");
    try {
      expect(await bootstrapAdminFromEnv(t.deps)).toBe("absent");
    } finally {
      setLogLevel("error");
      setLogSink((l) => process.stdout.write(l + "\n"));
    }
    const file = join(t.deps.config.dataDir, "setup-token");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, "utf8").trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(lines.join("\n")).toContain(`/setup?token=${token}`);

    const attempt = (fields: Record<string, string>) => t.app.handle(new Request("http://localhost/setup", form({ email: "a@example.com", password: PASSWORDS.admin, confirm: PASSWORDS.admin, ...fields })));
    for (const fields of [{}, { token: "" } as Record<string, string>, { token: token.slice(0, -1) + (token.endsWith("A") ? "B" : "A") }, { token: token + "x" }]) {
      const r = await attempt(fields);
      expect(r.status).toBe(403);
      expect(await r.text()).toContain('id="token-error"');
    }
    expect(t.deps.db.$client.query("SELECT count(*) AS n FROM users").get()).toEqual({ n: 0 });

    // The link from the log fills the token in; the form then creates the admin and the token dies.
    const page = await (await t.app.handle(new Request(`http://localhost/setup?token=${token}`))).text();
    expect(page).toContain(`name="token" value="${token}"`);
    expect((await attempt({ token })).status).toBe(303);
    expect(existsSync(file)).toBe(false);
  });

  test("a setup token left from before is removed once an account exists", async () => {
    const t = await makeTestApp();
    const file = join(t.deps.config.dataDir, "setup-token");
    writeFileSync(file, "stale\n");
    await bootstrapAdminFromEnv(t.deps);
    expect(existsSync(file)).toBe(false);
  });

  test("BROWSERGRID_ADMIN_* creates the admin once, then is ignored", async () => {
    const t = await makeTestApp({ withUsers: false });
    const env = { BROWSERGRID_DATA_DIR: mkdtempSync(join(tmpdir(), "bg-")), BROWSERGRID_ADMIN_EMAIL: "ops@example.com", BROWSERGRID_ADMIN_PASSWORD: "unattended-password-1" };
    const deps = { ...t.deps, config: loadConfig(env) };
    expect(await bootstrapAdminFromEnv(deps)).toBe("created");
    expect(await bootstrapAdminFromEnv({ ...deps, config: loadConfig({ ...env, BROWSERGRID_ADMIN_EMAIL: "other@example.com" }) })).toBe("ignored");
    expect(t.deps.db.$client.query("SELECT email FROM users").all()).toEqual([{ email: "ops@example.com" }]);
    await expect(bootstrapAdminFromEnv({ ...(await makeTestApp({ withUsers: false })).deps, config: loadConfig({ ...env, BROWSERGRID_ADMIN_PASSWORD: "tooshort" }) })).rejects.toThrow(/BROWSERGRID_ADMIN_PASSWORD.*12/);
  });
});

describe("login and sessions", () => {
  test("API login sets a hardened cookie that works until logout", async () => {
    const t = await makeTestApp();
    const bad = await t.call("POST", "/api/v1/auth/login", { body: { email: "member@example.com", password: "wrong-password-123" } });
    expect(bad.status).toBe(401);
    expect(bad.body.error.message).toBe("Email or password is wrong.");
    const r = await t.call("POST", "/api/v1/auth/login", { body: { email: "MEMBER@example.com", password: PASSWORDS.member } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ email: "member@example.com", role: "member" });
    expect(r.body.passwordHash).toBeUndefined();
    const [setCookie, deviceCookie] = r.headers.getSetCookie();
    expect(setCookie).toMatch(/^bg_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=2592000$/);
    expect(deviceCookie).toMatch(/^bg_device=usr_[A-Za-z0-9]+\.\d+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=15552000$/);
    const cookie = cookieOf(r);
    expect((await t.call("GET", "/api/v1/auth/me", { auth: cookie })).body.role).toBe("member");
    expect((await t.call("POST", "/api/v1/auth/logout", { auth: cookie })).status).toBe(204);
    expect((await t.call("GET", "/api/v1/auth/me", { auth: cookie })).status).toBe(401);
  });

  test("Secure cookie when the public URL is https", async () => {
    const t = await makeTestApp({ env: { BROWSERGRID_PUBLIC_URL: "https://grid.example.com" } });
    const r = await t.call("POST", "/api/v1/auth/login", { body: { email: "viewer@example.com", password: PASSWORDS.viewer } });
    expect(r.headers.get("set-cookie")).toEndWith("; Secure");
  });

  test("sliding expiry renews after half the lifetime; idle sessions die after 7 days", async () => {
    const t = await makeTestApp();
    for (let day = 0; day < 40; day += 5) {
      t.advance(5 * DAY);
      const r = await t.call("GET", "/api/v1/auth/me", { auth: t.cookie });
      expect(`${day} ${r.status}`).toBe(`${day} 200`);
      if (day === 15) expect(r.headers.get("set-cookie")).toContain("Max-Age=2592000");
    }
    t.advance(7 * DAY + MIN);
    const dead = await t.call("GET", "/", { auth: t.cookie });
    expect(dead.status).toBe(303);
    expect(dead.headers.get("set-cookie")).toContain("Max-Age=0");
  });

  test("last_seen is written at most once a minute", async () => {
    const t = await makeTestApp();
    const seen = () => (t.deps.db.$client.query("SELECT last_seen_at AS s FROM auth_sessions").get() as { s: number }).s;
    const before = seen();
    t.advance(30_000);
    await t.call("GET", "/api/v1/auth/me", { auth: t.cookie });
    expect(seen()).toBe(before);
    t.advance(31_000);
    await t.call("GET", "/api/v1/auth/me", { auth: t.cookie });
    expect(seen()).toBe(before + 61_000);
  });

  test("UI login: error next to the field, safe redirect, no open redirect", async () => {
    const t = await makeTestApp();
    const bad = await t.app.handle(new Request("http://localhost/login", form({ email: "admin@example.com", password: "nope-nope-nope", next: "/" })));
    expect(bad.status).toBe(401);
    const html = await bad.text();
    expect(html).toContain('id="password-error">Email or password is wrong.');
    expect(html).toContain('value="admin@example.com"');
    expect(html).not.toContain("nope-nope-nope");
    const ok = await t.app.handle(new Request("http://localhost/login", form({ email: "admin@example.com", password: PASSWORDS.admin, next: "//evil.test/x" })));
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/");
    const deep = await t.app.handle(new Request("http://localhost/login", form({ email: "admin@example.com", password: PASSWORDS.admin, next: "/api/docs?x=1" })));
    expect(deep.headers.get("location")).toBe("/api/docs?x=1");
    const signedIn = await t.app.handle(new Request("http://localhost/login", { headers: { cookie: cookieOf(ok) } }));
    expect(signedIn.headers.get("location")).toBe("/");
  });

  test("no open redirect through next=, on the form post and for a signed-in visitor", async () => {
    const t = await makeTestApp();
    const nasty = ["/%09/evil.test/x", "/%0a/evil.test", "/%5Cevil.test", "/.//evil.test", "%2F%2Fevil.test", "/%09%5Cevil.test", "https:%2F%2Fevil.test"];
    for (const next of nasty) {
      const visit = await t.app.handle(new Request(`http://localhost/login?next=${next}`, { headers: { cookie: t.cookie } }));
      expect(visit.status).toBe(303);
      expect(new URL(visit.headers.get("location")!, "http://localhost").origin).toBe("http://localhost");
      const post = await t.app.handle(new Request("http://localhost/login", form({ email: "admin@example.com", password: PASSWORDS.admin, next: decodeURIComponent(next) })));
      expect(post.status).toBe(303);
      expect(new URL(post.headers.get("location")!, "http://localhost").origin).toBe("http://localhost");
    }
  });

  test("neither the password nor the session token reaches the log", async () => {
    const t = await makeTestApp();
    const lines: string[] = [];
    setLogSink((l) => lines.push(l));
    try {
      const r = await t.call("POST", "/api/v1/auth/login", { body: { email: "admin@example.com", password: PASSWORDS.admin } });
      await t.call("GET", `/api/v1/auth/me`, { auth: cookieOf(r) });
      await t.call("GET", `/connect?token=${t.adminKey}`);
      t.deps.log.error("boom", { url: `/connect?token=${t.adminKey}`, authorization: `Bearer ${t.adminKey}` });
      const all = lines.join("\n");
      expect(all).toContain("boom");
      expect(all).not.toContain(PASSWORDS.admin);
      expect(all).not.toContain(cookieOf(r).slice(11));
      expect(all).not.toContain(t.adminKey.slice(16));
    } finally {
      setLogSink((l) => process.stdout.write(l + "\n"));
    }
  });
});

describe("brute force", () => {
  test("5 bad passwords block the account from that address (429 + Retry-After) even for the right one; it works after the window", async () => {
    const t = await makeTestApp();
    const attempt = (password: string) => t.call("POST", "/api/v1/auth/login", { body: { email: "admin@example.com", password } });
    for (let i = 0; i < 5; i++) expect((await attempt(`wrong-password-${i}`)).status).toBe(401);
    const locked = await attempt(PASSWORDS.admin);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(800);
    t.advance(15 * MIN + 1000);
    expect((await attempt(PASSWORDS.admin)).status).toBe(200);
  });

  test("repeat lockouts back off exponentially", async () => {
    const t = await makeTestApp();
    const attempt = (password: string) => t.call("POST", "/api/v1/auth/login", { body: { email: "member@example.com", password } });
    for (let i = 0; i < 5; i++) await attempt(`wrong-password-${i}`);
    const first = Number((await attempt("x".repeat(12))).headers.get("retry-after"));
    t.advance(first * 1000);
    for (let i = 0; i < 5; i++) await attempt(`wrong-password-${i}`);
    const second = Number((await attempt("x".repeat(12))).headers.get("retry-after"));
    expect(second).toBe(first * 2);
  });

  test("20 failures from one address block it across accounts; the UI form says so", async () => {
    const t = await makeTestApp();
    for (let i = 0; i < 20; i++) await t.call("POST", "/api/v1/auth/login", { body: { email: `u${i}@example.com`, password: "wrong-password-1" } });
    const r = await t.app.handle(new Request("http://localhost/login", form({ email: "viewer@example.com", password: PASSWORDS.viewer })));
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await r.text()).toContain("Too many failed sign-ins from this address");
  });

  test("invalid API keys from one address get 429 with Retry-After; valid keys keep working", async () => {
    const t = await makeTestApp();
    const guess = () => t.call("GET", "/api/v1/auth/me", { auth: `bg_${"a".repeat(12)}_${crypto.randomUUID().replace(/-/g, "")}` });
    for (let i = 0; i < 20; i++) expect((await guess()).status).toBe(401);
    const r = await guess();
    expect(r.status).toBe(429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await t.call("GET", "/api/v1/auth/me", { auth: t.viewerKey })).status).toBe(200);
    t.advance(5 * MIN + 1000);
    expect((await guess()).status).toBe(401);
  });

  test("API calls are limited per key", async () => {
    const t = await makeTestApp({ env: { BROWSERGRID_API_RATE_LIMIT: "5" } });
    for (let i = 0; i < 5; i++) expect((await t.call("GET", "/api/v1/auth/me", { auth: t.memberKey })).status).toBe(200);
    const r = await t.call("GET", "/api/v1/auth/me", { auth: t.memberKey });
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("12");
    expect((await t.call("GET", "/api/v1/auth/me", { auth: t.viewerKey })).status).toBe(200);
    t.advance(12_000);
    expect((await t.call("GET", "/api/v1/auth/me", { auth: t.memberKey })).status).toBe(200);
  });
});

describe("change password", () => {
  test("needs the current password, ends the other sessions, keeps this one", async () => {
    const t = await makeTestApp();
    const other = cookieOf(await t.call("POST", "/api/v1/auth/login", { body: { email: "admin@example.com", password: PASSWORDS.admin } }));
    const wrong = await t.call("POST", "/api/v1/auth/password", { auth: t.cookie, body: { currentPassword: "not-the-password", newPassword: "a-brand-new-password" } });
    expect(wrong.status).toBe(400);
    const weak = await t.call("POST", "/api/v1/auth/password", { auth: t.cookie, body: { currentPassword: PASSWORDS.admin, newPassword: "short" } });
    expect(weak.status).toBe(400); // the schema's length rule, as the API document states it
    expect(weak.body.error.message).toMatch(/^Password refused: use 12 to/);
    const ok = await t.call("POST", "/api/v1/auth/password", { auth: t.cookie, body: { currentPassword: PASSWORDS.admin, newPassword: "a-brand-new-password" } });
    expect(ok.status).toBe(204);
    expect((await t.call("GET", "/api/v1/auth/me", { auth: t.cookie })).status).toBe(200);
    expect((await t.call("GET", "/api/v1/auth/me", { auth: other })).status).toBe(401);
    expect((await t.call("POST", "/api/v1/auth/login", { body: { email: "admin@example.com", password: PASSWORDS.admin } })).status).toBe(401);
    expect((await t.call("POST", "/api/v1/auth/login", { body: { email: "admin@example.com", password: "a-brand-new-password" } })).status).toBe(200);
  });

  test("the account page form works without JavaScript", async () => {
    const t = await makeTestApp();
    const r = await t.app.handle(
      new Request("http://localhost/account/password", form({ currentPassword: PASSWORDS.admin, newPassword: "x", confirm: "y" }, { cookie: t.cookie })),
    );
    expect(r.status).toBe(400);
    expect(await r.text()).toContain('id="confirm-error">The two passwords differ.');
  });
});

describe("CSRF", () => {
  const post = (t: Awaited<ReturnType<typeof makeTestApp>>, headers: Record<string, string>) =>
    t.app.handle(new Request("http://localhost/api/v1/api-keys", { method: "POST", headers: { "content-type": "application/json", ...headers }, body: '{"name":"k"}' }));

  test("cookie-authenticated writes must come from our origin", async () => {
    const t = await makeTestApp({ env: { BROWSERGRID_PUBLIC_URL: "https://grid.example.com" } });
    expect((await post(t, { cookie: t.cookie, origin: "https://evil.test" })).status).toBe(403);
    expect((await post(t, { cookie: t.cookie, origin: "null" })).status).toBe(403);
    expect((await post(t, { cookie: t.cookie })).status).toBe(403);
    expect((await post(t, { cookie: t.cookie, "sec-fetch-site": "same-site" })).status).toBe(403);
    expect((await post(t, { cookie: t.cookie, "sec-fetch-site": "same-origin" })).status).toBe(201);
    expect((await post(t, { cookie: t.cookie, origin: "https://grid.example.com" })).status).toBe(201);
    expect((await post(t, { cookie: t.cookie, origin: "http://localhost" })).status).toBe(201);
    expect((await post(t, { authorization: `Bearer ${t.adminKey}`, origin: "https://evil.test" })).status).toBe(201);
  });

  test("a cross-origin form post to /logout or /login is refused", async () => {
    const t = await makeTestApp();
    const out = await t.app.handle(new Request("http://localhost/logout", form({}, { cookie: t.cookie, origin: "https://evil.test" })));
    expect(out.status).toBe(403);
    expect((await t.call("GET", "/api/v1/auth/me", { auth: t.cookie })).status).toBe(200);
    const login = await t.app.handle(new Request("http://localhost/login", form({ email: "admin@example.com", password: PASSWORDS.admin }, { origin: "https://evil.test" })));
    expect(login.status).toBe(403);
    const same = await t.app.handle(new Request("http://localhost/logout", form({}, { cookie: t.cookie })));
    expect(same.status).toBe(303);
    expect((await t.call("GET", "/api/v1/auth/me", { auth: t.cookie })).status).toBe(401);
  });

  test("checkWebSocketOrigin accepts only our origin", async () => {
    const config = loadConfig({ BROWSERGRID_DATA_DIR: mkdtempSync(join(tmpdir(), "bg-")), BROWSERGRID_PUBLIC_URL: "https://grid.example.com" });
    const ws = (origin?: string, host = "grid.example.com") =>
      new Request("http://grid.example.com/live/x", { headers: { upgrade: "websocket", host, ...(origin ? { origin } : {}) } });
    expect(checkWebSocketOrigin(ws("https://grid.example.com"), config)).toBe(true);
    expect(checkWebSocketOrigin(ws("https://evil.test"), config)).toBe(false);
    expect(checkWebSocketOrigin(ws(), config)).toBe(false);
    expect(checkWebSocketOrigin(ws("null"), config)).toBe(false);
    expect(checkWebSocketOrigin(ws("http://127.0.0.1:7070", "127.0.0.1:7070"), config)).toBe(true);
  });
});

describe("behind a real socket", () => {
  test("trusted proxy header auth: known email signs in, unknown is 401, untrusted peers are ignored", async () => {
    const { listen } = await import("../../http/server");
    const trusted = await makeTestApp({ env: { BROWSERGRID_TRUSTED_PROXIES: "127.0.0.1", BROWSERGRID_AUTH_PROXY_HEADER: "X-Auth-Email" } });
    const untrusted = await makeTestApp({ env: { BROWSERGRID_TRUSTED_PROXIES: "10.9.9.9", BROWSERGRID_AUTH_PROXY_HEADER: "X-Auth-Email" } });
    const servers = [trusted, untrusted].map((t) => listen({ host: "127.0.0.1", port: 0, app: t.app as never }));
    try {
      const [a, b] = servers.map((s) => `http://127.0.0.1:${s.port}`);
      const me = (base: string, email: string) => fetch(`${base}/api/v1/auth/me`, { headers: { "x-auth-email": email } });
      const ok = await me(a!, "Member@example.com");
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ type: "proxy", role: "member", via: "proxy" });
      expect((await me(a!, "stranger@example.com")).status).toBe(401);
      expect((await me(b!, "admin@example.com")).status).toBe(401);
      // The audit log sees the real peer, and X-Forwarded-For only from the trusted proxy.
      await fetch(`${a}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json", "x-forwarded-for": "203.0.113.7" }, body: JSON.stringify({ email: "x@example.com", password: "wrong-password-1" }) });
      await fetch(`${b}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json", "x-forwarded-for": "203.0.113.7" }, body: JSON.stringify({ email: "x@example.com", password: "wrong-password-1" }) });
      const ipOf = (t: typeof trusted) => (t.deps.db.$client.query("SELECT ip FROM audit_log WHERE action = 'auth.login_failed'").get() as { ip: string }).ip;
      expect(ipOf(trusted)).toBe("203.0.113.7");
      expect(ipOf(untrusted)).toBe("127.0.0.1");
    } finally {
      for (const s of servers) s.stop(true);
    }
  });
});

describe("bad input to sign-in", () => {
  const cases: [string, unknown][] = [
    ["over-long email", { email: `${"a".repeat(300)}@example.com`, password: "whatever-long-1" }],
    ["over-long password", { email: "admin@example.com", password: "p".repeat(300) }],
    ["unknown field", { email: "admin@example.com", password: PASSWORDS.admin, remember: true }],
    ["missing password", { email: "admin@example.com" }],
    ["wrong type", { email: ["admin@example.com"], password: PASSWORDS.admin }],
    ["not JSON", "email=admin"],
  ];
  for (const [name, body] of cases)
    test(name, async () => {
      const t = await makeTestApp();
      const r = await t.call("POST", "/api/v1/auth/login", { body });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBeString();
      expect(r.body.error.message).toBeString();
      expect(r.headers.get("set-cookie")).toBeNull();
      expect(t.deps.db.$client.query("SELECT count(*) AS n FROM auth_sessions").get()).toEqual({ n: 1 });
    });

  test("a malformed or unknown session cookie is cleared, not an error", async () => {
    const t = await makeTestApp();
    for (const c of ["bg_session=garbage", `bg_session=${"A".repeat(43)}`, `bg_session=${"A".repeat(5000)}`]) {
      const r = await t.app.handle(new Request("http://localhost/", { headers: { cookie: c } }));
      expect(r.status).toBe(303);
      expect(r.headers.get("set-cookie")).toContain("Max-Age=0");
    }
  });

  test("htmx requests are told where to go with HX-Redirect", async () => {
    const t = await makeTestApp();
    const r = await t.app.handle(new Request("http://localhost/", { headers: { "hx-request": "true" } }));
    expect(r.headers.get("hx-redirect")).toBe("/login");
  });
});
