// Who may take over a session, end to end: a real BrowserGrid, real Chromium containers, real
// CDP clients through the gateway. A viewer reads sessions without their connect secrets; the
// BrowserGrid.* domain acts with the session owner's standing; a disabled or deleted owner's
// sessions end — connected clients closed, cdpUrl and live link dead, container removed.
//
// Isolation: this grid uses its own Docker network and nftables table, so it never touches the
// other grids' ones.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { ADMIN_KEY, containersOfSession, startIsolatedGrid, waitFor, type Grid } from "../helpers/grid";

const TABLE = "bgaccess_e2e";
const NETWORK = "browsergrid-access-e2e";
const MAIN = join(import.meta.dir, "../../src/main.ts");
const PASSWORD = "access-e2e-password-long";

let grid: Grid;
const created: string[] = [];

/** A user of `role` and an API key of theirs (made with `browsergrid keys create`, as an operator would). */
async function userWithKey(email: string, role: "member" | "viewer"): Promise<{ id: string; key: string }> {
  const u = await grid.api("POST", "/api/v1/users", { email, password: PASSWORD, role });
  expect(u.status).toBe(201);
  const p = Bun.spawnSync([process.execPath, "run", MAIN, "keys", "create", "--email", email, "--name", "e2e"], {
    env: { PATH: process.env.PATH!, HOME: grid.dataDir, BROWSERGRID_DATA_DIR: grid.dataDir, BROWSERGRID_LOG_LEVEL: "error" },
  });
  expect(p.exitCode).toBe(0);
  return { id: u.body.id, key: p.stdout.toString().trim() };
}

function as(key: string) {
  return { authorization: `Bearer ${key}` };
}

async function createSession(key: string) {
  const res = await grid.api("POST", "/api/v1/sessions", { keepAlive: true }, as(key));
  expect(res.status).toBe(201);
  created.push(res.body.id);
  return res.body as { id: string; cdpUrl: string; liveUrl: string | null };
}

/** A raw CDP client over the gateway: commands by id, and how the socket closed. */
async function cdpClient(url: string) {
  const ws = new WebSocket(url);
  const pending = new Map<number, (m: { result?: any; error?: { code: number; message: string } }) => void>();
  let seq = 0;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })));
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(String(e.data));
    pending.get(m.id)?.(m);
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener("error", () => reject(new Error(`could not connect to ${url}`)));
  });
  return {
    closed,
    send(method: string, params: Record<string, unknown> = {}) {
      const id = ++seq;
      ws.send(JSON.stringify({ id, method, params }));
      return new Promise<{ result?: any; error?: { code: number; message: string } }>((resolve) => pending.set(id, resolve));
    },
    close: () => ws.close(),
  };
}

/** The gateway's answer to the session's discovery URL (the http form of its cdpUrl). */
async function discoveryStatus(cdpUrl: string): Promise<number> {
  const u = new URL(cdpUrl.replace(/^ws/, "http"));
  return (await fetch(`${u.origin}${u.pathname}/json/version${u.search}`)).status;
}

beforeAll(async () => {
  grid = await startIsolatedGrid({ network: NETWORK, table: TABLE });
}, 60_000);

afterAll(async () => {
  for (const id of created) await grid?.api("DELETE", `/api/v1/sessions/${id}`).catch(() => {});
  await grid?.dispose();
}, 60_000);

