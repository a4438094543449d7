// REST API throughput and latency at 64 concurrent keep-alive clients.
//   bun run bench/api.ts [--quick] [--seconds=8] [--conns=64]
// The server (bench/lib/fake-server.ts: createApp + listen on a file database, production
// logger at "info" to /dev/null, a no-op FakeProvider worker) runs in one subprocess and the
// load generator (bench/lib/http-load.ts, raw sockets) in another, one scenario at a time:
//   - GET /healthz                      baseline: Bun.serve + Elysia + request plumbing, no auth/DB
//   - GET /api/v1/sessions (50 rows)    target ≥ 10,000 req/s (SPEC.md)
//   - the same 50 rows with ?status=running&pool=default&limit=50
//   - GET /api/v1/sessions/:id
//   - POST /api/v1/sessions then DELETE (no-op provider: the control plane's own cost)
// Besides req/s and p50/p95/p99, the server's CPU time per request (from /proc/<pid>/stat):
// it holds up on a busy machine where wall-clock throughput does not, and 1e6 / (CPU µs per
// request) is the throughput one free core would give.
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { machineInfo } from "./lib/machine";
import { mdTable, writeReport } from "./lib/report";
import { round, summarize } from "./lib/stats";
import { runLoad, type LoadRequest } from "./lib/http-load";

const args = new Map(process.argv.slice(2).map((a) => [a.replace(/^--/, "").split("=")[0]!, a.split("=").slice(1).join("=") || "1"]));
const quick = args.has("quick");

// ---- server subprocess ------------------------------------------------------------------
if (args.has("serve")) {
  const { startFakeServer, BENCH_KEY } = await import("./lib/fake-server");
  const store = await import("../src/modules/sessions/sessions.store");
  const { connectTokenHash } = await import("../src/modules/sessions/sessions.model");
  const { newId } = await import("../src/lib/ids");
  const s = await startFakeServer({ BROWSERGRID_LOG_LEVEL: process.env.BROWSERGRID_LOG_LEVEL ?? "info" });
  const { db, installKey } = s.deps;
  const pool = db.$client.query<{ id: string }, []>("SELECT id FROM pools WHERE name = 'default'").get()!;
  const worker = db.$client.query<{ id: string }, []>("SELECT id FROM workers WHERE name = 'bench-fake'").get()!;
  const seed = Number(args.get("seed") ?? 50);
  const ids: string[] = [];
  const now = Date.now();
  for (let i = 0; i < seed; i++) {
    const id = newId("ses");
    ids.push(id);
    store.insertSession(
      db,
      {
        id,
        poolId: pool.id,
        workerId: worker.id,
        ownerType: "static_key",
        ownerId: "benchadm0",
        status: "running",
        containerId: `fake-seed-${i}`,
        cdpEndpoint: "127.0.0.1:9",
        connectTokenHash: connectTokenHash(installKey, id),
        config: { browser: "headless-shell", viewport: { width: 1280, height: 720 } },
        metadata: { bench: true, i },
        timeoutSec: 3600,
        idleTimeoutSec: 300,
        createdAt: now - seed + i,
        startedAt: now - seed + i,
        expiresAt: now + 3600_000,
      },
      { type: "running" },
    );
  }
  const { writeFileSync } = await import("node:fs");
  writeFileSync(args.get("ready-file")!, JSON.stringify({ url: s.url, key: BENCH_KEY, sessionId: ids[0] }));
  process.on("SIGTERM", () => {
    s.stop();
    process.exit(0);
  });
  await new Promise(() => {});
}

