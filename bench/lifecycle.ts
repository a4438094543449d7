// Session lifecycle through a real BrowserGrid (a server subprocess, real Docker, headless-shell),
// warm and cold, on the local Docker worker and on an SSH worker (OpenSSH on 127.0.0.1 in front
// of the same engine), measured in the same run:
//   bun run bench/lifecycle.ts [--n=30] [--cold=10]
// - warm create: POST /api/v1/sessions → 201 (client-side over loopback: an upper bound of the
//   server time), the pool's warm browsers full before each sample;
// - warm create → connect → first reply: + WebSocket to the cdpUrl and Browser.getVersion;
// - warm lifecycle: create → Playwright connectOverCDP → goto a local page → DELETE;
// - cold: a request whose viewport no warm browser has (so a container starts) → 201 (CDP ready),
//   then per stage: Playwright connect, goto a local page, release (DELETE).
// c1 = one at a time; c10 = ten at once (per-request latencies). SSH overhead = ssh p50 − local p50.
import { chromium } from "playwright-core";
import { loadavg } from "node:os";
import { startGrid, startPageServer, docker, type Grid } from "../test/helpers/grid";
import { startSshd } from "../test/helpers/sshd";
import { apiOf, shrinkWarm, warmReady } from "./lib/grid-api";
import { BenchCdpClient } from "./lib/cdp-client";
import { machineInfo } from "./lib/machine";
import { mdTable, writeReport } from "./lib/report";
import { round, summarize, type Summary } from "./lib/stats";

const args = new Map(process.argv.slice(2).map((a) => [a.replace(/^--/, "").split("=")[0]!, a.split("=")[1] ?? "1"]));
const N = Number(args.get("n") ?? 30);
const COLD_N = Number(args.get("cold") ?? 10);
const WARM = 12;

const sshd = await startSshd();
const grid: Grid = await startGrid({ env: { BROWSERGRID_LOG_LEVEL: "warn", BROWSERGRID_API_RATE_LIMIT: "1000000" } });
const pages = await startPageServer();
const startedAt = new Date().toISOString();
const load: number[] = [loadavg()[0]!];

const api = apiOf(grid);

// Pools: "default" on the local engine, "remote" on the SSH worker; both keep WARM browsers.
const local = (await api("GET", "/api/v1/workers")).workers.find((w: { kind: string }) => w.kind === "docker");
await api("PATCH", `/api/v1/workers/${local.id}`, { capacity: 40, pools: ["default"] }); // the local engine serves all pools unless narrowed
await api("PATCH", "/api/v1/pools/default", { maxSessions: 40, minWarm: WARM });
await api("POST", "/api/v1/pools", { name: "remote", maxSessions: 40, minWarm: WARM });
await api("POST", "/api/v1/workers", { endpoint: sshd.endpoint, name: "ssh", pools: ["remote"], capacity: 40, sshPrivateKey: sshd.privateKey });


type Step = (pool: string) => Promise<number>;

const create: Step = async (pool) => {
  const t0 = performance.now();
  const r = await grid.api("POST", "/api/v1/sessions", { pool });
  const ms = performance.now() - t0;
  if (r.status !== 201) throw new Error(`create: ${r.status}`);
  await grid.api("DELETE", `/api/v1/sessions/${r.body.id}`);
  return ms;
};

const firstReply: Step = async (pool) => {
  const t0 = performance.now();
  const r = await grid.api("POST", "/api/v1/sessions", { pool, keepAlive: true });
  const u = new URL(r.body.cdpUrl);
  const c = await BenchCdpClient.connect(u.hostname, Number(u.port), u.pathname + u.search);
  await c.roundTrip(JSON.stringify({ id: 1, method: "Browser.getVersion" }));
  const ms = performance.now() - t0;
  c.close();
  await grid.api("DELETE", `/api/v1/sessions/${r.body.id}`);
  return ms;
};

const lifecycle: Step = async (pool) => {
  const t0 = performance.now();
  const r = await grid.api("POST", "/api/v1/sessions", { pool, keepAlive: true });
  const browser = await chromium.connectOverCDP(r.body.cdpUrl);
  const page = browser.contexts()[0]!.pages()[0] ?? (await browser.contexts()[0]!.newPage());
  await page.goto(`${pages.url}/bench`);
  await grid.api("DELETE", `/api/v1/sessions/${r.body.id}`);
  const ms = performance.now() - t0;
  await browser.close().catch(() => {});
  return ms;
};

async function measure(step: Step, pool: string, concurrency: number, n: number): Promise<Summary> {
  const samples: number[] = [];
  await step(pool); // unmeasured warm-up (JIT, first connection)
  for (let done = 0; done < n; done += concurrency) {
    await warmReady(api, pool, Math.max(concurrency, WARM));
    samples.push(...(await Promise.all(Array.from({ length: concurrency }, () => step(pool)))));
    load.push(loadavg()[0]!);
  }
  return summarize(samples);
}

