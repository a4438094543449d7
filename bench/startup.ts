// bench/startup: the compiled binary, started in an empty directory with a fresh data dir,
// until /readyz answers 200 — and its idle RSS once ready. Targets (SPEC): ≤ 100 ms, ≤ 80 MB.
// Baseline in the same run: the same binary's `version` command (process start alone).
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBinary, freePort } from "../test/helpers/binary";
import { machineInfo } from "./lib/machine";
import { mdTable, writeReport } from "./lib/report";
import { round, summarize } from "./lib/stats";

const RUNS = Number(process.env.BENCH_RUNS ?? 15);

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

async function startOnce(bin: string, fresh: boolean, dataDir?: string) {
  const dir = dataDir ?? join(mkdtempSync(join(tmpdir(), "bg-bench-start-")), "data");
  const port = freePort();
  const t0 = performance.now();
  const proc = Bun.spawn([bin, "serve"], {
    env: { PATH: process.env.PATH!, HOME: tmpdir(), BROWSERGRID_PORT: String(port), BROWSERGRID_DATA_DIR: dir, BROWSERGRID_LOG_LEVEL: "warn" },
    stdout: "ignore",
    stderr: "ignore",
  });
  let ready = -1;
  while (performance.now() - t0 < 10_000) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (r.status === 200) {
        ready = performance.now() - t0;
        break;
      }
    } catch {}
    await Bun.sleep(1);
  }
  await Bun.sleep(500);
  const rss = rssMiB(proc.pid);
  proc.kill("SIGTERM");
  await proc.exited;
  void fresh;
  return { readyMs: ready, rssMiB: rss, dataDir: dir };
}

const bin = await buildBinary();
const baseline: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  Bun.spawnSync([bin, "version"], { stdout: "ignore" });
  baseline.push(performance.now() - t0);
}
const fresh: number[] = [];
const warm: number[] = [];
const rss: number[] = [];
let reuse: string | undefined;
for (let i = 0; i < RUNS; i++) {
  const a = await startOnce(bin, true);
  fresh.push(a.readyMs);
  rss.push(a.rssMiB);
  reuse ??= a.dataDir;
  const b = await startOnce(bin, false, reuse);
  warm.push(b.readyMs);
}
const s = { baselineVersion: summarize(baseline), freshDataDir: summarize(fresh), existingDataDir: summarize(warm), idleRssMiB: summarize(rss) };
const rows = [
  ["`browsergrid version` (process start, baseline)", round(s.baselineVersion.p50), round(s.baselineVersion.p99), "—"],
  ["start → /readyz 200, new data dir", round(s.freshDataDir.p50), round(s.freshDataDir.p99), "≤ 100 ms"],
  ["start → /readyz 200, existing data dir", round(s.existingDataDir.p50), round(s.existingDataDir.p99), "≤ 100 ms"],
];
const md = [
  `Runs: ${RUNS}. The readiness probe includes one Docker ping of the local worker.`,
  "",
  mdTable(["What", "p50 ms", "p99 ms", "Target"], rows),
  "",
  mdTable(["Idle RSS after ready", "p50 MiB", "max MiB", "Target"], [["server, no session", round(s.idleRssMiB.p50), round(s.idleRssMiB.max), "≤ 80 MB"]]),
].join("\n");
const out = writeReport({ name: "startup", startedAt: new Date().toISOString(), machine: machineInfo(), results: s, markdown: md });
console.log(md);
console.log(`\nwritten: ${out.json}, ${out.md}`);
