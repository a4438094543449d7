// What the gateway answers for the URL forms of src/cdp/routes.ts that need no browser: the
// root /json/version (quick connect only), the appended discovery suffix on quick connect, and
// the refusals of half-understood URLs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gatewayUrlFormSamples } from "./routes";
import { startFixture, type Fixture } from "./test-fixture";

let fx: Fixture;
const TOKEN = "tok-s1-secret";
const WS_HEADERS = { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" };

beforeAll(async () => {
  fx = await startFixture(null);
  fx.addSession("s1", TOKEN, { host: "127.0.0.1", port: 1 });
});
afterAll(() => fx?.stop());

const get = async (path: string, ws = false) => {
  const res = await fetch(fx.base + path, { headers: ws ? WS_HEADERS : {} });
  return { status: res.status, body: await res.json() };
};

describe("root /json/version (chromedp keeps only the query)", () => {
  test("with a session's own token it is that session's discovery (chromedp given a cdpUrl)", async () => {
    // s1's browser is not there (port 1): reaching for it, not a 401, shows the token named s1.
    const r = await get(`/json/version/?token=${TOKEN}`);
    expect(r).toMatchObject({ status: 502, body: { error: { code: "browser_unavailable" } } });
  });

  test("with an API key it answers quick connect, the session options kept", async () => {
    const r = await get("/json/version?token=bg_good_key&keepAlive=true");
    expect(r.status).toBe(200);
    expect(r.body.webSocketDebuggerUrl).toBe(`ws://127.0.0.1:${fx.port}/connect?token=bg_good_key&keepAlive=true`);
  });

  const refused: [name: string, path: string][] = [
    ["no credential (Puppeteer 21 browserURL)", "/json/version"],
    ["a token that is no session's and no API key", `/json/version/?token=${TOKEN}x`],
    ["a wrong API key", "/json/version?token=bg_bad_key"],
  ];
  for (const [name, path] of refused)
    test(`${name}: 401 naming the forms that work`, async () => {
      const r = await get(path);
      expect(r.status).toBe(401);
      expect(r.body.error.message).toContain("browserWSEndpoint");
    });
});

test("quick connect with the discovery path appended after the query (Playwright before 1.5x)", async () => {
  const r = await get("/connect?token=bg_good_key&keepAlive=true/json/version/");
  expect(r.status).toBe(200);
  expect(r.body.webSocketDebuggerUrl).toBe(`ws://127.0.0.1:${fx.port}/connect?token=bg_good_key&keepAlive=true`);
});

describe("half-understood URLs are refused before any credential check", () => {
  for (const path of [`/cdp/s1~${TOKEN}?token=${TOKEN}`, `/cdp/s1?token=${TOKEN}&token=x`, `/cdp/s1?token=${TOKEN}/devtools/browser`, `/cdp/s1?token=${TOKEN}/json/version/../x`, "/cdp/s1~"])
    for (const ws of [false, true])
      test(`400 ${ws ? "ws" : "http"} ${path}`, async () => {
        const r = await get(path, ws);
        expect(r).toMatchObject({ status: 400, body: { error: { code: "bad_cdp_url" } } });
      });
});

test("a wrong token in the path is the same 401 as a wrong ?token=", async () => {
  for (const ws of [false, true]) {
    const inPath = await get("/cdp/s1~wrong/json/version/", ws);
    const inQuery = await get("/cdp/s1/json/version/?token=wrong", ws);
    expect(inPath).toEqual(inQuery);
    expect(inPath.status).toBe(401);
  }
});

test("every URL form with a wrong token gets the one 401, over HTTP and as a WebSocket", async () => {
  const forms = gatewayUrlFormSamples("s1", "wrong-token");
  expect(forms.length).toBeGreaterThan(30);
  for (const path of forms)
    for (const ws of [false, true]) {
      const r = await get(path, ws);
      expect({ path, ws, status: r.status, code: r.body.error.code }).toEqual({ path, ws, status: 401, code: "unauthorized" });
    }
});