describe("connect secrets", () => {
  test("a viewer reads sessions without cdpUrl or live link (API, fast path, UI), the owner and admins get them", async () => {
    const member = await userWithKey("owner@example.com", "member");
    const viewer = await userWithKey("reader@example.com", "viewer");
    const mine = await createSession(member.key);
    expect(mine.cdpUrl).toContain(`/cdp/${mine.id}?token=`);
    const token = new URL(mine.cdpUrl).searchParams.get("token")!;

    // A plain GET with a Bearer key is answered by the fast-read path; the query string goes to Elysia.
    for (const path of ["/api/v1/sessions", "/api/v1/sessions?limit=50", `/api/v1/sessions/${mine.id}`]) {
      const res = await grid.api("GET", path, undefined, as(viewer.key));
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      const seen = (res.body.sessions ?? [res.body]).find((s: { id: string }) => s.id === mine.id);
      expect({ path, cdpUrl: seen.cdpUrl, liveUrl: seen.liveUrl }).toEqual({ path, cdpUrl: null, liveUrl: null });
      expect(JSON.stringify(res.body)).not.toContain(token);
    }
    for (const key of [member.key, ADMIN_KEY]) expect((await grid.api("GET", `/api/v1/sessions/${mine.id}`, undefined, as(key))).body.cdpUrl).toBe(mine.cdpUrl);

    const login = await fetch(`${grid.url}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json", origin: grid.url }, body: JSON.stringify({ email: "reader@example.com", password: PASSWORD }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    const page = await fetch(`${grid.url}/sessions/${mine.id}`, { headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(mine.id);
    expect(html).not.toContain(token);
  }, 120_000);

  test("BrowserGrid.liveURL over a real connection: control while the owner may control, refused once the owner is a viewer", async () => {
    const member = await userWithKey("liveurl@example.com", "member");
    const s = await createSession(member.key);
    const client = await cdpClient(s.cdpUrl);
    const version = await client.send("Browser.getVersion");
    expect(version.result.product).toContain("Chrome");
    const ok = await client.send("BrowserGrid.liveURL", { mode: "control" });
    expect(ok.result.mode).toBe("control");
    expect(ok.result.liveUrl).toContain("mode=control");

    // The owner's role changes under the open connection without the account path (another
    // process on the same database): the domain checks the owner's current role itself.
    const db = new Database(join(grid.dataDir, "browsergrid.db"));
    db.run("PRAGMA busy_timeout = 5000");
    db.query("UPDATE users SET role = 'viewer' WHERE id = ?").run(member.id);
    db.close();
    for (const mode of ["control", "view"]) {
      const refused = await client.send("BrowserGrid.liveURL", { mode });
      expect({ mode, result: refused.result, error: refused.error?.message }).toEqual({ mode, result: undefined, error: expect.stringContaining("may no longer control") });
    }
    // And the token opens nothing new.
    expect(await discoveryStatus(s.cdpUrl)).toBe(401);
    client.close();
  }, 120_000);
});

describe("a disabled or deleted owner's sessions end", () => {
  for (const how of ["disabled", "deleted"] as const)
    test(`${how}: the connected Playwright client is closed, cdpUrl and live link refuse, the container is removed`, async () => {
      const member = await userWithKey(`${how}@example.com`, "member");
      const s = await createSession(member.key);
      expect(s.liveUrl).not.toBeNull();
      const browser = await chromium.connectOverCDP(s.cdpUrl);
      const disconnected = new Promise<void>((resolve) => browser.on("disconnected", () => resolve()));
      const page = await browser.contexts()[0]!.newPage();
      expect(await page.evaluate(() => 6 * 7)).toBe(42);
      const raw = await cdpClient(s.cdpUrl);
      expect(await discoveryStatus(s.cdpUrl)).toBe(200);

      const res = how === "disabled" ? await grid.api("PATCH", `/api/v1/users/${member.id}`, { disabled: true }) : await grid.api("DELETE", `/api/v1/users/${member.id}`);
      expect(res.status).toBe(how === "disabled" ? 200 : 204);

      // Ended before the answer: the session row, both clients, the token, the live link, the key.
      const row = (await grid.api("GET", `/api/v1/sessions/${s.id}`)).body;
      expect({ status: row.status, endReason: row.endReason }).toEqual({ status: "completed", endReason: expect.stringContaining(how) });
      await disconnected;
      expect((await raw.closed).code).toBe(4001);
      expect(await discoveryStatus(s.cdpUrl)).toBe(401);
      await expect(chromium.connectOverCDP(s.cdpUrl, { timeout: 5000 })).rejects.toThrow();
      expect((await fetch(s.liveUrl!)).status).toBe(410);
      expect((await grid.api("GET", "/api/v1/sessions", undefined, as(member.key))).status).toBe(401);
      await waitFor("container removed", async () => (await containersOfSession(s.id)).length === 0, 15_000, 100);
    }, 120_000);
});
