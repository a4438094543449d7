// The benchmark suite: runs every bench/<name>.ts present, one at a time (they must never
// overlap: each one measures the whole machine), then writes bench/results/summary-<date>.json
// and .md with the machine, each SPEC.md performance target and the value measured for it.
//
//   bun run bench                       # everything (≈ 30–40 min on 2 cores, churn alone 15)
//   bun run bench --quick               # fewer iterations: a smoke run (≈ 3–5 min)
//   bun run bench --only api,gateway    # a subset
//   bun run bench --no-run              # only rebuild the summary from the newest reports
//
// Each bench writes its own report (bench/lib/report.ts: results/<name>-<date>.json + .md); the
// runner picks up the newest one written during that bench's run. A bench may also put
// `results.spec = [{ target, measured, met, note? }]` (target = an id of TARGETS below) to
// report a SPEC row itself; otherwise the extractors below read its known result fields.
import { readdirSync, readFileSync, statSync, mkdirSync, writeFileSync, existsSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { machineInfo } from "./lib/machine";
import { mdTable, RESULTS_DIR } from "./lib/report";
import { round } from "./lib/stats";

const DIR = import.meta.dir;
const RESULTS = RESULTS_DIR;
/** Suite order: cheapest and least disturbing first; browser-heavy ones last. */
const ORDER = ["startup", "api", "abuse", "gateway", "cold-start", "lifecycle", "client-floor", "runs", "crash", "density", "churn"];
/** Extra arguments for a quick run, for benches that size themselves with their own flags. */
const QUICK_ARGS: Record<string, string[]> = { "cold-start": ["--n=3"], lifecycle: ["--n=5", "--cold=3"], "client-floor": ["--n=3"], runs: ["--n=5", "--cold=2", "--floor=3"], crash: ["--n=3"], churn: ["--minutes=1"] };

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const onlyArg = argv.find((a) => a.startsWith("--only"));
const only = onlyArg ? (onlyArg.includes("=") ? onlyArg.split("=")[1]! : argv[argv.indexOf(onlyArg) + 1] ?? "").split(",").filter(Boolean) : null;

const present = ORDER.filter((n) => existsSync(join(DIR, `${n}.ts`)));
const selected = only ? present.filter((n) => only.includes(n)) : present;
if (only) for (const n of only) if (!present.includes(n)) console.error(`[bench] no bench/${n}.ts here; skipped`);

type Json = Record<string, any>;
const runs: Record<string, { ok: boolean; exitCode: number | null; seconds: number; report?: string; results?: Json; machine?: Json; loadavgBefore: string; loadavgAfter: string }> = {};
const la = () => loadavg().map((x) => x.toFixed(2)).join(" ");
const startedAt = new Date().toISOString();

function newestReport(name: string, since: number): string | undefined {
  if (!existsSync(RESULTS)) return undefined;
  const files = readdirSync(RESULTS)
    .filter((f) => f.startsWith(`${name}-`) && f.endsWith(".json"))
    .map((f) => ({ f, t: statSync(join(RESULTS, f)).mtimeMs }))
    .filter((x) => x.t >= since - 1000)
    .sort((a, b) => b.t - a.t);
  return files[0] ? join(RESULTS, files[0].f) : undefined;
}

// --no-run: only rebuild the summary from the newest report of each bench already written.
const noRun = argv.includes("--no-run");
for (const name of noRun ? selected : []) {
  const report = newestReport(name, 0);
  const parsed = report ? (JSON.parse(readFileSync(report, "utf8")) as Json) : undefined;
  if (parsed) runs[name] = { ok: true, exitCode: 0, seconds: 0, report: report!.startsWith(DIR) ? report!.slice(DIR.length + 1) : report, results: parsed.results, machine: parsed.machine, loadavgBefore: parsed.machine?.loadavgAtStart ?? parsed.machine?.loadavg ?? "?", loadavgAfter: parsed.machine?.loadavgAtEnd ?? parsed.machine?.loadavg ?? "?" };
}
for (const name of noRun ? [] : selected) {
  const args = [process.execPath, "run", join(DIR, `${name}.ts`)];
  if (quick) args.push("--quick", ...(QUICK_ARGS[name] ?? []));
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  if (quick) env.BENCH_RUNS ??= "3"; // bench/startup.ts
  console.error(`\n[bench] ── ${name} ${quick ? "(quick) " : ""}── load average ${la()}`);
  const t0 = Date.now();
  const loadavgBefore = la();
  const proc = Bun.spawn(args, { stdout: "inherit", stderr: "inherit", env, cwd: join(DIR, "..") });
  const limitMs = (quick ? 10 : 40) * 60_000;
  const timer = setTimeout(() => proc.kill("SIGTERM"), limitMs);
  const exitCode = await proc.exited;
  clearTimeout(timer);
  const report = newestReport(name, t0);
  const parsed = report ? (JSON.parse(readFileSync(report, "utf8")) as Json) : undefined;
  runs[name] = { ok: exitCode === 0 && !!report, exitCode, seconds: round((Date.now() - t0) / 1000), report: report?.startsWith(DIR) ? report.slice(DIR.length + 1) : report, results: parsed?.results, machine: parsed?.machine, loadavgBefore, loadavgAfter: la() };
  console.error(`[bench] ${name}: exit ${exitCode}, ${runs[name]!.seconds} s, report ${report ?? "none"}`);
}

// ---- SPEC.md targets ---------------------------------------------------------------------

interface Row {
  target: string;
  what: string;
  goal: string;
  measured: string;
  met: boolean | null;
  source: string;
  note?: string;
}

const r = (name: string): Json | undefined => runs[name]?.results;
/** Finds a row a bench reported itself through `results.spec`. */
function selfReported(id: string): Row | undefined {
  for (const [name, run] of Object.entries(runs)) {
    const spec = run.results?.spec as { target: string; measured: string; met: boolean | null; note?: string }[] | undefined;
    const s = spec?.find((x) => x.target === id);
    if (s) return { target: id, what: "", goal: "", measured: s.measured, met: s.met, source: name, note: s.note };
  }
  return undefined;
}

/** A lifecycle scenario's local-worker summary (ms), formatted, with the SSH worker alongside. */
function lifecycleRow(key: string) {
  const x = r("lifecycle")?.[key] as { local?: Json; ssh?: Json } | undefined;
  if (!x?.local) return undefined;
  const l = x.local;
  const f = (s: Json | undefined) => (s ? `p50 ${round(s.p50, 1)} ms, p99 ${round(s.p99, 1)} ms` : "–");
  return {
    fmt: (met: (s: Json) => boolean) => ({ measured: `${f(l)} (local worker)` + (x.ssh ? `; SSH worker ${f(x.ssh)}` : ""), met: met(l), source: "lifecycle" }),
    other: (k: string) => f((r("lifecycle")?.[k] as { local?: Json } | undefined)?.local),
  };
}

const TARGETS: { id: string; what: string; goal: string; extract(): Omit<Row, "target" | "what" | "goal"> | undefined }[] = [
  {
    id: "warm-acquire",
    what: "Warm acquisition, POST /sessions → 201 (server time)",
    goal: "p50 ≤ 5 ms, p99 ≤ 20 ms",
    extract() {
      const l = lifecycleRow("warm create → 201 c1");
      if (l) return { ...l.fmt((s) => s.p50 <= 5 && s.p99 <= 20), note: `client-side over loopback (an upper bound of server time); c10: ${l.other("warm create → 201 c10")}` };
      const c = r("api")?.create;
      if (!c) return undefined;
      return {
        measured: `p50 ${c.latencyMs.p50} ms, p99 ${c.latencyMs.p99} ms (client-side, 64 concurrent)`,
        met: c.latencyMs.p50 <= 5 && c.latencyMs.p99 <= 20,
        source: "api",
        note: "POST with a no-op provider at 64 concurrent clients (control-plane cost), not the warm claim: bench/lifecycle.ts did not run",
      };
    },
  },
  {
    id: "warm-connect",
    what: "Warm create → CDP connect → first reply",
    goal: "p50 ≤ 15 ms, p99 ≤ 50 ms",
    extract() {
      const l = lifecycleRow("warm create → connect → first reply c1");
      return l ? { ...l.fmt((s) => s.p50 <= 15 && s.p99 <= 50), note: `c10: ${l.other("warm create → connect → first reply c10")}` } : undefined;
    },
  },
  {
    id: "warm-lifecycle",
    what: "Warm lifecycle: create → connect → goto local page → release",
    goal: "p50 ≤ 100 ms",
    extract() {
      const l = lifecycleRow("warm create → connect → goto → release (Playwright) c1");
      return l ? { ...l.fmt((s) => s.p50 <= 100), note: `Playwright connectOverCDP; c10: ${l.other("warm create → connect → goto → release (Playwright) c10")}` } : undefined;
    },
  },
  {
    id: "cold-start",
    what: "Cold start, empty pool, create → CDP ready (headless-shell)",
    goal: "p50 ≤ 230 ms, p99 ≤ 600 ms",
    extract() {
      const c = r("cold-start")?.["headless-shell"];
      const floor = r("density")?.dockerFloor;
      const lc = r("lifecycle")?.["cold create → CDP ready (headless-shell) c1"]?.local;
      if (!c) return undefined;
      return {
        measured: `p50 ${round(c.startMs.p50)} ms, p99 ${round(c.startMs.p99)} ms (provider start)` + (lc ? `; through the API: p50 ${round(lc.p50)} ms, p99 ${round(lc.p99)} ms` : ""),
        met: c.startMs.p50 <= 230 && c.startMs.p99 <= 600,
        source: "cold-start",
        note: floor ? `Docker alone here: \`docker run --rm <image> true\` p50 ${floor.runRmTrueMs?.p50} ms, create+start p50 ${floor.createStartMs?.p50} ms (bench/density.ts)` : undefined,
      };
    },
  },
  {
    id: "gateway-rtt",
    what: "Gateway added round trip vs direct CDP (Browser.getVersion)",
    goal: "p50 ≤ 25 µs, p99 ≤ 70 µs",
    extract() {
      const g = r("gateway");
      const m = g?.subprocess ?? g?.inprocess;
      if (!m) return undefined;
      const a = m.roundTrip.addedUs;
      const f = m.roundTrip.floors ?? {};
      const floor = [f.cPipe && `a C epoll byte pipe +${f.cPipe.addedUs.p50MedianOfRounds} µs`, f.bunPipe && `a Bun byte pipe +${f.bunPipe.addedUs.p50MedianOfRounds} µs`].filter(Boolean).join(", ");
      const where = g?.subprocess ? "gateway in its own process" : "gateway in the client's process";
      return {
        measured: `+${a.p50MedianOfRounds ?? a.p50} µs p50, ${a.p99 >= 0 ? "+" : ""}${a.p99} µs p99`,
        met: (a.p50MedianOfRounds ?? a.p50) <= 25 && a.p99 <= 70,
        source: "gateway",
        note: floor ? `${where}; the floor of any hop, same rounds: ${floor} (p50)` : where,
      };
    },
  },
  {
    id: "gateway-throughput",
    what: "Gateway throughput: pipelined small messages / 20 MB screenshots",
    goal: "≥ 100 % / ≥ 97 % of direct",
    extract() {
      const g = r("gateway");
      const m = g?.subprocess ?? g?.inprocess;
      if (!m) return undefined;
      const p = m.pipelined.ratio * 100;
      const s = (m.large?.screenshot?.ratio ?? NaN) * 100;
      return { measured: `${round(p)} % / ${round(s)} %`, met: p >= 100 && s >= 97, source: "gateway", note: m.concurrent8 ? `8 clients × 20 MB at once: ${round(m.concurrent8.ratio * 100)} %` : undefined };
    },
  },
  { id: "crash", what: "Crash → client closed and slot freed", goal: "≤ 1 s", extract: () => undefined },
  {
    id: "density",
    what: "Idle warm browsers per GiB (headless-shell)",
    goal: "≥ 7",
    extract() {
      const d = r("density")?.flavours?.["headless-shell"];
      if (!d) return undefined;
      return { measured: `${d.browsersPerGiB} per GiB (${d.mibPerBrowser.p50} MiB each, n=${d.started})`, met: d.browsersPerGiB >= 7, source: "density" };
    },
  },
  {
    id: "server-rss",
    what: "Server memory with 100 sessions",
    goal: "≤ 120 MB RSS",
    extract() {
      const s = r("density")?.serverRss;
      if (!s) return undefined;
      return { measured: `${s.with100SessionsMiB} MiB (${s.idleMiB} MiB with none)`, met: s.with100SessionsMiB * 1.048576 <= 120, source: "density", note: "control plane with 100 sessions on a no-op provider (server from source, not the compiled binary)" };
    },
  },
  {
    id: "abuse",
    what: "Server under body abuse: 8 anonymous 250 MiB chunked bodies + 4 zip-bomb imports",
    goal: "RSS < 300 MB, /healthz < 100 ms",
    extract: () => undefined, // bench/abuse.ts reports this row itself (results.spec)
  },
  {
    id: "api-list",
    what: "GET /api/v1/sessions (50 rows), 64 clients",
    goal: "≥ 10,000 req/s",
    extract() {
      const a = r("api");
      if (!a?.list) return undefined;
      return {
        measured: `${a.list.perSec} req/s, p99 ${a.list.latencyMs.p99} ms; server ${a.list.serverCpuUsPerRequest} µs CPU/req (1-core ceiling ${a.list.oneCoreCeilingPerSec} req/s)`,
        met: a.list.perSec >= 10_000,
        source: "api",
        note: a.healthz ? `/healthz baseline in the same run: ${a.healthz.perSec} req/s, ${a.healthz.serverCpuUsPerRequest} µs CPU/req` : undefined,
      };
    },
  },
  {
    id: "startup",
    what: "Binary start → ready",
    goal: "≤ 100 ms",
    extract() {
      const s = r("startup");
      if (!s?.freshDataDir) return undefined;
      return { measured: `p50 ${round(s.freshDataDir.p50)} ms (existing data dir ${round(s.existingDataDir.p50)} ms)`, met: s.freshDataDir.p50 <= 100, source: "startup", note: s.baselineVersion ? `\`browsergrid version\` alone (process start): p50 ${round(s.baselineVersion.p50)} ms` : undefined };
    },
  },
];

const rows: Row[] = TARGETS.map((t) => {
  const self = selfReported(t.id);
  if (self) return { ...self, what: t.what, goal: t.goal };
  const x = t.extract();
  return x ? { target: t.id, what: t.what, goal: t.goal, ...x } : { target: t.id, what: t.what, goal: t.goal, measured: "not measured in this run", met: null, source: "–" };
});

// ---- machine -----------------------------------------------------------------------------
function cmd(args: string[]): string {
  try {
    const p = Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe" });
    return p.exitCode === 0 ? p.stdout.toString().trim() : "unavailable";
  } catch {
    return "unavailable";
  }
}
const chromium = (Object.values(runs).find((x) => x.machine?.chromium)?.machine?.chromium as string | undefined) ?? cmd(["chromium", "--version"]);
const machine = machineInfo({
  docker: cmd(["docker", "version", "--format", "{{.Server.Version}}"]),
  chromium,
  headlessShellImage: cmd(["docker", "image", "inspect", "--format", "{{.Id}} {{index .Config.Labels \"org.opencontainers.image.version\"}}", "browsergrid/browser:headless-shell"]).slice(7, 19),
  loadavgAtStart: Object.values(runs)[0]?.loadavgBefore ?? la(),
  loadavgAtEnd: la(),
});

const stamp = startedAt.replace(/[:]/g, "-").replace(/\.\d+Z$/, "Z");
mkdirSync(RESULTS, { recursive: true });
const base = join(RESULTS, `summary-${stamp}`);
const summary = { name: "summary", startedAt, quick, machine, benches: runs, targets: rows };
writeFileSync(`${base}.json`, JSON.stringify(summary, null, 2) + "\n");

const yes = (m: boolean | null) => (m === null ? "–" : m ? "yes" : "**no**");
const md = [
  `# BrowserGrid benchmark summary — ${startedAt}${quick ? " (quick run: fewer iterations, smoke only)" : ""}`,
  "",
  `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, kernel ${machine.kernel}, Bun ${machine.bun}, Docker ${machine.docker}, Chromium ${machine.chromium}.`,
  `Load average (1/5/15 min) at start ${machine.loadavgAtStart}, at end ${machine.loadavgAtEnd}. On a shared 2-core machine other work inflates latencies and lowers throughput: see each bench's CPU-time-per-operation figures, which hold up better.`,
  "",
  mdTable(
    ["SPEC.md target", "goal", "measured", "met?", "bench", "note"],
    rows.map((x) => [x.what, x.goal, x.measured, yes(x.met), x.source, x.note ?? ""]),
  ),
  "",
  "## Benches run",
  "",
  mdTable(
    ["bench", "exit", "seconds", "load avg before → after", "report"],
    Object.entries(runs).map(([n, x]) => [n, x.exitCode ?? "–", x.seconds, `${x.loadavgBefore} → ${x.loadavgAfter}`, x.report ?? "none"]),
  ),
  "",
].join("\n");
writeFileSync(`${base}.md`, md);
console.log("\n" + md);
console.log(`written: ${base}.json\n         ${base}.md`);
process.exit(Object.values(runs).every((x) => x.ok) ? 0 : 1);
