// What the browser and the client cost on their own: Playwright's connectOverCDP and the first
// goto of a local page, through BrowserGrid (the session's cdpUrl) and straight to the same
// Chromium (its DevTools address in the container), in the same session:
//   bun run bench/client-floor.ts [--n=20]
// Each sample claims a warm browser (keepAlive, so a disconnect does not end it) and connects
// twice, alternating which path goes first: the first connection of a browser sets up its first
// page, the first goto starts a renderer. The direct figures are the floor under the warm
// lifecycle target (SPEC.md: create → connect → goto → release p50 ≤ 100 ms).
import { chromium } from "playwright-core";
import { Database } from "bun:sqlite";
import { loadavg } from "node:os";
import { join } from "node:path";
import { docker, startGrid, startPageServer, type Grid } from "../test/helpers/grid";
import { apiOf, shrinkWarm, warmReady } from "./lib/grid-api";
import { machineInfo } from "./lib/machine";
import { mdTable, writeReport } from "./lib/report";
import { round, summarize } from "./lib/stats";

const args = new Map(process.argv.slice(2).map((a) => [a.replace(/^--/, "").split("=")[0]!, a.split("=")[1] ?? "1"]));
const N = Number(args.get("n") ?? 20);
const startedAt = new Date().toISOString();
const load = [loadavg()[0]!];

const grid: Grid = await startGrid({ env: { BROWSERGRID_LOG_LEVEL: "warn", BROWSERGRID_API_RATE_LIMIT: "1000000" } });
const pages = await startPageServer();

const api = apiOf(grid);

/** The browser-level WebSocket URL of a session's Chromium, on its container address. */
async function directUrl(sessionId: string): Promise<string> {
  const db = new Database(join(grid.dataDir, "browsergrid.db"), { readonly: true });
  const ep = db.query<{ e: string }, [string]>("SELECT cdp_endpoint AS e FROM sessions WHERE id = ?").get(sessionId)!.e;
  db.close();
  const info = (await (await fetch(`http://${ep}/json/version`)).json()) as { webSocketDebuggerUrl: string };
  return `ws://${ep}${new URL(info.webSocketDebuggerUrl).pathname}`;
}

const stages = { gatewayConnect: [] as number[], gatewayGoto: [] as number[], directConnect: [] as number[], directGoto: [] as number[] };
try {
  await api("PATCH", "/api/v1/pools/default", { maxSessions: 10, minWarm: 2 });
  for (let i = 0; i < N + 1; i++) {
    await warmReady(api, "default", 2);
    const s = await api("POST", "/api/v1/sessions", { keepAlive: true });
    const urls = { gateway: s.cdpUrl as string, direct: await directUrl(s.id) };
    const order = i % 2 === 0 ? (["gateway", "direct"] as const) : (["direct", "gateway"] as const);
    for (const [k, path] of order.entries()) {
      let t = performance.now();
      const browser = await chromium.connectOverCDP(urls[path]);
      const connectMs = performance.now() - t;
      const page = browser.contexts()[0]!.pages()[0] ?? (await browser.contexts()[0]!.newPage());
      t = performance.now();
      await page.goto(`${pages.url}/?${i}.${k}`);
      const gotoMs = performance.now() - t;
      await browser.close();
      if (i === 0) continue; // warm-up sample: JIT, first connections
      stages[`${path}Connect`].push(connectMs);
      if (k === 0) stages[`${path}Goto`].push(gotoMs); // only a browser's first navigation
    }
    await api("DELETE", `/api/v1/sessions/${s.id}`);
    load.push(loadavg()[0]!);
  }
} finally {
  await shrinkWarm(api, ["default"]);
  await grid.dispose(); // stops it and removes what a removal cut short by the stop left behind
  pages.stop();
}

const results = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, summarize(v)]));
const row = (what: string, g: number[], d: number[]) => {
  const [gs, ds] = [summarize(g), summarize(d)];
  return [what, round(ds.p50, 1), round(ds.p99, 1), round(gs.p50, 1), round(gs.p99, 1), round(gs.p50 - ds.p50, 1), gs.n];
};
const markdown = [
  "Playwright through BrowserGrid (cdpUrl) vs straight to the same Chromium (container address), same session, alternating order (bench/client-floor.ts).",
  `Load average (1 min) during the run: ${Math.min(...load).toFixed(2)}–${Math.max(...load).toFixed(2)}.`,
  "",
  mdTable(
    ["stage", "direct p50 ms", "direct p99 ms", "through BrowserGrid p50 ms", "p99 ms", "added p50 ms", "n"],
    [row("connectOverCDP", stages.gatewayConnect, stages.directConnect), row("first goto of a local page", stages.gatewayGoto, stages.directGoto)],
  ),
  "",
  `Floor under the warm lifecycle (direct connect + first goto, p50): ${round(summarize(stages.directConnect).p50 + summarize(stages.directGoto).p50, 1)} ms, before BrowserGrid's create and release.`,
].join("\n");
const files = writeReport({ name: "client-floor", startedAt, machine: machineInfo({ docker: (await docker.version()).Version }), results, markdown });
console.log(markdown);
console.log(`written: ${files.json}`);
process.exit(0);
