// Deployment runs through a real BrowserGrid (a server subprocess, real Docker, headless-shell
// browsers, the bun runner image): how long from a trigger to the first line of user code.
//   bun run bench/runs.ts [--n=20] [--cold=5] [--floor=10]
// The bundle prints Date.now() as its first statement (before importing playwright-core), then
// connects to its browser, loads a page from the host, prints Date.now() again and exits.
// One run at a time, with a warm browser (the pool's minWarm refilled before each sample) and
// cold (minWarm 0: the attempt starts a browser). Per run:
//   trigger → first line = the printed timestamp − the client's clock just before the POST (the
//   runner shares the host's clock); where the time goes, from the run's log and events and the
//   engine's events of its runner: → dispatched (the attempt's first system line) → runner
//   created (browser session, bundle, create) → started (bundle copied in, start) → first line
//   → last line → exited → succeeded; and how many browser containers (the warm pool's refill)
//   the engine started while the code ran.
// Floors measured in the same run, on the same image: the `docker run --rm` equivalent through
// the Docker API (create → start → first line of `bun -e`, a runner-shaped container and a bare
// one; one of each after every warm run, so both see the same load), and the runtime's own
// start inside a running runner container (bun -e, python3 -c, bun importing playwright-core),
// timed inside it (--floor samples each).
import { rmSync } from "node:fs";
import { loadavg } from "node:os";
import { browserNetwork, docker, startIsolatedGrid, type Grid } from "../test/helpers/grid";
import { apiOf, shrinkWarm, warmReady } from "./lib/grid-api";
import { machineInfo } from "./lib/machine";
import { mdTable, writeReport } from "./lib/report";
import { round, summarize, type Summary } from "./lib/stats";

const args = new Map(process.argv.slice(2).map((a) => [a.replace(/^--/, "").split("=")[0]!, a.split("=")[1] ?? "1"]));
const N = Number(args.get("n") ?? 20);
const COLD_N = Number(args.get("cold") ?? 5);
const FLOOR_N = Number(args.get("floor") ?? 10); // runtime starts; the engine floors are taken beside each warm run
const WARM = 2;
const RUN_DEADLINE_MS = 120_000;
const DOCKER_CLI_DEADLINE_MS = 60_000;

const MAIN = `console.log("first " + Date.now());
const { chromium } = await import("playwright-core");
const browser = await chromium.connectOverCDP(process.env.BROWSERGRID_CDP_URL!);
const ctx = browser.contexts()[0] ?? (await browser.newContext());
const page = ctx.pages()[0] ?? (await ctx.newPage());
await page.goto(JSON.parse(process.env.BROWSERGRID_PARAMS!).url);
console.log("title " + (await page.title()));
console.log("last " + Date.now());
process.exit(0);
`;

const NETWORK = "browsergrid-bench-runs";
const grid: Grid = await startIsolatedGrid({ network: NETWORK, table: "bgbench_runs" }, { env: { BROWSERGRID_LOG_LEVEL: "warn", BROWSERGRID_API_RATE_LIMIT: "1000000" } });
const api = apiOf(grid);
const gateway = (await browserNetwork(NETWORK)).IPAM!.Config![0]!.Gateway!;
const pages = Bun.serve({ hostname: "0.0.0.0", port: 0, fetch: () => new Response("<!doctype html><title>bench</title>", { headers: { "content-type": "text/html" } }) });
const pageUrl = `http://${gateway}:${pages.port}/bench`;
const startedAt = new Date().toISOString();
const load: number[] = [loadavg()[0]!];

interface RunSample {
  firstLine: number;
  dispatched: number;
  toCreate: number;
  createToStart: number;
  startToFirstLine: number;
  succeeded: number;
  firstToLastLine: number;
  lastLineToExited: number;
  exitedToSucceeded: number;
  /** Browser containers (warm refills) the engine started while the code ran: first → last line. */
  browserStartsWhileCodeRan: number;
}

