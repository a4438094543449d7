// Browser sessions end to end: BrowserGrid (a real server process) starts Chromium in a real
// container, and real Playwright and Puppeteer clients drive it through the CDP gateway.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chromium } from "playwright-core";
import puppeteer from "puppeteer-core";
import { ADMIN_KEY, containersOfSession, docker, startGrid, startPageServer, waitFor, type Grid } from "../helpers/grid";

let grid: Grid;
let pages: Awaited<ReturnType<typeof startPageServer>>;
const created: string[] = [];

async function createSession(body: Record<string, unknown> = {}) {
  const res = await grid.api("POST", "/api/v1/sessions", body);
  expect(res.status).toBe(201);
  created.push(res.body.id);
  return res.body as { id: string; cdpUrl: string; status: string; worker: string };
}

beforeAll(async () => {
  grid = await startGrid();
  pages = await startPageServer();
}, 60_000);

afterAll(async () => {
  for (const id of created) await grid.api("DELETE", `/api/v1/sessions/${id}`).catch(() => {});
  await grid?.dispose();
  pages?.stop();
});

describe("a session driven through the gateway", () => {
  test("Playwright connectOverCDP (ws): navigate, evaluate, screenshot; DELETE removes the container and kills the URL", async () => {
    const s = await createSession({ keepAlive: true });
    expect(s.status).toBe("running");
    expect(s.cdpUrl).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:\\d+/cdp/${s.id}\\?token=`));
    expect(await containersOfSession(s.id)).toHaveLength(1);

    const browser = await chromium.connectOverCDP(s.cdpUrl);
    const page = await browser.contexts()[0]!.newPage();
    await page.goto(`${pages.url}/playwright`);
    expect(await page.textContent("#h")).toBe("Hello /playwright");
    expect(await page.evaluate(() => (window as unknown as { answer: number }).answer)).toBe(42);
    const shot = await page.screenshot();
    expect(shot.subarray(1, 4).toString()).toBe("PNG");
    await browser.close();

    const del = await grid.api("DELETE", `/api/v1/sessions/${s.id}`);
    expect(del.status).toBe(200);
    expect(del.body.status).toBe("completed");
    await waitFor("container removed", async () => (await containersOfSession(s.id)).length === 0, 5000);
    await expect(chromium.connectOverCDP(s.cdpUrl, { timeout: 3000 })).rejects.toThrow();
  });

  test("Playwright connectOverCDP with the http form of the URL", async () => {
    const s = await createSession();
    const httpUrl = s.cdpUrl.replace(/^ws/, "http");
    const browser = await chromium.connectOverCDP(httpUrl);
    const page = await browser.contexts()[0]!.newPage();
    await page.goto(`${pages.url}/http-form`);
    expect(await page.title()).toBe("BrowserGrid test page");
    await browser.close();
  });

  test("/cdp/<id>/json/version answers like Chromium, pointing back at BrowserGrid", async () => {
    const s = await createSession({ keepAlive: true });
    const httpUrl = new URL(s.cdpUrl.replace(/^ws/, "http"));
    const res = await fetch(`${httpUrl.origin}${httpUrl.pathname}/json/version${httpUrl.search}`);
    expect(res.status).toBe(200);
    const v = await res.json();
    expect(v.Browser).toContain("Chrome");
    expect(v.webSocketDebuggerUrl).toStartWith(`ws://127.0.0.1:`);
    expect(v.webSocketDebuggerUrl).toContain(`/cdp/${s.id}`);
    const bad = await fetch(`${httpUrl.origin}${httpUrl.pathname}/json/version?token=nope`);
    expect(bad.status).toBe(401);
  });

  test("Puppeteer connect: navigate and evaluate; Playwright on the same session at once", async () => {
    const s = await createSession({ keepAlive: true });
    const pptr = await puppeteer.connect({ browserWSEndpoint: s.cdpUrl });
    const pw = await chromium.connectOverCDP(s.cdpUrl);
    const p1 = await pptr.newPage();
    const p2 = await pw.contexts()[0]!.newPage();
    await Promise.all([p1.goto(`${pages.url}/puppeteer`), p2.goto(`${pages.url}/both`)]);
    expect(await p1.$eval("#h", (e) => e.textContent)).toBe("Hello /puppeteer");
    expect(await p2.textContent("#h")).toBe("Hello /both");
    expect(await p1.evaluate(() => 6 * 7)).toBe(42);
    await pptr.disconnect();
    await pw.close();
  });

  test("the token of session A does not open session B; an API key is not a connect token", async () => {
    const a = await createSession({ keepAlive: true });
    const b = await createSession({ keepAlive: true });
    const tokenA = new URL(a.cdpUrl).searchParams.get("token")!;
    const crossed = b.cdpUrl.replace(/token=[^&]+/, `token=${tokenA}`);
    await expect(chromium.connectOverCDP(crossed, { timeout: 3000 })).rejects.toThrow();
    const res = await fetch(crossed.replace(/^ws/, "http").replace("?", "/json/version?"));
    expect(res.status).toBe(401);
  });
});

