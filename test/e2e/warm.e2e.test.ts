// Warm pools with real Docker, Chromium and Playwright: browsers started ahead, claimed by a
// create (and by quick connect) without a container start, refilled, never listed as sessions,
// kept across a crash-restart of the server, and removed when the pool shrinks.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chromium } from "playwright-core";
import { ADMIN_KEY, docker, startGrid, startPageServer, waitFor, type Grid } from "../helpers/grid";
import { freePort } from "../helpers/binary";

let grid: Grid;
let pages: Awaited<ReturnType<typeof startPageServer>>;
let port: number;

beforeAll(async () => {
  port = freePort();
  grid = await startGrid({ port });
  pages = await startPageServer();
}, 60_000);

afterAll(async () => {
  await grid.api("PATCH", "/api/v1/pools/default", { minWarm: 0 }).catch(() => {});
  await Bun.sleep(1000);
  await grid?.dispose();
  pages?.stop();
});

async function installId(): Promise<string> {
  const c = await docker.listContainers({ all: true, filters: { label: ["browsergrid.warm"] } });
  return c[0]?.Labels["browsergrid.install"] ?? "";
}

async function warmContainers(install: string) {
  return docker.listContainers({ all: true, filters: { label: ["browsergrid.warm", `browsergrid.install=${install}`] } });
}

async function warmStats() {
  return (await grid.api("GET", "/api/v1/pools/default")).body.stats.warm as { ready: number; starting: number };
}

test("warm browsers: claim without a container start, Playwright works, refill, restart keeps them, shrink removes them", async () => {
  expect((await grid.api("PATCH", "/api/v1/pools/default", { minWarm: 2 })).status).toBe(200);
  await waitFor("2 warm ready", async () => (await warmStats()).ready === 2, 30_000, 50);
  const install = await installId();
  const before = (await warmContainers(install)).map((c) => c.Id).sort();
  expect(before).toHaveLength(2);
  expect((await grid.api("GET", "/api/v1/sessions")).body.sessions).toHaveLength(0); // warm browsers are not sessions

  const t0 = performance.now();
  const res = await grid.api("POST", "/api/v1/sessions", { keepAlive: true });
  const ms = performance.now() - t0;
  expect(res.status).toBe(201);
  console.log(`warm create → 201: ${ms.toFixed(1)} ms (speed is measured by bench/lifecycle.ts)`);
  const events = (await grid.api("GET", `/api/v1/sessions/${res.body.id}/events`)).body.events;
  expect(events[0].detail.warm).toStartWith("wrm_");
  const browser = await chromium.connectOverCDP(res.body.cdpUrl);
  const page = await browser.contexts()[0]!.newPage();
  await page.goto(`${pages.url}/warm`);
  expect(await page.textContent("#h")).toBe("Hello /warm");
  await browser.close();

  // Quick connect takes a warm browser too.
  await waitFor("refilled", async () => (await warmStats()).ready === 2, 30_000, 50);
  const quick = await chromium.connectOverCDP(`${grid.url.replace(/^http/, "ws")}/connect?token=${ADMIN_KEY}`);
  const running = (await grid.api("GET", "/api/v1/sessions?status=running")).body.sessions;
  const quickRow = running.find((s: { id: string }) => s.id !== res.body.id);
  const quickEvents = (await grid.api("GET", `/api/v1/sessions/${quickRow.id}/events`)).body.events;
  expect(quickEvents[0].detail.warm).toStartWith("wrm_");
  await quick.close();

  // Crash-restart: warm containers survive reconciliation and are still offered.
  await waitFor("refilled", async () => (await warmStats()).ready === 2, 30_000, 50);
  const warmIds = (await warmContainers(install)).map((c) => c.Id).sort();
  await grid.stop("SIGKILL");
  grid = await startGrid({ port, dataDir: grid.dataDir });
  expect((await warmContainers(install)).map((c) => c.Id).sort()).toEqual(warmIds);
  expect((await warmStats()).ready).toBe(2);
  const after = await grid.api("POST", "/api/v1/sessions", {});
  expect(after.status).toBe(201);
  const claimedFrom = (await docker.listContainers({ all: true, filters: { label: [`browsergrid.warm=${(await grid.api("GET", `/api/v1/sessions/${after.body.id}/events`)).body.events[0].detail.warm}`] } }))[0];
  expect(warmIds).toContain(claimedFrom!.Id); // a browser started before the restart
  await grid.api("DELETE", `/api/v1/sessions/${after.body.id}`);
  await grid.api("DELETE", `/api/v1/sessions/${res.body.id}`);

  // Shrinking the pool removes its warm browsers.
  await grid.api("PATCH", "/api/v1/pools/default", { minWarm: 0 });
  await waitFor("warm containers gone", async () => (await warmContainers(install)).length === 0, 15_000, 100);
  expect(await warmStats()).toEqual({ ready: 0, starting: 0 });
}, 120_000);