/** The engine's create and start times of a run's runner container (docker events), in ms. */
async function runnerEvents(runId: string, sinceMs: number): Promise<{ create: number; start: number }> {
  const out = await dockerCli(["events", "--since", String(Math.floor(sinceMs / 1000) - 1), "--until", String(Math.ceil(Date.now() / 1000) + 1), "--filter", "type=container", "--filter", `label=browsergrid.run=${runId}`, "--format", "{{.Action}} {{.TimeNano}}"]);
  const at = (action: string) => {
    const line = out.split("\n").find((l) => l.startsWith(`${action} `));
    if (!line) throw new Error(`run ${runId}: no ${action} event of its runner in:\n${out}`);
    return Number(BigInt(line.split(" ")[1]!) / 1_000_000n);
  };
  return { create: at("create"), start: at("start") };
}

const stamp = (line: string) => Date.parse(line.slice(0, line.indexOf(" ")));

/** Browser containers of this install the engine started between two times (ms). */
async function browserStarts(fromMs: number, toMs: number): Promise<number> {
  const out = await dockerCli(["events", "--since", String(Math.floor(fromMs / 1000) - 1), "--until", String(Math.ceil(Date.now() / 1000) + 1), "--filter", "type=container", "--filter", "event=start", "--filter", "label=browsergrid.session", "--format", "{{.TimeNano}}"]);
  return out.split("\n").filter(Boolean).map((ns) => Number(BigInt(ns) / 1_000_000n)).filter((ms) => ms >= fromMs && ms <= toMs).length;
}

async function oneRun(): Promise<RunSample> {
  const t0 = Date.now();
  const { id } = await api("POST", "/api/v1/deployments/bench-run/runs", { params: { url: pageUrl } });
  let run: { status: string; endedAt: string | null; error: string | null };
  for (const end = Date.now() + RUN_DEADLINE_MS; ; await Bun.sleep(20)) {
    run = await api("GET", `/api/v1/runs/${id}`);
    if (!["queued", "running"].includes(run.status)) break;
    if (Date.now() > end) throw new Error(`run ${id} not over in ${RUN_DEADLINE_MS / 1000} s`);
  }
  if (run.status !== "succeeded") throw new Error(`run ${id}: ${run.status} ${run.error}`);
  const log = ((await grid.api("GET", `/api/v1/runs/${id}/logs`)).body as string).split("\n");
  const first = log.find((l) => l.includes(" stdout first "));
  const system = log.find((l) => l.includes(" system "));
  if (!first || !system) throw new Error(`run ${id}: first line or system line missing:\n${log.join("\n")}`);
  const printed = Number(first.split(" stdout first ")[1]);
  const engine = await runnerEvents(id, t0);
  const events: { type: string; at: string }[] = (await api("GET", `/api/v1/runs/${id}/events`)).events;
  const exited = Date.parse(events.find((e) => e.type === "exited")?.at ?? "");
  const last = Number(log.find((l) => l.includes(" stdout last "))?.split(" stdout last ")[1]);
  return {
    firstLine: printed - t0,
    dispatched: stamp(system) - t0,
    toCreate: engine.create - stamp(system),
    createToStart: engine.start - engine.create,
    startToFirstLine: printed - engine.start,
    succeeded: Date.parse(run.endedAt!) - t0,
    firstToLastLine: last - printed,
    lastLineToExited: exited - last,
    exitedToSucceeded: Date.parse(run.endedAt!) - exited,
    browserStartsWhileCodeRan: await browserStarts(printed, last),
  };
}

async function measureRuns(n: number, warm: boolean): Promise<Record<keyof RunSample, Summary>> {
  const samples: RunSample[] = [];
  await api("PATCH", "/api/v1/pools/default", { minWarm: warm ? WARM : 0 });
  if (!warm) await shrinkWarm(api, ["default"]);
  for (let i = 0; i < n; i++) {
    if (warm) await warmReady(api, "default", WARM);
    else await Bun.sleep(300);
    samples.push(await oneRun());
    if (warm) await takeFloorSamples();
    load.push(loadavg()[0]!);
  }
  const keys = Object.keys(samples[0]!) as (keyof RunSample)[];
  return Object.fromEntries(keys.map((k) => [k, summarize(samples.map((s) => s[k]))])) as Record<keyof RunSample, Summary>;
}

