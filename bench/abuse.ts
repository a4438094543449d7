// bench/abuse: a real BrowserGrid (from source, test/helpers/grid.ts) under the request-body
// abuse of issue 16, all at once:
// - 8 anonymous clients each sending 250 MiB chunked bodies, over and over: 4 to
//   POST /api/v1/auth/login, 4 to the upload route POST /api/v1/profiles/import;
// - 4 authenticated zip-bomb profile imports (4 × 125 MiB of zeros in a ~0.5 MB tar.gz, the
//   probe's 500 MiB bomb), each repeated until the phase ends.
// Meanwhile a separate process (bench/lib/server-probe.ts) samples the server's RSS and times
// GET /healthz every 50 ms. Targets: RSS < 300 MB, /healthz < 100 ms.
//
//   bun bench/abuse.ts [--quick] [--seconds=20]
import { ADMIN_KEY, docker, startGrid } from "../test/helpers/grid";
import { zeroBomb } from "../test/helpers/archives";
import { machineInfo } from "./lib/machine";
import { mdTable, writeReport } from "./lib/report";
import { round, summarize } from "./lib/stats";

const args = new Map(process.argv.slice(2).map((a) => [a.replace(/^--/, "").split("=")[0]!, a.split("=")[1] ?? "1"]));
const SECONDS = Number(args.get("seconds") ?? (args.has("quick") ? 6 : 20));
const MiB = 1024 * 1024;
const TABLE = "bgabuse_bench";
const NETWORK = "browsergrid-abuse-bench";
const RSS_TARGET_MB = 300;
const HEALTHZ_TARGET_MS = 100;

/** 250 MiB of spaces without a Content-Length, made as it is sent. */
function hugeChunkedBody(): ReadableStream<Uint8Array> {
  const piece = new Uint8Array(MiB).fill(0x20);
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= 250 * MiB) return c.close();
      sent += MiB;
      c.enqueue(piece);
    },
  });
}

type Tally = Record<string, number>;
const count = (t: Tally, k: string | number) => void (t[String(k)] = (t[String(k)] ?? 0) + 1);

async function send(url: string, init: RequestInit, tally: Tally): Promise<void> {
  try {
    const res = await fetch(url, { ...init, duplex: "half" } as RequestInit);
    await res.arrayBuffer();
    count(tally, res.status);
  } catch {
    count(tally, "connection closed");
  }
}

interface Phase {
  name: string;
  bodies: boolean;
  imports: boolean;
}

const PHASES: Phase[] = [
  { name: "idle (baseline)", bodies: false, imports: false },
  { name: "8 anonymous 250 MiB chunked bodies", bodies: true, imports: false },
  { name: "4 zip-bomb imports", bodies: false, imports: true },
  { name: "all at once", bodies: true, imports: true },
];

