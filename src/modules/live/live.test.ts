// Live-view links and the admin pages at the route level (no browser, no Docker): a link is
// admitted only with its exact signature, before its expiry and in its mode; the cookie never
// stands in for it; pages escape what they show and forms refuse bad input without storing.
import { describe, expect, test } from "bun:test";
import { makeTestApp, ORIGIN } from "../../../test/helpers/app";
import { liveQuery, signedLiveUrl, verifyLiveQuery } from "./live.tokens";
import { normalizeUrl } from "./live.supervisor";
import { connectSnippets } from "../connect/connect.pages";

const key = Buffer.alloc(32, 7);
const NOW = 1_800_000_000_000;

describe("live link signatures", () => {
  const exp = String(NOW / 1000 + 600);
  const q = (over: Record<string, string> = {}) => Object.fromEntries(new URLSearchParams(liveQuery(key, { sessionId: "ses_a", mode: "view", exp: Number(exp) })).entries()) as Record<string, string> & typeof over;

  test("the exact link is admitted", () => {
    expect(verifyLiveQuery(key, "ses_a", q(), NOW)).toEqual({ sessionId: "ses_a", mode: "view", exp: Number(exp) });
  });
  const refused: [string, (x: Record<string, string>) => Record<string, string>, string?, number?][] = [
    ["another session", (x) => x, "ses_b"],
    ["mode upgraded to control", (x) => ({ ...x, mode: "control" })],
    ["expiry stretched", (x) => ({ ...x, exp: String(Number(x.exp) + 3600) })],
    ["signature altered", (x) => ({ ...x, t: x.t!.slice(0, -2) + "AA" })],
    ["no signature", ({ t: _t, ...x }) => x],
    ["expired", (x) => x, "ses_a", NOW + 601_000],
    ["expiry beyond a week", (x) => ({ ...x, exp: String(NOW / 1000 + 30 * 86400) })],
  ];
  for (const [name, alter, id = "ses_a", at = NOW] of refused)
    test(`refused: ${name}`, () => expect(verifyLiveQuery(key, id, alter(q()), at)).toBeNull());

  test("signed URLs are stable within five minutes and default to one hour", () => {
    const a = signedLiveUrl("http://grid.test", key, "ses_a", "view", undefined, NOW + 1000);
    const b = signedLiveUrl("http://grid.test", key, "ses_a", "view", undefined, NOW + 60_000);
    expect(a.url).toBe(b.url);
    expect(a.exp * 1000 - NOW).toBeGreaterThanOrEqual(3600_000);
    expect(a.exp * 1000 - NOW).toBeLessThanOrEqual(3900_000);
  });

  test("the live view opens web addresses only", () => {
    expect(normalizeUrl("example.com/x")).toBe("https://example.com/x");
    for (const bad of ["javascript:alert(1)", "file:///etc/passwd", "chrome://settings", "data:text/html,x"]) expect(() => normalizeUrl(bad)).toThrow();
  });
});

describe("live routes", () => {
  test("public live routes refuse a missing or bad signature, even with an admin cookie", async () => {
    const t = await makeTestApp();
    for (const path of ["/live/ses_x", "/live/ses_x/stream", "/live/ses_x?t=abc&exp=9999999999&mode=view"]) {
      const res = await t.app.handle(new Request(`http://localhost${path}`, { headers: { cookie: t.cookie } }));
      expect(`${path} ${res.status}`).toBe(`${path} 403`);
    }
    const input = await t.app.handle(
      new Request("http://localhost/live/ses_x/input", { method: "POST", headers: { cookie: t.cookie, origin: ORIGIN, "content-type": "application/json" }, body: JSON.stringify({ type: "reload" }) }),
    );
    expect(input.status).toBe(403);
  });

  test("a valid link to a session that is not running says so (410), and input needs a control link", async () => {
    const t = await makeTestApp();
    const { url } = signedLiveUrl("http://localhost", t.deps.installKey, "ses_gone", "view", 600, (t.deps.now ?? Date.now)());
    const res = await t.app.handle(new Request(url));
    expect(res.status).toBe(410);
    const inputUrl = url.replace("/live/ses_gone?", "/live/ses_gone/input?");
    const r2 = await t.app.handle(new Request(inputUrl, { method: "POST", headers: { origin: ORIGIN, "content-type": "application/json" }, body: JSON.stringify({ type: "reload" }) }));
    expect(r2.status).toBe(403);
  });
});

describe("admin pages", () => {
  test("every page renders for an admin with the strict CSP and no inline script", async () => {
    const t = await makeTestApp();
    for (const path of ["/", "/sessions", "/api-keys", "/users", "/audit", "/quickstart", "/pools", "/workers"]) {
      const res = await t.app.handle(new Request(`http://localhost${path}`, { headers: { cookie: t.cookie } }));
      const body = await res.text();
      expect(`${path} ${res.status}`).toBe(`${path} 200`);
      expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(body).not.toMatch(/\sstyle=|\son[a-z]+=/i);
    }
  });

  test("viewers read but get no create forms; members cannot open admin pages", async () => {
    const t = await makeTestApp();
    const viewer = await t.call("GET", "/sessions", { auth: t.viewerKey });
    expect(viewer.status).toBe(200);
    expect(viewer.body).not.toContain('id="create-session"');
    expect((await t.call("GET", "/users", { auth: t.memberKey })).status).toBe(403);
    expect((await t.call("GET", "/audit", { auth: t.memberKey })).status).toBe(403);
  });

  test("the create-session form refuses bad input next to the field and stores nothing", async () => {
    const t = await makeTestApp();
    const form = new URLSearchParams({ pool: "default", width: "50", height: "720", locale: "<script>", timezone: "" });
    const res = await t.app.handle(
      new Request("http://localhost/sessions", { method: "POST", headers: { cookie: t.cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" }, body: form.toString() }),
    );
    const body = await res.text();
    expect(res.status).toBe(400);
    expect(body).toContain('id="width-error">Width must be a whole number from 200 to 7680.');
    expect(body).toContain('id="locale-error"');
    expect(body).toContain('value="&lt;script&gt;"');
    expect(t.deps.db.$client.query("SELECT count(*) AS n FROM sessions").get()).toEqual({ n: 0 });
  });

  test("API key form: an empty name is refused inline and nothing is stored; a cross-site post is refused", async () => {
    const t = await makeTestApp();
    const count = () => (t.deps.db.$client.query("SELECT count(*) AS n FROM api_keys").get() as { n: number }).n;
    const before = count();
    const post = (origin: string) =>
      t.app.handle(new Request("http://localhost/api-keys", { method: "POST", headers: { cookie: t.cookie, origin, "content-type": "application/x-www-form-urlencoded" }, body: "name=&role=member&expires=" }));
    const res = await post(ORIGIN);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('id="name-error">Give the key a name.');
    expect((await post("https://evil.test")).status).toBe(403);
    expect(count()).toBe(before);
  });

  test("connect snippets carry this install's URL and never a key", () => {
    const s = connectSnippets("https://grid.example.com");
    expect(s.node).toContain('"wss://grid.example.com/connect?token=" + process.env.BROWSERGRID_API_KEY');
    expect(s.python).toContain('connect_over_cdp(\n        "wss://grid.example.com/connect?token="');
    expect(s.puppeteer).toContain("browserWSEndpoint");
    expect(Object.values(s).join("")).not.toMatch(/bg_[A-Za-z0-9]+_[A-Za-z0-9]/);
  });
});
