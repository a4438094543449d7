// A Docker engine that stops answering, end to end: BrowserGrid on a socket that passes to the
// real engine until it is wedged like a deadlocked Docker 20.10 (test/helpers/stuck-docker.ts:
// ping and ps answer, everything else is accepted and never answered). The worker turns
// unhealthy within a heartbeat, with the reason in the API, /readyz and `browsergrid doctor`; a
// create in flight fails at its deadline and a new one answers 503 with the reason; nothing is
// left starting. Once the engine answers again the worker is online by itself, what the stuck
// engine did without answering is removed, and a real session is driven by Playwright.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { browserNetwork, containersOfSession, startIsolatedGrid, waitFor, type Grid } from "../helpers/grid";
import { startStuckDocker, type StuckDocker } from "../helpers/stuck-docker";

const NETWORK = "bg-e2e-stuck-engine";
const TABLE = "bg_e2e_stuck_engine";
const HEARTBEAT_MS = 500;
const ENGINE_TIMEOUT_MS = 1_000;

let stuck: StuckDocker;
let grid: Grid;
let pages: ReturnType<typeof Bun.serve>;
let pageUrl: string;

interface WorkerView {
  name: string;
  status: string;
  lastError: string | null;
  engineTimeouts: Record<string, number>;
}

beforeAll(async () => {
  stuck = await startStuckDocker();
  grid = await startIsolatedGrid(
    { network: NETWORK, table: TABLE },
    { env: { BROWSERGRID_DOCKER_SOCKET: stuck.path, BROWSERGRID_HEARTBEAT_MS: String(HEARTBEAT_MS), BROWSERGRID_ENGINE_TIMEOUT_MS: String(ENGINE_TIMEOUT_MS) } },
  );
  pages = Bun.serve({ hostname: "0.0.0.0", port: 0, fetch: () => new Response("<!doctype html><title>back</title><h1 id=h>engine answers again</h1>", { headers: { "content-type": "text/html" } }) });
  const gateway = (await browserNetwork(NETWORK)).IPAM?.Config?.[0]?.Gateway;
  pageUrl = `http://${gateway}:${pages.port}/`;
}, 60_000);

afterAll(async () => {
  stuck?.unwedge();
  await grid?.api("PATCH", "/api/v1/pools/default", { minWarm: 0 }).catch(() => {});
  await Bun.sleep(500);
  await grid?.dispose();
  if (grid) rmSync(grid.dataDir, { recursive: true, force: true });
  await stuck?.close();
  pages?.stop(true);
}, 60_000);

async function localWorker(): Promise<WorkerView> {
  const res = await grid.api("GET", "/api/v1/workers");
  return res.body.workers.find((w: { kind: string }) => w.kind === "docker");
}

async function warmStats(): Promise<{ ready: number; starting: number }> {
  return (await grid.api("GET", "/api/v1/pools/default")).body.stats.warm;
}

async function sessionsIn(...statuses: string[]): Promise<{ id: string; status: string; endReason?: string }[]> {
  const all = (await grid.api("GET", "/api/v1/sessions?limit=100")).body.sessions as { id: string; status: string; endReason?: string }[];
  return all.filter((s) => statuses.includes(s.status));
}

let failedInFlight: string;

