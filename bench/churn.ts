// Container churn through a real BrowserGrid: the load that deadlocked Debian 12's Docker 20.10
// (moby/moby#42545, FIELD-NOTES "Docker engine versions"). Run it on a new engine before
// trusting it:
//   bun run bench/churn.ts [--minutes=15] [--concurrency=10] [--warm=10]
// `concurrency` clients at once, each in a loop until the time is up: create (a warm claim; the
// pool refills behind it) → Playwright connectOverCDP → one navigation → DELETE → close. Every
// step has a deadline (a hung engine fails a step, it never hangs the run). Reports cycles/s,
// p50/p99 per step, failures per step, the worker's status changes and engine calls past their
// deadline, and network endpoint creations/deletions per browser container and per session from
// the engine's event stream (`network` connect/disconnect on the grid's own network).
import { chromium, type Browser } from "playwright-core";
import { rmSync } from "node:fs";
import { loadavg } from "node:os";
import { browserNetwork, docker, installIdOf, startIsolatedGrid, type Grid } from "../test/helpers/grid";
import { apiOf, shrinkWarm } from "./lib/grid-api";
import { StepTimeout, within } from "./lib/deadline";
import { machineInfo } from "./lib/machine";
import { mdTable, writeReport } from "./lib/report";
import { round, summarize, type Summary } from "./lib/stats";

const args = new Map(process.argv.slice(2).map((a) => [a.replace(/^--/, "").split("=")[0]!, a.split("=")[1] ?? "1"]));
function positive(name: string, fallback: number): number {
  const v = Number(args.get(name) ?? fallback);
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`--${name} must be a positive number, got "${args.get(name)}"`);
    process.exit(2);
  }
  return v;
}
const MINUTES = positive("minutes", 15);
const CONCURRENCY = Math.round(positive("concurrency", 10));
const WARM = Math.round(positive("warm", 10));
const NETWORK = "bg-bench-churn";
const TABLE = "bg_bench_churn";
const STEPS = ["create", "connect", "navigate", "delete", "close"] as const;
type StepName = (typeof STEPS)[number];
const DEADLINE_MS: Record<StepName, number> = { create: 30_000, connect: 20_000, navigate: 20_000, delete: 30_000, close: 10_000 };
/** So many failed cycles in a row (all clients together) and the grid no longer serves: the run stops early. */
const GIVE_UP_AFTER = 30;

class StepFailed extends Error {
  constructor(
    readonly step: StepName,
    message: string,
  ) {
    super(`${step}: ${message}`);
  }
}

const startedAt = new Date().toISOString();
const load: number[] = [loadavg()[0]!];
const samples = Object.fromEntries(STEPS.map((s) => [s, [] as number[]])) as Record<StepName, number[]>;
const failures = Object.fromEntries(STEPS.map((s) => [s, { count: 0, timeouts: 0, examples: [] as string[] }])) as Record<StepName, { count: number; timeouts: number; examples: string[] }>;
const endpoints = new Map<string, { connects: number; disconnects: number }>();
const containers = { created: 0, destroyed: 0 };
const statusesSeen = new Map<string, number>();
let sessionsCreated = 0;
let cycles = 0;
let failedInARow = 0;
let stoppedEarly: string | null = null;

async function timed<T>(step: StepName, work: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    const v = await within(step, DEADLINE_MS[step], work());
    samples[step].push(performance.now() - t0);
    return v;
  } catch (err) {
    const f = failures[step];
    f.count++;
    if (err instanceof StepTimeout) f.timeouts++;
    if (f.examples.length < 5) f.examples.push(String((err as Error).message).slice(0, 300));
    throw err instanceof StepFailed ? err : new StepFailed(step, (err as Error).message);
  }
}