/** A docker CLI command's output, or an error after DOCKER_CLI_DEADLINE_MS. */
async function dockerCli(argv: string[]): Promise<string> {
  const p = Bun.spawn(["docker", ...argv], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), DOCKER_CLI_DEADLINE_MS);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`docker ${argv.join(" ")}: exit ${code}: ${err}`);
  return out;
}

/**
 * The engine's floor for a run: create → start → exit of a trivial script on the runner image,
 * through the Docker API as the provider calls it; wall time to exit, and to its first line (the
 * printed timestamp). `bare`: no network, no volume; else a runner's shape
 * (docker-runner-container.ts): the grid's bridge, read-only root, /tmp tmpfs, app and output
 * anonymous volumes, limits.
 */
async function floorSample(bare: boolean, script = "console.log(Date.now())"): Promise<{ wall: number; printed: number }> {
  const hostConfig = bare
    ? { NetworkMode: "none" }
    : {
        NetworkMode: NETWORK,
        ReadonlyRootfs: true,
        Tmpfs: { "/tmp": "rw,nosuid,nodev,size=67108864,mode=1777" },
        Mounts: [
          { Type: "volume" as const, Source: "", Target: "/home/runner/app" },
          { Type: "volume" as const, Source: "", Target: "/home/runner/output" },
        ],
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        Memory: 512 * 2 ** 20,
        NanoCpus: 1e9,
        PidsLimit: 256,
      };
  {
    const t0 = Date.now();
    const c = await docker.createContainer({ Image: "browsergrid/runner:bun", Entrypoint: ["bun", "-e", script], Labels: { "browsergrid.bench": "runs" }, HostConfig: hostConfig });
    try {
      await c.start();
      await c.wait();
      const wall = Date.now() - t0;
      const out = (await c.logs({ stdout: true, follow: false })).toString("latin1");
      return { wall, printed: Number(/(\d{13})/.exec(out)?.[1]) - t0 };
    } finally {
      await c.remove({ force: true, v: true });
    }
  }
}

/** Floor samples, one after each run sample (the same load), collected by measureRuns. */
const floors = { shaped: [] as number[], shapedExit: [] as number[], bare: [] as number[] };
async function takeFloorSamples(): Promise<void> {
  const shaped = await floorSample(false);
  floors.shaped.push(shaped.printed);
  floors.shapedExit.push(shaped.wall);
  floors.bare.push((await floorSample(true)).printed);
}

/** Runtime starts timed inside one running runner container (no engine in the path), in ms. */
async function runtimeFloors(n: number): Promise<Record<string, Summary>> {
  const name = `bg-bench-runtime-${process.pid}`;
  const out: Record<string, Summary> = {};
  try {
    await dockerCli(["run", "-d", "--rm", "--name", name, "--network", "none", "--entrypoint", "sleep", "browsergrid/runner:bun", "600"]);
    const cmds: Record<string, string> = {
      "bun -e (runtime start)": "bun -e 1",
      "bun importing playwright-core": "cd /tmp && bun -e 'await import(\"playwright-core\")'",
    };
    for (const [label, cmd] of Object.entries(cmds)) {
      const script = `for i in $(seq ${n + 1}); do s=$(date +%s%N); ${cmd} >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000 )); done`;
      const us = (await dockerCli(["exec", name, "sh", "-c", script])).trim().split("\n").map(Number).slice(1);
      out[label] = summarize(us.map((x) => x / 1000));
    }
  } finally {
    await dockerCli(["rm", "-f", name]).catch(() => "");
  }
  const py = `bg-bench-runtime-py-${process.pid}`;
  try {
    await dockerCli(["run", "-d", "--rm", "--name", py, "--network", "none", "--entrypoint", "sleep", "browsergrid/runner:python", "600"]);
    const script = `for i in $(seq ${n + 1}); do s=$(date +%s%N); python3 -c 1; e=$(date +%s%N); echo $(( (e - s) / 1000 )); done`;
    const us = (await dockerCli(["exec", py, "sh", "-c", script])).trim().split("\n").map(Number).slice(1);
    out["python3 -c (runtime start)"] = summarize(us.map((x) => x / 1000));
  } finally {
    await dockerCli(["rm", "-f", py]).catch(() => "");
  }
  return out;
}