const grid = await startGrid({ env: { BROWSERGRID_DOCKER_NETWORK: NETWORK, BROWSERGRID_EGRESS_TABLE: TABLE, BROWSERGRID_LOG_LEVEL: "warn" } });
try {
  const bomb = await zeroBomb(4, 125 * MiB);
  let seq = 0;

  async function run(phase: Phase) {
    const probe = Bun.spawn([process.execPath, "run", `${import.meta.dir}/lib/server-probe.ts`, grid.url, String(grid.proc.pid), "50"], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    const until = Date.now() + SECONDS * 1000;
    const bodies: Tally = {};
    const imports: Tally = {};
    const bodyWorker = async (path: string) => {
      while (Date.now() < until) await send(grid.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: hugeChunkedBody() }, bodies);
    };
    const importWorker = async () => {
      for (let n = 0; Date.now() < until || n === 0; n++)
        await send(`${grid.url}/api/v1/profiles/import?name=bomb-${++seq}`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_KEY}` }, body: Buffer.from(bomb) }, imports);
    };
    const started = performance.now();
    await Promise.all([
      ...(phase.bodies ? [0, 1, 2, 3].flatMap(() => [bodyWorker("/api/v1/auth/login"), bodyWorker("/api/v1/profiles/import?name=anonymous")]) : []),
      ...(phase.imports ? [0, 1, 2, 3].map(() => importWorker()) : []),
      ...(!phase.bodies && !phase.imports ? [Bun.sleep(SECONDS * 1000)] : []),
    ]);
    const seconds = (performance.now() - started) / 1000;
    probe.stdin.end();
    const samples = JSON.parse(await new Response(probe.stdout).text()) as { rssMiB: number[]; healthzMs: number[]; failures: number; cpuSeconds: number };
    const rss = summarize(samples.rssMiB);
    const healthz = summarize(samples.healthzMs);
    return {
      phase: phase.name,
      seconds: round(seconds),
      bodies,
      imports,
      rssMiB: { first: round(samples.rssMiB[0] ?? NaN), p50: round(rss.p50), max: round(rss.max), samples: rss.n },
      rssMaxMB: round((rss.max * MiB) / 1e6),
      serverCpuShare: round(samples.cpuSeconds / seconds, 2),
      healthzMs: { p50: round(healthz.p50, 2), p99: round(healthz.p99, 2), max: round(healthz.max, 2), samples: healthz.n, failures: samples.failures },
    };
  }

  await Bun.sleep(1000);
  const phases = [];
  for (const phase of PHASES) {
    phases.push(await run(phase));
    await Bun.sleep(1000);
  }
  const all = phases[phases.length - 1]!;
  const met = all.rssMaxMB < RSS_TARGET_MB && all.healthzMs.max < HEALTHZ_TARGET_MS && all.healthzMs.failures === 0;
  const idle = phases[0]!;
  const results = {
    secondsPerPhase: SECONDS,
    bomb: { compressedBytes: bomb.byteLength, unpackedBytes: 500 * MiB },
    phases,
    spec: [
      {
        target: "abuse",
        measured: `RSS max ${all.rssMaxMB} MB; /healthz p99 ${all.healthzMs.p99} ms, max ${all.healthzMs.max} ms (idle p99 ${idle.healthzMs.p99} ms)`,
        met,
        note: `${SECONDS} s of 8 anonymous 250 MiB chunked bodies (login, profile import) and 4 authenticated 500 MiB zip-bomb imports at once; load average ${machineInfo().loadavg ?? "?"}`,
      },
    ],
  };
  const tally = (t: Tally) => Object.entries(t).map(([k, v]) => `${k}: ${v}`).join(", ") || "–";
  const md = [
    `${SECONDS} s per phase. Bodies: 8 anonymous clients sending 250 MiB chunked bodies in a loop (4 to POST /api/v1/auth/login, 4 to POST /api/v1/profiles/import). Imports: 4 authenticated clients importing a ${round(bomb.byteLength / 1024)} KiB tar.gz of 500 MiB of zeros in a loop. A separate process sampled the server's RSS and timed GET /healthz every 50 ms. Targets (all at once): RSS < ${RSS_TARGET_MB} MB, /healthz < ${HEALTHZ_TARGET_MS} ms.`,
    "",
    mdTable(
      ["phase", "RSS first → max (MiB)", "/healthz p50 / p99 / max (ms)", "probes (failed)", "server CPU (cores)", "bodies answered", "imports answered"],
      phases.map((p) => [p.phase, `${p.rssMiB.first} → ${p.rssMiB.max}`, `${p.healthzMs.p50} / ${p.healthzMs.p99} / ${p.healthzMs.max}`, `${p.healthzMs.samples} (${p.healthzMs.failures})`, p.serverCpuShare, tally(p.bodies), tally(p.imports)]),
    ),
  ].join("\n");
  const out = writeReport({ name: "abuse", startedAt: new Date().toISOString(), machine: machineInfo(), results, markdown: md });
  console.log(md);
  console.log(`\nwritten: ${out.json}, ${out.md}`);
} finally {
  await grid.dispose();
  Bun.spawnSync(["nft", "delete", "table", "inet", TABLE], { stderr: "ignore" });
  await docker.getNetwork(NETWORK).remove().catch(() => {});
}