async function cycle(grid: Grid, pageUrl: string): Promise<void> {
  const created = await timed("create", async () => {
    const r = await grid.api("POST", "/api/v1/sessions", { keepAlive: true });
    if (r.status !== 201) throw new Error(`${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    return r.body as { id: string; cdpUrl: string };
  });
  sessionsCreated++;
  let browser: Browser | undefined;
  let failed: unknown;
  try {
    browser = await timed("connect", () => chromium.connectOverCDP(created.cdpUrl, { timeout: DEADLINE_MS.connect }));
    const context = browser.contexts()[0]!;
    const page = context.pages()[0] ?? (await context.newPage());
    await timed("navigate", () => page.goto(pageUrl, { timeout: DEADLINE_MS.navigate }));
  } catch (err) {
    failed = err;
  }
  // Deleted whatever happened above: a failed cycle must not hold a slot.
  await timed("delete", async () => {
    const r = await grid.api("DELETE", `/api/v1/sessions/${created.id}`);
    if (r.status !== 200) throw new Error(`${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  }).catch((err) => (failed ??= err));
  if (browser) await timed("close", () => browser!.close()).catch((err) => (failed ??= err));
  if (failed) throw failed;
}

async function client(grid: Grid, pageUrl: string, endAt: number): Promise<void> {
  while (performance.now() < endAt && !stoppedEarly) {
    try {
      await cycle(grid, pageUrl);
      cycles++;
      failedInARow = 0;
    } catch {
      if (++failedInARow >= GIVE_UP_AFTER) stoppedEarly ??= `${GIVE_UP_AFTER} cycles in a row failed`;
      await Bun.sleep(1_000); // a grid that refuses quickly is not hammered
    }
  }
}

/** Reads an engine event stream (one JSON object a line) into `onEvent` until it ends or is destroyed. */
function follow(stream: NodeJS.ReadableStream, onEvent: (e: { Type?: string; Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } }) => void): void {
  let buffered = "";
  stream.on("data", (chunk: Buffer | string) => {
    buffered += chunk.toString();
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line) onEvent(JSON.parse(line));
    }
  });
  stream.on("error", () => {});
}

const grid = await startIsolatedGrid({ network: NETWORK, table: TABLE }, { env: { BROWSERGRID_LOG_LEVEL: "warn", BROWSERGRID_API_RATE_LIMIT: "1000000" } });
const api = apiOf(grid);
const pages = Bun.serve({ hostname: "0.0.0.0", port: 0, fetch: () => new Response("<!doctype html><title>churn</title><h1>churn</h1>", { headers: { "content-type": "text/html" } }) });
const streams: (NodeJS.ReadableStream & { destroy?: () => void })[] = [];
let statusPoll: ReturnType<typeof setInterval> | undefined;
let results: Record<string, unknown> | undefined;
let markdown = "";

