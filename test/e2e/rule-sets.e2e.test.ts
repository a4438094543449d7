// Rule sets end to end: a real BrowserGrid process, real Docker, real Chromium (headless-shell)
// and Playwright through the gateway. The rules run in BrowserGrid's own CDP connection, so the
// client does nothing special; what a rule blocked is proven by the page server never seeing it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { startGrid, startPageServer, waitFor, type Grid } from "../helpers/grid";

let grid: Grid;
let pages: Awaited<ReturnType<typeof startPageServer>>;
const live: string[] = [];
const browsers: Browser[] = [];

const RULES = [
  { match: { urlPattern: "*/rules/pixel.png*", resourceTypes: ["Image"] }, action: { type: "block" } },
  { match: { urlPattern: "*/rules/script.js*" }, action: { type: "block" } },
  { match: { urlPattern: "*/api/data*", methods: ["GET"] }, action: { type: "mock", status: 203, headers: { "x-mock": "yes", "content-type": "application/json" }, body: '{"mocked":true}' } },
  { match: { urlPattern: "*/echo*" }, action: { type: "modifyRequestHeaders", set: { "X-Grid-Rule": "on" }, remove: ["x-drop-me"] } },
  { match: { urlPattern: "*/with-header*" }, action: { type: "modifyResponseHeaders", set: { "X-Added": "by-rule" }, remove: ["x-origin-header"] } },
];

beforeAll(async () => {
  grid = await startGrid();
  pages = await startPageServer();
  const res = await grid.api("POST", "/api/v1/rule-sets", { name: "site-rules", description: "e2e", rules: RULES });
  expect(res.status).toBe(201);
}, 60_000);

afterAll(async () => {
  for (const b of browsers) await b.close().catch(() => {});
  for (const id of live) await grid.api("DELETE", `/api/v1/sessions/${id}`).catch(() => {});
  await grid?.dispose();
  pages?.stop();
});

async function session(body: Record<string, unknown>) {
  const res = await grid.api("POST", "/api/v1/sessions", { keepAlive: true, ...body });
  expect(res.status).toBe(201);
  live.push(res.body.id);
  return res.body as { id: string; cdpUrl: string; config: Record<string, unknown> };
}

async function connect(cdpUrl: string): Promise<Browser> {
  const b = await chromium.connectOverCDP(cdpUrl);
  browsers.push(b);
  return b;
}

const seen = (path: string) => pages.requests.includes(path);

/** Loads /rules/page?tag=… and reports what the page got. */
async function loadRulesPage(page: Page, tag: string) {
  await page.goto(`${pages.url}/rules/page?tag=${tag}`);
  await page.waitForFunction(() => document.getElementById("data")!.textContent !== "pending");
  return {
    data: JSON.parse((await page.textContent("#data"))!),
    imageLoaded: await page.evaluate(() => (document.getElementById("img") as HTMLImageElement).naturalWidth > 0),
    scriptRan: await page.evaluate(() => (window as unknown as { scriptRan?: boolean }).scriptRan === true),
    requested: { page: seen(`/rules/page?tag=${tag}`), image: seen(`/rules/pixel.png?tag=${tag}`), script: seen(`/rules/script.js?tag=${tag}`), data: seen(`/api/data?tag=${tag}`) },
  };
}

function expectRulesApplied(r: Awaited<ReturnType<typeof loadRulesPage>>) {
  expect(r.requested).toEqual({ page: true, image: false, script: false, data: false });
  expect(r.imageLoaded).toBe(false);
  expect(r.scriptRan).toBe(false);
  expect(r.data).toEqual({ status: 203, mock: "yes", body: '{"mocked":true}' });
}

function expectNoRules(r: Awaited<ReturnType<typeof loadRulesPage>>) {
  expect(r.requested).toEqual({ page: true, image: true, script: true, data: true });
  expect(r.imageLoaded).toBe(true);
  expect(r.scriptRan).toBe(true);
  expect(r.data).toEqual({ status: 200, mock: null, body: '{"real":true}' });
}

