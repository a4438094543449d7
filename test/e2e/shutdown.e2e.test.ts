// Stopping the appliance leaves nothing of the sessions it ended: SIGTERM ends every session
// that is not keep-alive (its client is told why) and removes its container and the warm
// browsers' containers; keep-alive sessions keep running for the next start to adopt. And
// `browsergrid cleanup` removes everything an install started after its server was killed.
//
// Isolation: each grid has its own Docker network and nftables table, because the cleanup
// removes the install's network and table. Each grid is cleaned up with `browsergrid cleanup`.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { docker, installIdOf, startGrid, waitFor, type Grid } from "../helpers/grid";
import { spawnCollecting } from "../helpers/process";

const MAIN = join(import.meta.dir, "../../src/main.ts");
const tag = crypto.randomUUID().slice(0, 6);
const grids: { grid: Grid; env: Record<string, string> }[] = [];

afterAll(async () => {
  for (const { grid, env } of grids) {
    await grid.dispose().catch(() => {});
    await runCleanup(grid.dataDir, env);
  }
});

function isolatedEnv(name: string) {
  const network = `browsergrid-sd${name}${tag}`;
  return { BROWSERGRID_DOCKER_NETWORK: network, BROWSERGRID_EGRESS_TABLE: `bgsd${name}${tag}` };
}

async function installContainers(installId: string) {
  return docker.listContainers({ all: true, filters: { label: [`browsergrid.install=${installId}`] } });
}

async function tableExists(table: string) {
  return (await Bun.spawn(["nft", "list", "table", "inet", table], { stdout: "ignore", stderr: "ignore" }).exited) === 0;
}

async function runCleanup(dataDir: string, env: Record<string, string>) {
  const { proc, output } = spawnCollecting([process.execPath, "run", MAIN, "cleanup"], {
    env: { PATH: process.env.PATH!, HOME: dataDir, BROWSERGRID_DATA_DIR: dataDir, ...env },
  });
  const code = await proc.exited;
  return { code, output: output() };
}

test("SIGTERM: the running sessions end (clients told, persisting profile saved), their containers and the warm browsers' are removed; a keep-alive session is kept", async () => {
  const env = isolatedEnv("t");
  const grid = await startGrid({ env });
  grids.push({ grid, env });
  const installId = installIdOf(grid.dataDir)!;
  expect((await grid.api("PATCH", "/api/v1/pools/default", { minWarm: 1 })).status).toBe(200);
  await waitFor("a warm browser", async () => (await grid.api("GET", "/api/v1/pools/default")).body.stats.warm.ready === 1, 60_000, 100);

  const ending = await grid.api("POST", "/api/v1/sessions", {});
  expect(ending.status).toBe(201);
  expect((await grid.api("POST", "/api/v1/profiles", { name: "saved-on-stop" })).status).toBe(201);
  // No client yet, so nothing else would end it; its persisting profile is saved as it ends.
  const idle = await grid.api("POST", "/api/v1/sessions", { profile: { name: "saved-on-stop", persist: true } });
  expect(idle.status).toBe(201);
  const kept = await grid.api("POST", "/api/v1/sessions", { keepAlive: true });
  expect(kept.status).toBe(201);
  const browser = await chromium.connectOverCDP(ending.body.cdpUrl);
  const disconnected = new Promise<void>((resolve) => browser.on("disconnected", () => resolve()));
  const raw = new WebSocket(ending.body.cdpUrl);
  await new Promise((resolve, reject) => ((raw.onopen = resolve), (raw.onerror = reject)));
  const closed = new Promise<string>((resolve) => (raw.onclose = (e) => resolve(e.reason)));
  const page = await browser.contexts()[0]!.newPage();
  await page.goto("about:blank");

  // A session that claimed a warm browser runs in a container labelled with the warm id.
  const keptEvents = (await grid.api("GET", `/api/v1/sessions/${kept.body.id}/events`)).body.events;
  const keptLabel = (keptEvents[0].detail.warm as string | undefined) ?? kept.body.id;

  await grid.stop("SIGTERM");
  await disconnected;
  expect(await closed).toContain("server shut down");

  const left = await installContainers(installId);
  expect(left.map((c) => c.Labels["browsergrid.session"])).toEqual([keptLabel]);
  expect(left[0]!.State).toBe("running");
  expect(grid.output()).toContain("server shut down");

  // The next start adopts the keep-alive session; the ended one stays ended.
  const again = await startGrid({ dataDir: grid.dataDir, env });
  grids.push({ grid: again, env });
  expect((await again.api("GET", `/api/v1/sessions/${kept.body.id}`)).body.status).toBe("running");
  for (const s of [ending, idle]) {
    const ended = (await again.api("GET", `/api/v1/sessions/${s.body.id}`)).body;
    expect(ended.status).toBe("completed");
    expect(ended.endReason).toBe("server shut down");
  }
  const events = (await again.api("GET", `/api/v1/sessions/${idle.body.id}/events`)).body.events;
  expect(events.find((e: { type: string }) => e.type === "profile_saved")?.detail).toMatchObject({ profile: "saved-on-stop", version: 1 });
  expect((await again.api("GET", "/api/v1/profiles/saved-on-stop")).body).toMatchObject({ currentVersion: 1, lockedBy: null });
}, 180_000);

test("cleanup: refuses while the server runs; after SIGKILL it removes the install's containers and network; running it twice is fine", async () => {
  const env = isolatedEnv("c");
  const grid = await startGrid({ env });
  grids.push({ grid, env });
  const installId = installIdOf(grid.dataDir)!;
  expect((await grid.api("POST", "/api/v1/sessions", { keepAlive: true })).status).toBe(201);
  expect((await installContainers(installId)).length).toBe(1);

  const refused = await runCleanup(grid.dataDir, env);
  expect(refused.code).toBe(1);
  expect(refused.output).toContain("is running");
  expect((await installContainers(installId)).length).toBe(1);

  await waitFor("the egress table", () => tableExists(env.BROWSERGRID_EGRESS_TABLE));
  await grid.stop("SIGKILL");
  const first = await runCleanup(grid.dataDir, env);
  expect(first.code).toBe(0);
  expect(await installContainers(installId)).toEqual([]);
  expect(await docker.listNetworks({ filters: { label: [`browsergrid.install=${installId}`] } })).toEqual([]);
  expect(await tableExists(env.BROWSERGRID_EGRESS_TABLE)).toBe(false);
  const second = await runCleanup(grid.dataDir, env);
  expect(second.code).toBe(0);
  expect(second.output).toContain("nothing");
}, 180_000);