try {
  const gateway = (await browserNetwork(NETWORK)).IPAM?.Config?.[0]?.Gateway;
  if (!gateway) throw new Error(`network ${NETWORK} has no gateway address`);
  const pageUrl = `http://${gateway}:${pages.port}/churn`;
  const installId = installIdOf(grid.dataDir);
  if (!installId) throw new Error("the grid has no install id");

  // Engine events: endpoints on the grid's network, and this install's containers.
  const net = (await docker.getEvents({ filters: { type: ["network"], event: ["connect", "disconnect"], network: [NETWORK] } })) as NodeJS.ReadableStream;
  const ctr = (await docker.getEvents({ filters: { type: ["container"], event: ["create", "destroy"], label: [`browsergrid.install=${installId}`] } })) as NodeJS.ReadableStream;
  streams.push(net, ctr);
  follow(net, (e) => {
    const id = e.Actor?.Attributes?.container;
    if (!id) return;
    const c = endpoints.get(id) ?? { connects: 0, disconnects: 0 };
    if (e.Action === "connect") c.connects++;
    if (e.Action === "disconnect") c.disconnects++;
    endpoints.set(id, c);
  });
  follow(ctr, (e) => {
    if (e.Action === "create") containers.created++;
    if (e.Action === "destroy") containers.destroyed++;
  });

  const local = (await api("GET", "/api/v1/workers")).workers.find((w: { kind: string }) => w.kind === "docker");
  await api("PATCH", `/api/v1/workers/${local.id}`, { capacity: CONCURRENCY + WARM + 10 });
  await api("PATCH", "/api/v1/pools/default", { maxSessions: CONCURRENCY + WARM + 10, minWarm: WARM });
  statusPoll = setInterval(() => {
    void within("worker status", 5_000, api("GET", `/api/v1/workers/${local.id}`))
      .then((w) => statusesSeen.set(w.status, (statusesSeen.get(w.status) ?? 0) + 1))
      .catch(() => statusesSeen.set("no answer", (statusesSeen.get("no answer") ?? 0) + 1));
    load.push(loadavg()[0]!);
  }, 2_000);

  console.error(`[churn] ${CONCURRENCY} clients for ${MINUTES} min, ${WARM} warm browsers`);
  const t0 = performance.now();
  const endAt = t0 + MINUTES * 60_000;
  await Promise.all(Array.from({ length: CONCURRENCY }, () => client(grid, pageUrl, endAt)));
  const elapsedSec = (performance.now() - t0) / 1000;
  clearInterval(statusPoll);

  // Give the warm browsers back and let the last events arrive before counting.
  await shrinkWarm(api, ["default"]);
  await Bun.sleep(2_000);
  const worker = await within("final worker state", 10_000, api("GET", `/api/v1/workers/${local.id}`));

  const per = [...endpoints.values()];
  const connects = per.reduce((n, c) => n + c.connects, 0);
  const disconnects = per.reduce((n, c) => n + c.disconnects, 0);
  const steps = Object.fromEntries(
    STEPS.map((s) => [s, { ...summarize(samples[s]), perSec: round(samples[s].length / elapsedSec, 2), failures: failures[s].count, timeouts: failures[s].timeouts, examples: failures[s].examples }]),
  ) as Record<StepName, Summary & { perSec: number; failures: number; timeouts: number; examples: string[] }>;
  const creationsPerContainer = per.length ? round(connects / per.length, 3) : null;
  const creationsPerSession = sessionsCreated ? round(connects / sessionsCreated, 3) : null;
  results = {
    minutes: MINUTES,
    concurrency: CONCURRENCY,
    warm: WARM,
    elapsedSec: round(elapsedSec, 1),
    cycles,
    cyclesPerSec: round(cycles / elapsedSec, 2),
    sessionsCreated,
    stoppedEarly,
    steps,
    network: {
      containersSeen: per.length,
      endpointCreations: connects,
      endpointDeletions: disconnects,
      creationsPerContainer,
      creationsPerSession,
      containersWithMoreThanOneEndpoint: per.filter((c) => c.connects > 1).length,
      endpointsLeft: per.filter((c) => c.connects > c.disconnects).length,
    },
    containers,
    worker: { statusesSeen: Object.fromEntries(statusesSeen), finalStatus: worker.status, lastError: worker.lastError, engineTimeouts: worker.engineTimeouts },
    loadavg1: { min: round(Math.min(...load), 2), max: round(Math.max(...load), 2) },
  };
  const ms = (x: number) => (Number.isFinite(x) ? round(x, 1) : "–");
  markdown =
    mdTable(
      ["step", "n", "p50 ms", "p99 ms", "max ms", "per s", "failures (timeouts)"],
      STEPS.map((s) => [s, steps[s].n, ms(steps[s].p50), ms(steps[s].p99), ms(steps[s].max), steps[s].perSec, `${steps[s].failures} (${steps[s].timeouts})`]),
    ) +
    `\n\n${cycles} full cycles (create → Playwright connect → navigation → DELETE → close) by ${CONCURRENCY} clients in ${round(elapsedSec, 1)} s: ${round(cycles / elapsedSec, 2)} cycles/s; ${WARM} warm browsers refilling.` +
    (stoppedEarly ? ` **Stopped early: ${stoppedEarly}.**` : "") +
    `\n\nNetwork endpoints on ${NETWORK} (engine events): ${connects} created, ${disconnects} deleted, for ${per.length} browser containers ` +
    `(${creationsPerContainer} per container, ${creationsPerSession} per session); ` +
    `containers created ${containers.created}, removed ${containers.destroyed}.\n\n` +
    `Worker: statuses seen ${JSON.stringify(Object.fromEntries(statusesSeen))}, engine calls past their deadline ${JSON.stringify(Object.fromEntries(Object.entries(worker.engineTimeouts as Record<string, number>).filter(([, n]) => n > 0)))}.\n` +
    `Load average (1 min) during the run: ${round(Math.min(...load), 2)}–${round(Math.max(...load), 2)}.\n`;
} catch (err) {
  // Said before the clean-up below, which may take a while (or fail the same way).
  console.error("churn bench failed:", err);
  process.exitCode = 1;
} finally {
  clearInterval(statusPoll);
  for (const s of streams) s.destroy?.();
  await shrinkWarm(api, ["default"]).catch(() => {});
  await grid.dispose().catch((err) => console.error("clean-up failed:", err));
  rmSync(grid.dataDir, { recursive: true, force: true });
  pages.stop(true);
}

if (results) {
  const files = writeReport({ name: "churn", startedAt, machine: machineInfo({ docker: (await within("docker version", 10_000, docker.version())).Version }), results, markdown });
  console.log(markdown);
  console.log(`written: ${files.json}`);
}
// A step that failed (or a run that did not finish) fails the bench: churn exists to find them.
const anyFailed = STEPS.some((s) => failures[s].count > 0);
process.exit(process.exitCode === 1 || !results || anyFailed ? 1 : 0);