/** Cold path, per stage: create (→ 201, CDP ready) · Playwright connect · goto · release (DELETE). */
async function measureCold(pool: string, n: number): Promise<Record<"create" | "connect" | "goto" | "release", Summary>> {
  const stages = { create: [] as number[], connect: [] as number[], goto: [] as number[], release: [] as number[] };
  for (let i = 0; i < n; i++) {
    await warmReady(api, pool, WARM);
    let t = performance.now();
    const r = await grid.api("POST", "/api/v1/sessions", { pool, keepAlive: true, viewport: { width: 1281, height: 721 } });
    if (r.status !== 201) throw new Error(`cold create: ${r.status}`);
    stages.create.push(performance.now() - t);
    t = performance.now();
    const browser = await chromium.connectOverCDP(r.body.cdpUrl);
    const page = browser.contexts()[0]!.pages()[0] ?? (await browser.contexts()[0]!.newPage());
    stages.connect.push(performance.now() - t);
    t = performance.now();
    await page.goto(`${pages.url}/bench`);
    stages.goto.push(performance.now() - t);
    t = performance.now();
    await grid.api("DELETE", `/api/v1/sessions/${r.body.id}`);
    stages.release.push(performance.now() - t);
    await browser.close().catch(() => {});
    await Bun.sleep(300);
  }
  return { create: summarize(stages.create), connect: summarize(stages.connect), goto: summarize(stages.goto), release: summarize(stages.release) };
}

const results: Record<string, Record<string, Summary>> = {};
const rows: (string | number)[][] = [];
const scenarios: [string, Step][] = [
  ["warm create → 201", create],
  ["warm create → connect → first reply", firstReply],
  ["warm create → connect → goto → release (Playwright)", lifecycle],
];
try {
  for (const [name, step] of scenarios)
    for (const c of [1, 10]) {
      const byWorker: Record<string, Summary> = {};
      for (const [label, pool] of [["local", "default"], ["ssh", "remote"]] as const) byWorker[label] = await measure(step, pool, c, N);
      results[`${name} c${c}`] = byWorker;
      const l = byWorker.local!;
      const s = byWorker.ssh!;
      rows.push([name, `c${c}`, l.n, round(l.p50, 2), round(l.p99, 2), round(s.p50, 2), round(s.p99, 2), round(s.p50 - l.p50, 2)]);
      console.log(rows[rows.length - 1]!.join(" | "));
    }
  const cold = { local: await measureCold("default", COLD_N), ssh: await measureCold("remote", COLD_N) };
  const coldNames = { create: "cold create → CDP ready (headless-shell)", connect: "cold: Playwright connect", goto: "cold: goto local page", release: "cold: release (DELETE)" } as const;
  for (const stage of ["create", "connect", "goto", "release"] as const) {
    const l = cold.local[stage];
    const sh = cold.ssh[stage];
    results[`${coldNames[stage]} c1`] = { local: l, ssh: sh };
    rows.push([coldNames[stage], "c1", l.n, round(l.p50, 1), round(l.p99, 1), round(sh.p50, 1), round(sh.p99, 1), round(sh.p50 - l.p50, 1)]);
  }
} catch (err) {
  // Said before the clean-up below, which may take a while (or fail the same way).
  console.error("lifecycle bench failed:", err);
  throw err;
} finally {
  // Warm browsers outlive a server stop (like running sessions): shrink the pools first.
  await shrinkWarm(api, ["default", "remote"]);
  await grid.dispose(); // stops it and removes what a removal cut short by the stop left behind
  await sshd.stop();
  pages.stop();
}

const markdown =
  mdTable(["scenario", "concurrency", "n", "local p50 ms", "local p99 ms", "ssh p50 ms", "ssh p99 ms", "ssh overhead p50 ms"], rows) +
  `\n\nTargets (SPEC.md): warm 201 p50 ≤ 5 ms / p99 ≤ 20 ms; warm first reply p50 ≤ 15 ms / p99 ≤ 50 ms; warm lifecycle p50 ≤ 100 ms; cold p50 ≤ 230 ms / p99 ≤ 600 ms.\n` +
  `Warm pools hold ${WARM} browsers and are refilled before every sample (c10: before every batch of ten). Times are client-side over loopback HTTP.\n` +
  `Load average (1 min) during the run: ${round(Math.min(...load), 2)}–${round(Math.max(...load), 2)}.\n`;
const files = writeReport({ name: "lifecycle", startedAt, machine: machineInfo({ docker: (await docker.version()).Version }), results, markdown });
console.log(markdown);
console.log(`written: ${files.json}`);
process.exit(0);