const results: Record<string, unknown> = {};
const rows: (string | number)[][] = [];
const fmt = (s: Summary) => [s.n, round(s.p50, 0), round(s.p99, 0)];
try {
  await api("POST", "/api/v1/deployments", { manifest: { name: "bench-run", entry: "main.ts", runtime: "bun", timeoutSec: 60, concurrency: 1, params: { type: "object", properties: { url: { type: "string" } } } }, files: { "main.ts": MAIN } });
  await oneRun(); // unmeasured: first image use, JIT
  await floorSample(false, "1");
  const warm = await measureRuns(N, true);
  const cold = await measureRuns(COLD_N, false);
  results.warm = warm;
  results.cold = cold;
  const stages: [keyof RunSample, string][] = [
    ["firstLine", "trigger → first line of user code"],
    ["dispatched", "  trigger → dispatched (attempt's first log line)"],
    ["toCreate", "  dispatched → runner created (browser session, secrets, bundle read, container create)"],
    ["createToStart", "  runner created → started (bundle copied in, start)"],
    ["startToFirstLine", "  runner started → first line (tini, entrypoint, bun start)"],
    ["succeeded", "trigger → succeeded"],
    ["firstToLastLine", "  first line → last line (import playwright-core, connect, goto)"],
    ["lastLineToExited", "  last line → exited event (process exit, the engine's wait, log drain)"],
    ["exitedToSucceeded", "  exited → succeeded (output copied, runner removed, session ended)"],
    ["browserStartsWhileCodeRan", "browser containers started while the code ran (count: the warm pool's refill)"],
  ];
  for (const [k, label] of stages) rows.push([label, ...fmt(warm[k]).map(String), ...fmt(cold[k]).slice(1).map(String)]);
  const runtime = await runtimeFloors(FLOOR_N);
  results.floors = {
    "engine: a runner-shaped container create → start → first line": summarize(floors.shaped),
    "engine: a runner-shaped container create → start → exit": summarize(floors.shapedExit),
    "engine: a bare container (no network, no volume) → first line": summarize(floors.bare),
    ...runtime,
  };
  for (const [label, s] of Object.entries(results.floors as Record<string, Summary>)) rows.push([`floor: ${label}`, ...fmt(s).map(String), "", ""]);
} catch (err) {
  console.error("runs bench failed:", err);
  throw err;
} finally {
  await shrinkWarm(api, ["default"]).catch(() => {});
  await grid.dispose();
  rmSync(grid.dataDir, { recursive: true, force: true });
  pages.stop(true);
}

const w = (results.warm as Record<keyof RunSample, Summary>).firstLine;
const floorFirst = (results.floors as Record<string, Summary>)["engine: a runner-shaped container create → start → first line"]!;
const markdown =
  mdTable(["stage", "n (warm)", "warm p50 ms", "warm p99 ms", "cold p50 ms", "cold p99 ms"], rows) +
  `\n\nAim: trigger → first line p50 ≤ 500 ms with a warm browser: ${round(w.p50, 0)} ms (${w.p50 <= 500 ? "met" : "not met"}); ` +
  `${round(w.p50 / floorFirst.p50, 2)}× the engine's floor (a runner-shaped container: create → start → first line) (${round(floorFirst.p50, 0)} ms) measured in the same run.\n` +
  `Stage times come from the run's log (server clock), the engine's create/start events of the runner and the script's Date.now() (the runner shares the host's clock); trigger time is the client's, just before the POST.\n` +
  `Warm: the default pool keeps ${WARM} browsers, refilled before each sample; cold: minWarm 0. One run at a time.\n` +
  `Load average (1 min) during the run: ${round(Math.min(...load), 2)}–${round(Math.max(...load), 2)}.\n`;
const files = writeReport({ name: "runs", startedAt, machine: machineInfo({ docker: (await docker.version()).Version }), results, markdown });
console.log(markdown);
console.log(`written: ${files.json}`);
process.exit(0);
