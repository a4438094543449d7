// A one-host install runs several pools at once (issue 17): the local Docker engine is the only
// worker and serves every pool, pools created later too. A second pool with the full Chromium
// flavour, a default proxy and a warm browser runs a session at the same time as the default
// pool (headless-shell, no proxy); Playwright drives both through BrowserGrid's gateway. Each
// session gets the flavour its pool asks for, only the proxied pool's traffic goes through the
// proxy, the warm browser of the second pool is started with that pool's flavour and is never
// taken by the default pool, and deleting the pool stops its warm browser.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { browserNetwork, containersOfSession, docker, installIdOf, startIsolatedGrid, startPageServer, waitFor, type Grid } from "../helpers/grid";
import { startHttpProxy, type TestProxy } from "../helpers/test-proxies";

const NETWORK = "browsergrid-pools-e2e";
const TABLE = "bgpools_e2e";
const PROXY_PW = `pools-${crypto.randomUUID()}`;

let grid: Grid;
let pages: Awaited<ReturnType<typeof startPageServer>>;
let proxy: TestProxy;
let direct: string; // the page server as the browsers reach it without a proxy
let pagePort: number;
const browsers: Browser[] = [];
const sessionIds: string[] = [];

beforeAll(async () => {
  grid = await startIsolatedGrid({ network: NETWORK, table: TABLE });
  pages = await startPageServer();
  pagePort = Number(new URL(pages.url).port);
  const gateway = (await browserNetwork(NETWORK)).IPAM!.Config![0]!.Gateway!;
  direct = `http://${gateway}:${pagePort}`;
  proxy = startHttpProxy({ username: "carol", password: PROXY_PW, hosts: { "pages.test": "127.0.0.1" } });
  expect((await grid.api("POST", "/api/v1/proxies", { name: "corp", url: `http://127.0.0.1:${proxy.port}`, username: "carol", password: PROXY_PW })).status).toBe(201);
}, 90_000);

afterAll(async () => {
  for (const b of browsers) await b.close().catch(() => {});
  for (const id of sessionIds) await grid?.api("DELETE", `/api/v1/sessions/${id}`).catch(() => {});
  await grid?.dispose();
  pages?.stop();
  proxy?.stop();
});

async function session(body: Record<string, unknown>) {
  const res = await grid.api("POST", "/api/v1/sessions", { keepAlive: true, ...body });
  if (res.status !== 201) throw new Error(`session create: ${res.status} ${JSON.stringify(res.body)}`);
  sessionIds.push(res.body.id);
  return res.body as { id: string; cdpUrl: string; pool: string; worker: string };
}

async function open(cdpUrl: string): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.connectOverCDP(cdpUrl);
  browsers.push(browser);
  return { browser, page: await browser.contexts()[0]!.newPage() };
}

/**
 * What the browser says it is (CDP Browser.getVersion through the gateway) and what its container
 * runs. A claimed warm browser's container carries the warm browser's id as its session label.
 */
async function identity(browser: Browser, sessionId: string) {
  const cdp = await browser.newBrowserCDPSession();
  const version = (await cdp.send("Browser.getVersion")) as { product: string; userAgent: string };
  const [c] = await containersOfSession(sessionId);
  return { product: version.product, userAgent: version.userAgent, flavour: c!.Labels["browsergrid.image.flavour"], image: c!.Image };
}

/** This grid's warm browser containers (other grids may run on the same engine). */
async function warmContainers() {
  return docker.listContainers({ all: true, filters: { label: ["browsergrid.warm", `browsergrid.install=${installIdOf(grid.dataDir)}`] } });
}

async function warmOf(pool: string) {
  return (await grid.api("GET", `/api/v1/pools/${pool}`)).body.stats.warm as { ready: number; starting: number };
}

test("the local engine is the only worker and serves every pool, a pool created now included", async () => {
  const workers = (await grid.api("GET", "/api/v1/workers")).body.workers;
  expect(workers).toHaveLength(1);
  expect(workers[0]).toMatchObject({ kind: "docker", pools: "all" });
  const created = await grid.api("POST", "/api/v1/pools", { name: "proxied", flavour: "chromium", proxy: "corp", minWarm: 1, maxSessions: 3 });
  expect(created.status).toBe(201);
  expect(created.body.stats).toMatchObject({ workers: 1, onlineWorkers: 1 });
  expect((await grid.api("GET", "/api/v1/workers?pool=proxied")).body.workers.map((w: { id: string }) => w.id)).toEqual([workers[0].id]);
}, 30_000);

test("the second pool's warm browser is started on the shared worker with that pool's flavour", async () => {
  await waitFor("a warm browser in pool proxied", async () => (await warmOf("proxied")).ready === 1, 60_000, 100);
  const poolId = (await grid.api("GET", "/api/v1/pools/proxied")).body.id;
  const warm = await warmContainers();
  expect(warm).toHaveLength(1);
  expect(warm[0]!.Labels["browsergrid.pool"]).toBe(poolId);
  expect(warm[0]!.Labels["browsergrid.image.flavour"]).toBe("chromium");
  expect((await warmOf("default")).ready).toBe(0); // the default pool keeps none (minWarm 0)
  const worker = (await grid.api("GET", "/api/v1/workers")).body.workers[0];
  expect(worker.load).toBe(1); // the warm browser holds a slot of the shared worker
}, 90_000);