describe("a Docker engine that stops answering", () => {
  test("the worker turns unhealthy within a heartbeat; creates answer 503 with the reason; nothing is left starting", async () => {
    expect((await grid.api("PATCH", "/api/v1/pools/default", { minWarm: 1 })).status).toBe(200);
    await waitFor("a warm browser", async () => (await warmStats()).ready === 1, 30_000, 50);
    const before = await localWorker();
    expect(before.status).toBe("online");
    expect(Object.values(before.engineTimeouts).every((n) => n === 0)).toBe(true);

    stuck.wedge();
    const wedgedAt = performance.now();
    // A create already on its way (settings no warm browser has, so a container is created): it
    // fails at the create deadline, it does not hang.
    const inFlight = grid.api("POST", "/api/v1/sessions", { viewport: { width: 1281, height: 721 } });

    await waitFor("the worker unhealthy", async () => (await localWorker()).status === "unhealthy", 10_000, 50);
    const detectedMs = performance.now() - wedgedAt;
    console.log(`stuck engine → worker unhealthy: ${detectedMs.toFixed(0)} ms (heartbeat ${HEARTBEAT_MS} ms, quick-call deadline ${ENGINE_TIMEOUT_MS} ms)`);
    expect(detectedMs).toBeLessThan(HEARTBEAT_MS + 2 * ENGINE_TIMEOUT_MS + 1_000);
    const w = await localWorker();
    expect(w.lastError).toContain("Docker engine stuck: no answer to");
    expect(w.lastError).toContain("moby/moby#42545");

    const refused = await grid.api("POST", "/api/v1/sessions", {});
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe("worker_unhealthy");
    expect(refused.body.error.message).toContain(`worker "${w.name}" is unhealthy (Docker engine stuck`);

    const first = await inFlight;
    expect(first.status).toBe(503);
    expect(first.body.error.code).toBe("engine_timeout");
    expect(first.body.error.message).toContain(`The Docker engine of worker "${w.name}" did not answer createContainer within ${(3 * ENGINE_TIMEOUT_MS) / 1000} s`);
    expect(stuck.hung()).toContain("POST /containers/create"); // the engine was asked, and did not answer

    // Nothing waits: no session queued or starting, no warm browser starting; the refused create left no row.
    expect(await sessionsIn("queued", "starting")).toEqual([]);
    const failed = await sessionsIn("failed");
    expect(failed).toHaveLength(1);
    failedInFlight = failed[0]!.id;
    expect((await warmStats()).starting).toBe(0);
    expect((await localWorker()).engineTimeouts).toMatchObject({ create: 1 });
    expect((await localWorker()).engineTimeouts.network).toBeGreaterThanOrEqual(1);

    // The Workers page, /readyz and `browsergrid doctor` give the reason.
    const workersPage = await grid.api("GET", "/workers");
    expect(workersPage.status).toBe(200);
    expect(workersPage.body).toContain('<span class="badge unhealthy">unhealthy</span>');
    expect(workersPage.body).toContain("Docker engine stuck: no answer to");
    expect(workersPage.body).toMatch(/engine calls past their deadline: [^<]*create 1/);
    const ready = await fetch(`${grid.url}/readyz`);
    expect(ready.status).toBe(503);
    const workersCheck = ((await ready.json()) as { checks: { name: string; ok: boolean; detail: string }[] }).checks.find((c) => c.name === "workers")!;
    expect(workersCheck).toMatchObject({ ok: false });
    expect(workersCheck.detail).toContain(`no worker is usable: ${w.name} is unhealthy: Docker engine stuck`);
    const doctor = Bun.spawn([process.execPath, "run", join(import.meta.dir, "../../src/main.ts"), "doctor", "--json"], {
      env: { PATH: process.env.PATH!, HOME: grid.dataDir, BROWSERGRID_DATA_DIR: grid.dataDir, BROWSERGRID_PORT: new URL(grid.url).port, BROWSERGRID_DOCKER_SOCKET: stuck.path, BROWSERGRID_ENGINE_TIMEOUT_MS: String(ENGINE_TIMEOUT_MS) },
      stdout: "pipe",
      stderr: "pipe",
    });
    const timer = setTimeout(() => doctor.kill(), 20_000);
    const [out, code] = await Promise.all([new Response(doctor.stdout).text(), doctor.exited]);
    clearTimeout(timer);
    expect(code).toBe(1);
    const checks = JSON.parse(out) as { name: string; ok: boolean; detail: string }[];
    expect(checks.find((c) => c.name === "docker engine responsive")).toMatchObject({ ok: false });
    expect(checks.find((c) => c.name === "workers of the running BrowserGrid")?.detail).toContain(`${w.name} is unhealthy`);
  }, 60_000);

  test("the engine answers again: the worker is back by itself, leftovers go, a real session is driven by Playwright", async () => {
    // The stuck engine created the in-flight session's container without answering.
    expect((await containersOfSession(failedInFlight)).length).toBe(1);
    stuck.unwedge();
    const t0 = performance.now();
    await waitFor("the worker online", async () => (await localWorker()).status === "online", 10_000, 50);
    console.log(`engine answers → worker online: ${(performance.now() - t0).toFixed(0)} ms`);
    expect((await localWorker()).lastError).toBeNull();
    await waitFor("the failed session's container removed", async () => (await containersOfSession(failedInFlight)).length === 0, 15_000, 100);
    // A browser started after the engine came back: settings no warm browser has, so a container starts.
    const res = await grid.api("POST", "/api/v1/sessions", { keepAlive: true, viewport: { width: 1282, height: 722 } });
    expect(res.status).toBe(201);
    expect((await grid.api("GET", `/api/v1/sessions/${res.body.id}/events`)).body.events[0].detail.warm).toBeUndefined();
    expect(await containersOfSession(res.body.id)).toHaveLength(1);
    const browser = await chromium.connectOverCDP(res.body.cdpUrl, { timeout: 15_000 });
    try {
      const page = await browser.contexts()[0]!.newPage();
      await page.goto(pageUrl, { timeout: 15_000 });
      expect(await page.textContent("#h")).toBe("engine answers again");
    } finally {
      await browser.close();
    }
    expect((await grid.api("DELETE", `/api/v1/sessions/${res.body.id}`)).status).toBe(200);
  }, 90_000);
});
