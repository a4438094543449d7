// BrowserGrid's own CDP link, shared end to end: a real BrowserGrid process, real Docker, real
// Chromium (headless-shell) and Playwright through the gateway. A session's rule engine, its
// live view and a screenshot use ONE WebSocket to the browser (counted on the host), each
// keeps to its own attachments — the rules still cover tabs opened after a screenshot — and
// when the rule engine lets go while the live view still holds the link, new tabs load
// unhindered (its auto-attach, which holds every new tab until set up, went with it).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { browserNetwork, startIsolatedGrid, startPageServer, waitFor, type Grid } from "../helpers/grid";

const TABLE = "bglinks_e2e";
const NETWORK = "browsergrid-links-e2e";

let grid: Grid;
let pages: Awaited<ReturnType<typeof startPageServer>>;
/** The page server as this grid's browsers reach it (the Docker host on the grid's own network). */
let base: string;
const created: string[] = [];
const browsers: Browser[] = [];
const streams: AbortController[] = [];

const RULES = [
  { match: { urlPattern: "*/rules/pixel.png*", resourceTypes: ["Image"] }, action: { type: "block" } },
  { match: { urlPattern: "*/rules/script.js*" }, action: { type: "block" } },
  { match: { urlPattern: "*/api/data*", methods: ["GET"] }, action: { type: "mock", status: 203, headers: { "x-mock": "yes", "content-type": "application/json" }, body: '{"mocked":true}' } },
];

beforeAll(async () => {
  grid = await startIsolatedGrid({ network: NETWORK, table: TABLE });
  pages = await startPageServer();
  const gateway = (await browserNetwork(NETWORK)).IPAM!.Config![0]!.Gateway!;
  base = `http://${gateway}:${new URL(pages.url).port}`;
  expect((await grid.api("POST", "/api/v1/rule-sets", { name: "link-rules", description: "e2e", rules: RULES })).status).toBe(201);
}, 90_000);

afterAll(async () => {
  for (const s of streams) s.abort();
  for (const b of browsers) await b.close().catch(() => {});
  for (const id of created) await grid?.api("DELETE", `/api/v1/sessions/${id}`).catch(() => {});
  await grid?.dispose();
  if (grid) rmSync(grid.dataDir, { recursive: true, force: true });
  pages?.stop();
}, 60_000);

/** The live view's event stream, read in the background: event names in order, frames counted. */
function watchLive(liveUrl: string) {
  const abort = new AbortController();
  streams.push(abort);
  const seen = { frames: 0, events: [] as string[] };
  const u = new URL(liveUrl);
  void (async () => {
    const res = await fetch(`${grid.url}${u.pathname}/stream${u.search}`, { signal: abort.signal });
    expect(res.status).toBe(200);
    const decoder = new TextDecoder();
    let buffer = "";
    const reader = res.body!.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (let i = buffer.indexOf("\n\n"); i >= 0; i = buffer.indexOf("\n\n")) {
        const name = /^event: (.+)$/m.exec(buffer.slice(0, i))?.[1];
        buffer = buffer.slice(i + 2);
        if (name === "frame") seen.frames++;
        else if (name) seen.events.push(name);
      }
    }
  })().catch(() => {});
  return seen;
}

/** Established TCP connections from this host to the session's browser CDP endpoint. */
function connectionsToBrowser(sessionId: string): number {
  const db = new Database(join(grid.dataDir, "browsergrid.db"), { readonly: true });
  try {
    const row = db.query("SELECT cdp_endpoint FROM sessions WHERE id = ?").get(sessionId) as { cdp_endpoint: string };
    const out = Bun.spawnSync(["ss", "-Htn", "state", "established", "dst", row.cdp_endpoint]).stdout.toString();
    return out.split("\n").filter((l) => l.trim()).length;
  } finally {
    db.close();
  }
}

async function loadRulesPage(page: Page, tag: string) {
  await page.goto(`${base}/rules/page?tag=${tag}`, { timeout: 15_000 });
  await page.waitForFunction(() => document.getElementById("data")!.textContent !== "pending");
  return {
    data: JSON.parse((await page.textContent("#data"))!),
    imageLoaded: await page.evaluate(() => (document.getElementById("img") as HTMLImageElement).naturalWidth > 0),
    scriptRan: await page.evaluate(() => (window as unknown as { scriptRan?: boolean }).scriptRan === true),
  };
}

describe("one BrowserGrid link per session", () => {
  test("rule engine, live view and screenshot share one socket; each keeps to its own attachments; the rules' end frees new tabs", async () => {
    const res = await grid.api("POST", "/api/v1/sessions", { keepAlive: true, ruleSets: ["link-rules"] });
    expect(res.status).toBe(201);
    const s = res.body as { id: string; cdpUrl: string; liveUrl: string };
    created.push(s.id);

    // The live view joins the link the rule engine opened at create.
    const live = watchLive(s.liveUrl);
    await waitFor("a live frame", async () => live.frames > 0, 15_000, 50);
    const shot = await grid.api("POST", `/api/v1/sessions/${s.id}/screenshot`, {});
    expect(shot.status).toBe(201);
    expect(shot.body.kind).toBe("screenshot");
    await waitFor("one link to the browser", async () => connectionsToBrowser(s.id) === 1, 5_000, 100);

    // A client through the gateway: the rules cover the first tab and a tab opened after the screenshot.
    const b = await chromium.connectOverCDP(s.cdpUrl);
    browsers.push(b);
    const context = b.contexts()[0]!;
    const applied = { data: { status: 203, mock: "yes", body: '{"mocked":true}' }, imageLoaded: false, scriptRan: false };
    expect(await loadRulesPage(context.pages()[0]!, "first")).toEqual(applied);
    const second = await context.newPage();
    expect(await loadRulesPage(second, "after-shot")).toEqual(applied);
    // The live view follows the newest tab; a page that changes gives it new frames.
    await Bun.sleep(500);
    const framesBefore = live.frames;
    await second.evaluate(() => (document.body.style.background = "rgb(200, 30, 30)"));
    await waitFor("live frames keep coming", async () => live.frames > framesBefore, 15_000, 50);

    // The rules go while the live view still holds the link: a new tab is not held for them.
    const off = await grid.api("PUT", `/api/v1/sessions/${s.id}/rule-sets`, { ruleSets: [] });
    expect(off.status).toBe(200);
    expect(await loadRulesPage(await context.newPage(), "rules-off")).toEqual({ data: { status: 200, mock: null, body: '{"real":true}' }, imageLoaded: true, scriptRan: true });
    // The gateway's upstream for the client, and BrowserGrid's one link.
    expect(connectionsToBrowser(s.id)).toBe(2);

    // The session's end closes the link under the live view: its viewers are told.
    expect((await grid.api("DELETE", `/api/v1/sessions/${s.id}`)).status).toBe(200);
    await waitFor("the live view told the session ended", async () => live.events.includes("ended"), 15_000, 50);
  }, 120_000);
});