async function headerRules(page: Page) {
  await page.goto(`${pages.url}/echo?nav=1`);
  const navigation = JSON.parse((await page.textContent("body"))!);
  const fetched = await page.evaluate(async () => (await fetch("/echo?fetch=1", { headers: { "x-drop-me": "secret", "x-keep-me": "kept" } })).json());
  const response = await page.evaluate(async () => {
    const r = await fetch("/with-header");
    return { added: r.headers.get("x-added"), origin: r.headers.get("x-origin-header"), keep: r.headers.get("x-keep") };
  });
  return { navigation, fetched, response };
}

describe("a session created with a rule set", () => {
  test("blocks, mocks and rewrites headers in the first tab, a tab opened after connect, and a popup", async () => {
    const s = await session({ ruleSets: ["site-rules"] });
    const id = (await grid.api("GET", "/api/v1/rule-sets/site-rules")).body.id;
    expect(s.config.ruleSets).toEqual([{ id, name: "site-rules", version: 1 }]);

    const b = await connect(s.cdpUrl);
    const context = b.contexts()[0]!;
    // The tab that existed before the client connected.
    const first = context.pages()[0]!;
    expect(first).toBeDefined();
    expectRulesApplied(await loadRulesPage(first, "first"));

    const h = await headerRules(first);
    expect(h.navigation["x-grid-rule"]).toBe("on");
    expect(h.fetched["x-grid-rule"]).toBe("on");
    expect(h.fetched["x-drop-me"]).toBeUndefined();
    expect(h.fetched["x-keep-me"]).toBe("kept");
    expect(h.response).toEqual({ added: "by-rule", origin: null, keep: "kept" });

    // A tab the client opens after connecting.
    const second = await context.newPage();
    expectRulesApplied(await loadRulesPage(second, "newtab"));
    expect((await headerRules(second)).fetched["x-grid-rule"]).toBe("on");

    // A window the page itself opens.
    const [popup] = await Promise.all([context.waitForEvent("page"), second.evaluate((u) => void window.open(u), `${pages.url}/rules/page?tag=popup`)]);
    await popup.waitForFunction(() => document.getElementById("data")?.textContent !== "pending" && document.readyState === "complete");
    expect(JSON.parse((await popup.textContent("#data"))!)).toEqual({ status: 203, mock: "yes", body: '{"mocked":true}' });
    expect(seen("/rules/pixel.png?tag=popup")).toBe(false);
    expect(seen("/rules/page?tag=popup")).toBe(true);

    // A new version of the stored set does not change what a running session runs with.
    const put = await grid.api("PUT", "/api/v1/rule-sets/site-rules", { name: "site-rules", description: "e2e", rules: RULES.slice(1) });
    expect(put.body.version).toBe(2);
    expect((await grid.api("GET", `/api/v1/sessions/${s.id}`)).body.config.ruleSets).toEqual([{ id, name: "site-rules", version: 1 }]);
    expectRulesApplied(await loadRulesPage(first, "after-edit"));
    const del = await grid.api("DELETE", "/api/v1/rule-sets/site-rules");
    expect(del.status).toBe(409);
    await grid.api("PUT", "/api/v1/rule-sets/site-rules", { name: "site-rules", description: "e2e", rules: RULES });
  });

  test("preset:bandwidth blocks the image, lets the script and the data through", async () => {
    const s = await session({ ruleSets: ["preset:bandwidth"] });
    expect(s.config.ruleSets).toEqual([{ id: "preset:bandwidth", name: "preset:bandwidth", version: 1 }]);
    const b = await connect(s.cdpUrl);
    const r = await loadRulesPage(await b.contexts()[0]!.newPage(), "bandwidth");
    expect(r.requested).toEqual({ page: true, image: false, script: true, data: true });
    expect(r.imageLoaded).toBe(false);
    expect(r.scriptRan).toBe(true);
    expect(r.data).toEqual({ status: 200, mock: null, body: '{"real":true}' });
  });

  test("an unknown rule set is refused with 400 naming it", async () => {
    const res = await grid.api("POST", "/api/v1/sessions", { ruleSets: ["site-rules", "no-such-set"] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("unknown_rule_set");
    expect(res.body.error.message).toContain('"no-such-set"');
  });
});

describe("BrowserGrid.applyRuleSets on a running session", () => {
  test("applies on the next request, records it, removes with []; bad params are CDP errors", async () => {
    const s = await session({});
    expect(s.config.ruleSets).toBeUndefined();
    const b = await connect(s.cdpUrl);
    const page = await b.contexts()[0]!.newPage();
    expectNoRules(await loadRulesPage(page, "before"));

    const cdp = await b.newBrowserCDPSession();
    const applied = await cdp.send("BrowserGrid.applyRuleSets" as never, { ruleSets: ["site-rules", "preset:fonts"] } as never);
    const version = (await grid.api("GET", "/api/v1/rule-sets/site-rules")).body.version;
    expect(applied).toEqual({ ruleSets: [{ name: "site-rules", version }, { name: "preset:fonts", version: 1 }] } as never);
    expectRulesApplied(await loadRulesPage(page, "after"));
    expect((await headerRules(page)).fetched["x-grid-rule"]).toBe("on");

    const row = (await grid.api("GET", `/api/v1/sessions/${s.id}`)).body;
    expect(row.config.ruleSets.map((r: { name: string }) => r.name)).toEqual(["site-rules", "preset:fonts"]);
    const events = (await grid.api("GET", `/api/v1/sessions/${s.id}/events`)).body.events;
    expect(events.find((e: { type: string }) => e.type === "rule_sets_applied")?.detail).toEqual({ ruleSets: [{ name: "site-rules", version }, { name: "preset:fonts", version: 1 }] });

    await expect(cdp.send("BrowserGrid.applyRuleSets" as never, { ruleSets: "site-rules" } as never)).rejects.toThrow(/ruleSets.*must be a list/);
    await expect(cdp.send("BrowserGrid.applyRuleSets" as never, { ruleSets: ["nope"] } as never)).rejects.toThrow(/Unknown rule set "nope"/);
    // A refused call changes nothing.
    expectRulesApplied(await loadRulesPage(page, "after-refused"));

    expect(await cdp.send("BrowserGrid.applyRuleSets" as never, { ruleSets: [] } as never)).toEqual({ ruleSets: [] } as never);
    expectNoRules(await loadRulesPage(page, "removed"));
    expect((await grid.api("GET", `/api/v1/sessions/${s.id}/rule-sets`)).body).toEqual({ ruleSets: [] });
  });
});

describe("a warm browser", () => {
  test("is claimed by a session with rule sets (they need no start flags); the engine attaches on claim", async () => {
    expect((await grid.api("PATCH", "/api/v1/pools/default", { minWarm: 1 })).status).toBe(200);
    try {
      await waitFor("a warm browser ready", async () => (await grid.api("GET", "/api/v1/pools/default")).body.stats.warm.ready === 1, 30_000, 50);
      const s = await session({ ruleSets: ["site-rules"] });
      const events = (await grid.api("GET", `/api/v1/sessions/${s.id}/events`)).body.events;
      expect(events.find((e: { type: string }) => e.type === "running")?.detail.warm).toBe(true);
      const b = await connect(s.cdpUrl);
      expectRulesApplied(await loadRulesPage(b.contexts()[0]!.pages()[0]!, "warm"));
    } finally {
      await grid.api("PATCH", "/api/v1/pools/default", { minWarm: 0 });
    }
  });
});

describe("after a BrowserGrid restart", () => {
  test("a running session's rules are attached again", async () => {
    const s = await session({ ruleSets: ["site-rules"] });
    await grid.stop("SIGTERM");
    grid = await startGrid({ dataDir: grid.dataDir, port: Number(new URL(grid.url).port) });
    await waitFor("session running after restart", async () => (await grid.api("GET", `/api/v1/sessions/${s.id}`)).body.status === "running", 15_000);
    await waitFor("rule engine re-attached", async () => grid.output().includes("rule engine re-attached"), 15_000);
    const b = await connect(s.cdpUrl);
    expectRulesApplied(await loadRulesPage(await b.contexts()[0]!.newPage(), "restart"));
  });
});