describe("quick connect", () => {
  test("connect with an API key, use, close → the session is completed and its container gone", async () => {
    const wsUrl = `${grid.url.replace(/^http/, "ws")}/connect?token=${ADMIN_KEY}`;
    const browser = await chromium.connectOverCDP(wsUrl);
    const page = await browser.contexts()[0]!.newPage();
    await page.goto(`${pages.url}/quick`);
    expect(await page.textContent("#h")).toBe("Hello /quick");
    const list = await grid.api("GET", "/api/v1/sessions?status=running&limit=100");
    const running = list.body.sessions.filter((x: { id: string }) => !created.includes(x.id));
    expect(running.length).toBeGreaterThanOrEqual(1);
    const id = running[0].id as string;
    await browser.close();
    await waitFor("session completed", async () => (await grid.api("GET", `/api/v1/sessions/${id}`)).body.status === "completed", 5000);
    await waitFor("container removed", async () => (await containersOfSession(id)).length === 0, 5000);
  });
});

describe("failures and timeouts", () => {
  test("docker kill → the client is closed and the session is crashed", async () => {
    const s = await createSession({ keepAlive: true });
    const browser = await chromium.connectOverCDP(s.cdpUrl);
    const [c] = await containersOfSession(s.id);
    const disconnected = new Promise<number>((resolve) => browser.on("disconnected", () => resolve(performance.now())));
    const killedAt = performance.now();
    await docker.getContainer(c!.Id).kill();
    const closedAt = await disconnected; // how fast: bench/crash.ts
    console.log(`docker kill → client closed: ${(closedAt - killedAt).toFixed(0)} ms`);
    await waitFor("crashed", async () => (await grid.api("GET", `/api/v1/sessions/${s.id}`)).body.status === "crashed", 3000);
    await waitFor("container removed", async () => (await containersOfSession(s.id)).length === 0, 5000);
  });

  test("idle timeout ends a session nobody connected to", async () => {
    const s = await createSession({ idleTimeoutSec: 1 });
    const ended = await waitFor(
      "timed out",
      async () => {
        const r = await grid.api("GET", `/api/v1/sessions/${s.id}`);
        return r.body.status === "timed_out" ? r.body : null;
      },
      5000,
    );
    expect(ended.endReason).toContain("idle");
  });

  test("hard timeout closes the connected client with a reason", async () => {
    const s = await createSession({ timeoutSec: 2 });
    const ws = new WebSocket(s.cdpUrl);
    await new Promise((r) => (ws.onopen = r));
    const closed = await new Promise<CloseEvent>((r) => (ws.onclose = r));
    expect(closed.reason).toContain("timed_out");
    await waitFor("timed_out", async () => (await grid.api("GET", `/api/v1/sessions/${s.id}`)).body.status === "timed_out", 5000);
  });

  test("keepAlive: the session survives a disconnect and the same cdpUrl reconnects", async () => {
    const s = await createSession({ keepAlive: true, idleTimeoutSec: 3 });
    const first = await chromium.connectOverCDP(s.cdpUrl);
    const page = await first.contexts()[0]!.newPage();
    await page.goto(`${pages.url}/kept`);
    await first.close();
    await Bun.sleep(300);
    expect((await grid.api("GET", `/api/v1/sessions/${s.id}`)).body.status).toBe("running");
    const again = await chromium.connectOverCDP(s.cdpUrl);
    const urls = again.contexts()[0]!.pages().map((p) => p.url());
    expect(urls).toContain(`${pages.url}/kept`);
    await again.close();
    await waitFor("idle timeout after the last disconnect", async () => (await grid.api("GET", `/api/v1/sessions/${s.id}`)).body.status === "timed_out", 8000);
  });
});

describe("bad input leaves nothing behind", () => {
  const cases: [string, unknown, number, RegExp][] = [
    ["unknown field", { colour: "red" }, 400, /colour/],
    ["viewport too small", { viewport: { width: 10, height: 10 } }, 400, /viewport/],
    ["viewport not a number", { viewport: { width: "wide", height: 700 } }, 400, /viewport/],
    ["timeout out of range", { timeoutSec: 0 }, 400, /timeoutSec/],
    ["idle timeout out of range", { idleTimeoutSec: 999999999 }, 400, /idleTimeoutSec/],
    ["oversized metadata", { metadata: { blob: "x".repeat(20_000) } }, 400, /metadata/],
    ["unknown pool", { pool: "nowhere" }, 400, /pool/],
    ["1 MB body", { metadata: { blob: "x".repeat(1_100_000) } }, 413, /too large|limited/],
  ];
  for (const [name, body, status, message] of cases)
    test(`${name} → ${status}`, async () => {
      const before = (await grid.api("GET", "/api/v1/sessions?limit=500")).body.sessions.length;
      // Ids, not a count: an earlier test's container may still be going away in the background.
      const containerIds = async () => (await docker.listContainers({ all: true, filters: { label: ["browsergrid.session"] } })).map((c) => c.Id);
      const containersBefore = new Set(await containerIds());
      const res = await grid.api("POST", "/api/v1/sessions", body);
      expect(res.status).toBe(status);
      expect(res.body.error.message).toMatch(message);
      expect(typeof res.body.error.code).toBe("string");
      expect((await grid.api("GET", "/api/v1/sessions?limit=500")).body.sessions.length).toBe(before);
      expect((await containerIds()).filter((id) => !containersBefore.has(id))).toEqual([]);
    });
});