// ---- load generator subprocess ------------------------------------------------------------
if (args.has("load")) {
  const spec = JSON.parse(args.get("load")!) as { url: string; key: string; scenario: string; sessionId: string; seconds: number; warmup: number; conns: number };
  const u = new URL(spec.url);
  const auth = { Authorization: `Bearer ${spec.key}` };
  const fixed = (req: LoadRequest) => () => ({ req, step: 0 });
  const next =
    spec.scenario === "healthz"
      ? fixed({ method: "GET", path: "/healthz" })
      : spec.scenario === "list"
        ? fixed({ method: "GET", path: "/api/v1/sessions", headers: auth })
        : spec.scenario === "list-filtered"
          ? fixed({ method: "GET", path: "/api/v1/sessions?status=running&pool=default&limit=50", headers: auth })
        : spec.scenario === "get"
          ? fixed({ method: "GET", path: `/api/v1/sessions/${spec.sessionId}`, headers: auth })
          : (step: number, prev: Buffer | null) => {
              if (step === 0) return { req: { method: "POST", path: "/api/v1/sessions", headers: auth, body: "{}" }, step: 1, wantBody: true };
              const id = prev ? /"id":"(ses_[a-z0-9]+)"/.exec(prev.toString())?.[1] : undefined;
              if (!id) return { req: { method: "POST", path: "/api/v1/sessions", headers: auth, body: "{}" }, step: 1, wantBody: true };
              return { req: { method: "DELETE", path: `/api/v1/sessions/${id}`, headers: auth }, step: 0 };
            };
  const r = await runLoad({ host: u.hostname, port: Number(u.port), conns: spec.conns, seconds: spec.seconds, warmupSeconds: spec.warmup, next });
  const out = {
    requests: r.requests,
    seconds: r.seconds,
    firstCount: r.latenciesUs.length,
    latencyUs: summarize(r.latenciesUs),
    statuses: r.statuses,
    second: r.second ? { latencyUs: summarize(r.second.latenciesUs), statuses: r.second.statuses } : undefined,
    clientCpuUs: process.cpuUsage(),
  };
  process.stdout.write(JSON.stringify(out) + "\n");
  process.exit(0);
}

// ---- orchestrator ---------------------------------------------------------------------------
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}
function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}
const la = () => loadavg().map((x) => x.toFixed(2)).join(" ");

const SECONDS = Number(args.get("seconds") ?? (quick ? 1 : 8));
const WARMUP = quick ? 0.3 : 2;
const CONNS = Number(args.get("conns") ?? 64);
const scenarios = (args.get("scenarios") ?? "healthz,list,list-filtered,get,create").split(",");

