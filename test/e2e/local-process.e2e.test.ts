// The local-process provider (Chromium on the host, no Docker) passes the same session paths as
// Docker: create, Playwright through the gateway (goto + evaluate), DELETE → the whole process
// group is gone, kill -9 of the browser → the session is crashed and its client closed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { startGrid, startPageServer, waitFor, type Grid } from "../helpers/grid";

let grid: Grid;
let pages: Awaited<ReturnType<typeof startPageServer>>;

beforeAll(async () => {
  // Local-process browsers have no packet filter below them: with the guard on they get no session.
  grid = await startGrid({ env: { BROWSERGRID_EGRESS_GUARD: "off" } });
  pages = await startPageServer();
  expect((await grid.api("POST", "/api/v1/pools", { name: "host", queueTimeoutSec: 5 })).status).toBe(201);
  const w = await grid.api("POST", "/api/v1/workers", { endpoint: "local", pool: "host", capacity: 3 });
  expect(w.status).toBe(201);
  expect(w.body).toMatchObject({ kind: "local", status: "online", pool: "host", pools: ["host"] });
  // The local Docker engine serves every pool unless narrowed: keep pool "host" to the processes.
  const docker = (await grid.api("GET", "/api/v1/workers")).body.workers.find((x: { kind: string }) => x.kind === "docker");
  if (docker) expect((await grid.api("PATCH", `/api/v1/workers/${docker.id}`, { pools: ["default"] })).status).toBe(200);
}, 60_000);

afterAll(async () => {
  await grid?.dispose();
  pages?.stop();
});

/** Host processes whose command line names this session's profile directory. */
function processesOf(sessionId: string): { pid: number; pgid: number }[] {
  const out: { pid: number; pgid: number }[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/cmdline`, "utf8").includes(`local-browsers/${sessionId}/profile`)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z") continue; // already dead, waiting to be reaped
      out.push({ pid: Number(name), pgid: Number(fields[2]) });
    } catch {}
  }
  return out;
}

describe("local-process worker", () => {
  test("create → Playwright through the gateway → goto + evaluate → DELETE kills the whole process group", async () => {
    const s = (await grid.api("POST", "/api/v1/sessions", { pool: "host", keepAlive: true })).body;
    expect(s.status).toBe("running");
    expect(s.worker).toBe("local-process");
    const procs = processesOf(s.id);
    expect(procs.length).toBeGreaterThan(1); // Chromium and its helpers
    expect(new Set(procs.map((p) => p.pgid)).size).toBe(1);
    const browser = await chromium.connectOverCDP(s.cdpUrl);
    const page = await browser.contexts()[0]!.newPage();
    await page.goto(`${pages.url}/local`);
    expect(await page.textContent("#h")).toBe("Hello /local");
    expect(await page.evaluate(() => (window as unknown as { answer: number }).answer)).toBe(42);
    await browser.close();
    const del = await grid.api("DELETE", `/api/v1/sessions/${s.id}`);
    expect(del.body.status).toBe("completed");
    await waitFor("process group gone", async () => processesOf(s.id).length === 0, 5000);
  });

  test("kill -9 of the browser → the client is closed and the session crashed", async () => {
    const s = (await grid.api("POST", "/api/v1/sessions", { pool: "host", keepAlive: true })).body;
    const browser = await chromium.connectOverCDP(s.cdpUrl);
    const disconnected = new Promise<void>((r) => browser.on("disconnected", () => r()));
    const main = processesOf(s.id).find((p) => p.pid === p.pgid)!;
    process.kill(main.pid, "SIGKILL");
    await disconnected;
    const ended = await waitFor("crashed", async () => {
      const r = (await grid.api("GET", `/api/v1/sessions/${s.id}`)).body;
      return r.status === "crashed" ? r : null;
    }, 5000);
    expect(ended.endReason).toContain("browser exited");
    await waitFor("helpers gone", async () => processesOf(s.id).length === 0, 5000);
  });
});
