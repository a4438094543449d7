// Crash → client closed and slot freed, through a real BrowserGrid (server subprocess, real
// Docker, headless-shell), measured per sample:
//   bun run bench/crash.ts [--n=10]
// Each sample: a pool with one slot runs one session with a Playwright client connected, and a
// second create waits in the queue for that slot. `docker kill` on the session's container
// starts the clock (client clock, same machine as the server); then
// - client closed: Playwright's `disconnected` event;
// - slot freed: the queued request's `starting` event (server clock), i.e. the crash was
//   noticed, the session ended as crashed and its slot went to the next request.
// Target (SPEC.md): ≤ 1 s for both. Baseline in the same run: a DELETE of a session with a
// client connected, the same two measurements for an ordinary end.
import { chromium } from "playwright-core";
import { loadavg } from "node:os";
import { docker, startGrid, type Grid } from "../test/helpers/grid";
import { apiOf } from "./lib/grid-api";
import { machineInfo } from "./lib/machine";
import { mdTable, writeReport } from "./lib/report";
import { round, summarize } from "./lib/stats";

const args = new Map(process.argv.slice(2).map((a) => [a.replace(/^--/, "").split("=")[0]!, a.split("=")[1] ?? "1"]));
const N = Number(args.get("n") ?? 10);
const startedAt = new Date().toISOString();
const load = [loadavg()[0]!];

const grid: Grid = await startGrid({ env: { BROWSERGRID_LOG_LEVEL: "warn", BROWSERGRID_API_RATE_LIMIT: "1000000" } });

const api = apiOf(grid);

await api("PATCH", "/api/v1/pools/default", { maxSessions: 1, minWarm: 0, queueTimeoutSec: 30 });

/** One sample: end the running session by `how`; ms to client closed and to the queued request's start. */
async function sample(how: "kill" | "delete"): Promise<{ closedMs: number; slotMs: number }> {
  const s = await api("POST", "/api/v1/sessions", { keepAlive: true });
  const browser = await chromium.connectOverCDP(s.cdpUrl);
  const closed = new Promise<number>((resolve) => browser.on("disconnected", () => resolve(Date.now())));
  const queued = grid.api("POST", "/api/v1/sessions", { keepAlive: true });
  // Wait until the second request is really queued behind the first.
  for (let i = 0; i < 200; i++) {
    if ((await api("GET", "/api/v1/pools/default")).stats.queued === 1) break;
    await Bun.sleep(10);
  }
  const container = (await docker.listContainers({ filters: { label: [`browsergrid.session=${s.id}`] } }))[0]!;
  const t0 = Date.now();
  if (how === "kill") await docker.getContainer(container.Id).kill();
  else await grid.api("DELETE", `/api/v1/sessions/${s.id}`);
  const closedAt = await closed;
  const next = await queued;
  if (next.status !== 201) throw new Error(`queued create: ${next.status} ${JSON.stringify(next.body)}`);
  const events = (await api("GET", `/api/v1/sessions/${next.body.id}/events`)).events as { type: string; at: string }[];
  const startingAt = Date.parse(events.find((e) => e.type === "starting")!.at);
  if (how === "kill") {
    const ended = (await api("GET", `/api/v1/sessions/${s.id}`)).status;
    if (ended !== "crashed") throw new Error(`killed session ended as ${ended}, not crashed`);
  }
  await grid.api("DELETE", `/api/v1/sessions/${next.body.id}`);
  return { closedMs: closedAt - t0, slotMs: startingAt - t0 };
}

const results: Record<string, any> = {};
try {
  await sample("kill"); // warm-up: image in the page cache, first connections made
  for (const how of ["delete", "kill"] as const) {
    const closed: number[] = [];
    const slot: number[] = [];
    for (let i = 0; i < N; i++) {
      const r = await sample(how);
      closed.push(r.closedMs);
      slot.push(r.slotMs);
    }
    results[how] = { clientClosedMs: summarize(closed), slotFreedMs: summarize(slot) };
    load.push(loadavg()[0]!);
  }
} finally {
  await grid.dispose();
}

const k = results.kill;
results.spec = [
  {
    target: "crash",
    measured: `client closed p50 ${round(k.clientClosedMs.p50)} ms / p99 ${round(k.clientClosedMs.p99)} ms; slot freed p50 ${round(k.slotFreedMs.p50)} ms / p99 ${round(k.slotFreedMs.p99)} ms`,
    met: k.clientClosedMs.p99 <= 1000 && k.slotFreedMs.p99 <= 1000,
  },
];
const row = (name: string, r: any) => [name, round(r.clientClosedMs.p50), round(r.clientClosedMs.p99), round(r.slotFreedMs.p50), round(r.slotFreedMs.p99)];
const markdown = [
  `Crash → client closed and slot freed (bench/crash.ts), ${N} samples each, headless-shell on the local Docker engine; one slot, one request queued behind it.`,
  `Target (SPEC.md): ≤ 1 s. Baseline: an ordinary DELETE with a client connected. Load average (1 min) along the run: ${load.map((x) => x.toFixed(2)).join(" → ")}.`,
  "",
  mdTable(["end", "client closed p50 ms", "p99 ms", "slot freed p50 ms", "p99 ms"], [row("DELETE (baseline)", results.delete), row("docker kill (crash)", results.kill)]),
].join("\n");
const files = writeReport({ name: "crash", startedAt, machine: machineInfo({ docker: (await docker.version()).Version }), results, markdown });
console.log(markdown);
console.log(`written: ${files.json}`);