test("sessions in both pools at the same time, each driven by Playwright: own flavour, only the proxied pool through the proxy", async () => {
  const [plain, proxied] = await Promise.all([session({}), session({ pool: "proxied" })]);
  expect(plain.pool).toBe("default");
  expect(proxied.pool).toBe("proxied");
  expect(plain.worker).toBe(proxied.worker); // one host, one worker
  const running = (await grid.api("GET", "/api/v1/sessions?status=running")).body.sessions.map((s: { id: string }) => s.id);
  expect(running).toEqual(expect.arrayContaining([plain.id, proxied.id]));

  const [a, b] = await Promise.all([open(plain.cdpUrl), open(proxied.cdpUrl)]);
  const [direct1, viaProxy] = await Promise.all([
    a.page.goto(`${direct}/echo?pool=default`).then(async (r) => JSON.parse(await r!.text()) as Record<string, string>),
    b.page.goto(`http://pages.test:${pagePort}/echo?pool=proxied`).then(async (r) => JSON.parse(await r!.text()) as Record<string, string>),
  ]);
  // Both browsers are alive and answering at once.
  expect(await Promise.all([a.page.evaluate(() => location.search), b.page.evaluate(() => location.search)])).toEqual(["?pool=default", "?pool=proxied"]);

  expect(viaProxy["x-test-proxy"]).toBe("http");
  expect(proxy.log).toContain(`GET http://pages.test:${pagePort}/echo?pool=proxied`);
  expect(direct1["x-test-proxy"]).toBeUndefined();
  expect(proxy.log.some((l) => l.includes("pool=default"))).toBe(false);
  expect(pages.requests).toEqual(expect.arrayContaining(["/echo?pool=default", "/echo?pool=proxied"]));

  const [idPlain, idProxied] = await Promise.all([identity(a.browser, plain.id), identity(b.browser, proxied.id)]);
  console.log("default pool browser:", idPlain, "\nproxied pool browser:", idProxied);
  expect(idPlain.flavour).toBe("headless-shell");
  expect(idProxied.flavour).toBe("chromium");
  expect(idPlain.image).toContain("headless-shell");
  expect(idProxied.image).toContain("chromium");
  expect(idPlain.product).toMatch(/^HeadlessChrome\/\d+/); // chrome-headless-shell
  expect(idProxied.product).toMatch(/^Chrome\/\d+/); // full Chromium, --headless=new

  // The default session did not take the other pool's warm browser; the proxied one started cold
  // (a proxy needs start flags), so the warm browser is still there.
  const events = async (id: string) => (await grid.api("GET", `/api/v1/sessions/${id}/events`)).body.events as { type: string; detail: Record<string, unknown> }[];
  expect((await events(plain.id))[0]!.detail.warm).toBeUndefined();
  expect((await warmOf("proxied")).ready).toBe(1);
  const worker = (await grid.api("GET", "/api/v1/workers")).body.workers[0];
  expect(worker.load).toBe(3); // two sessions of two pools and one warm browser, on one worker's capacity
}, 120_000);

test("a session of the second pool that can use a warm browser claims it: that pool's flavour, no container start", async () => {
  const s = await session({ pool: "proxied", proxy: null });
  const ev = (await grid.api("GET", `/api/v1/sessions/${s.id}/events`)).body.events;
  const warmId = String(ev[0].detail.warm);
  expect(warmId).toStartWith("wrm_");
  const { browser, page } = await open(s.cdpUrl);
  await page.goto(`${direct}/warm-claimed`);
  expect(await page.textContent("#h")).toBe("Hello /warm-claimed");
  const id = await identity(browser, warmId);
  expect(id.flavour).toBe("chromium");
  expect(id.product).toMatch(/^Chrome\//);
  expect(proxy.log.some((l) => l.includes("warm-claimed"))).toBe(false);
}, 90_000);

test("deleting the pool once its sessions ended stops its warm browser; the shared worker stays", async () => {
  for (const id of sessionIds.splice(0)) expect((await grid.api("DELETE", `/api/v1/sessions/${id}`)).status).toBe(200);
  await waitFor("warm refilled", async () => (await warmOf("proxied")).ready === 1, 60_000, 100);
  const del = await grid.api("DELETE", "/api/v1/pools/proxied");
  expect(del.status).toBe(200);
  await waitFor("its warm browser (and the claimed one) removed", async () => (await warmContainers()).length === 0, 15_000, 100);
  const workers = (await grid.api("GET", "/api/v1/workers")).body.workers;
  expect(workers).toHaveLength(1);
  expect(workers[0].pools).toBe("all");
  await waitFor("slots freed", async () => (await grid.api("GET", "/api/v1/workers")).body.workers[0].load === 0, 10_000, 100);
}, 120_000);