const startedAt = new Date().toISOString();
const loadStart = la();
const readyFile = join(mkdtempSync(join(tmpdir(), "bg-bench-api-ready-")), "ready.json");
const server = Bun.spawn([process.execPath, "run", import.meta.path, "--serve", `--ready-file=${readyFile}`], {
  stdout: "ignore",
  stderr: "inherit",
  env: { ...process.env, BROWSERGRID_LOG_LEVEL: process.env.BROWSERGRID_LOG_LEVEL ?? "info" },
});
const results: Record<string, unknown> = {};
const rows: (string | number)[][] = [];
try {
  const deadline = Date.now() + 30_000;
  while (!existsSync(readyFile) || readFileSync(readyFile, "utf8").length === 0) {
    if (server.exitCode !== null || Date.now() > deadline) throw new Error("api bench server did not start");
    await Bun.sleep(20);
  }
  await Bun.sleep(50);
  const ready = JSON.parse(readFileSync(readyFile, "utf8")) as { url: string; key: string; sessionId: string };
  // Correctness first: the list really has 50 rows.
  const check = await fetch(`${ready.url}/api/v1/sessions`, { headers: { authorization: `Bearer ${ready.key}` } });
  const listed = ((await check.json()) as { sessions: unknown[] }).sessions.length;
  if (check.status !== 200 || listed !== 50) throw new Error(`list answered ${check.status} with ${listed} rows`);
  results.server = { rssMiBAfterSeed: round(rssMiB(server.pid)) };

  for (const scenario of scenarios) {
    const loadBefore = loadavg()[0]!;
    const cpu0 = cpuSeconds(server.pid);
    const lg = Bun.spawn([process.execPath, "run", import.meta.path, `--load=${JSON.stringify({ ...ready, scenario, seconds: SECONDS, warmup: WARMUP, conns: CONNS })}`], { stdout: "pipe", stderr: "inherit" });
    const text = await new Response(lg.stdout).text();
    await lg.exited;
    const cpu1 = cpuSeconds(server.pid);
    const r = JSON.parse(text.trim().split("\n").pop()!) as {
      requests: number;
      seconds: number;
      firstCount: number;
      latencyUs: ReturnType<typeof summarize>;
      statuses: Record<string, number>;
      second?: { latencyUs: ReturnType<typeof summarize>; statuses: Record<string, number> };
    };
    // The CPU window includes warm-up and drain: scale by all requests the server answered then.
    const windowReqs = r.requests * ((SECONDS + WARMUP + 0.2) / r.seconds);
    const cpuUsPerReq = ((cpu1 - cpu0) * 1e6) / windowReqs;
    const perSec = scenario === "create" ? r.firstCount / r.seconds : r.requests / r.seconds;
    const entry = {
      perSec: Math.round(perSec),
      requests: r.requests,
      latencyMs: { p50: round(r.latencyUs.p50 / 1000, 2), p95: round(r.latencyUs.p95 / 1000, 2), p99: round(r.latencyUs.p99 / 1000, 2) },
      statuses: r.statuses,
      serverCpuUsPerRequest: round(cpuUsPerReq, 1),
      oneCoreCeilingPerSec: Math.round(1e6 / cpuUsPerReq),
      loadavg1mBefore: loadBefore,
      ...(r.second ? { delete: { latencyMs: { p50: round(r.second.latencyUs.p50 / 1000, 2), p95: round(r.second.latencyUs.p95 / 1000, 2), p99: round(r.second.latencyUs.p99 / 1000, 2) }, statuses: r.second.statuses } } : {}),
    };
    results[scenario] = entry;
    console.error(`[api] ${scenario}: ${JSON.stringify(entry)}`);
    const label = { healthz: "GET /healthz (baseline)", list: "GET /api/v1/sessions (50 rows)", "list-filtered": "GET /api/v1/sessions?status=running&pool=default&limit=50", get: "GET /api/v1/sessions/:id", create: "POST /api/v1/sessions (no-op provider)" }[scenario] ?? scenario;
    rows.push([label, entry.perSec, entry.latencyMs.p50, entry.latencyMs.p95, entry.latencyMs.p99, entry.serverCpuUsPerRequest, entry.oneCoreCeilingPerSec, Object.entries(r.statuses).map(([k, v]) => `${k}×${v}`).join(" ")]);
    if (entry.delete) rows.push(["… then DELETE /api/v1/sessions/:id", "–", entry.delete.latencyMs.p50, entry.delete.latencyMs.p95, entry.delete.latencyMs.p99, "(in the row above)", "–", Object.entries(entry.delete.statuses).map(([k, v]) => `${k}×${v}`).join(" ")]);
  }
  (results.server as Record<string, number>).rssMiBAtEnd = round(rssMiB(server.pid));
} finally {
  server.kill("SIGTERM");
  await server.exited;
}
const hz = results.healthz as { perSec: number } | undefined;
const list = results.list as { perSec: number } | undefined;
if (hz && list) results.listVsHealthz = round(list.perSec / hz.perSec, 3);
const machine = machineInfo({ loadavgAtStart: loadStart, loadavgAtEnd: la() });
const markdown = [
  `REST API at ${CONNS} concurrent keep-alive connections, ${SECONDS} s per scenario after ${WARMUP} s warm-up (bench/api.ts).`,
  "Server: createApp + Bun.serve from source, SQLite file database (WAL, synchronous=FULL as in src/db/client.ts), access log at info to /dev/null, a no-op provider; load generator: raw-socket HTTP/1.1 client in a separate process, on the same 2 cores.",
  `Target: GET /api/v1/sessions (50 rows) ≥ 10,000 req/s. Load average (1/5/15 min) at start ${loadStart}, at end ${machine.loadavgAtEnd}.`,
  "",
  mdTable(["request", "req/s", "p50 ms", "p95 ms", "p99 ms", "server CPU µs/req", "1-core ceiling req/s", "statuses"], rows),
  "",
  hz && list ? `List throughput vs the /healthz baseline of the same run: ${round((list.perSec / hz.perSec) * 100)} %.` : "",
].join("\n");
const files = writeReport({ name: "api", startedAt, machine, results, markdown });
console.log(markdown);
console.log(`\nwritten: ${files.json}\n         ${files.md}`);
process.exit(0);
