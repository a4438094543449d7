// Memory density: idle browsers per GiB, per image flavour, and the server's RSS with 100
// sessions. Also Docker's own floor for a container start, the baseline of the cold-start target.
//   bun run bench/density.ts [--quick] [--n=20] [--flavour=headless-shell|chromium]
// - docker floor: `docker run --rm --entrypoint true <image>` (CLI, what a user sees) and a
//   create + start + wait of the same through the API (what the provider pays before Chromium);
// - density: N idle browsers of a flavour started through the Docker provider (the same hardened
//   containers sessions get, about:blank), all running at once; after 5 s, memory per browser from
//   its cgroup (usage minus inactive file cache, as `docker stats`), and the host's MemAvailable
//   drop divided by N (includes what cgroups do not charge). N is capped (default 20) and stops
//   early when the host's available memory would fall under 15 % of the total;
// - server RSS: the control-plane server (bench/lib/fake-server.ts, no-op provider, from source)
//   idle and with 100 running sessions created through POST /api/v1/sessions — the server's own
//   memory per session, without browsers (they live in their containers, not in the server).
// Every container started here carries this run's install label and is removed at the end, also
// on failure or Ctrl-C.
import { readFileSync, mkdtempSync, existsSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { randomId } from "../src/lib/ids";
import { DockerProvider } from "../src/providers/docker";
import type { BrowserFlavour } from "../src/providers/provider";
import { machineInfo } from "./lib/machine";
import { mdTable, writeReport } from "./lib/report";
import { round, summarize } from "./lib/stats";

const args = new Map(process.argv.slice(2).map((a) => [a.replace(/^--/, "").split("=")[0]!, a.split("=")[1] ?? "1"]));
const quick = args.has("quick");
const N = Number(args.get("n") ?? (quick ? 3 : 20));
const flavours: BrowserFlavour[] = args.has("flavour") ? [args.get("flavour") as BrowserFlavour] : ["headless-shell", "chromium"];
const MiB = 1024 * 1024;
const la = () => loadavg().map((x) => x.toFixed(2)).join(" ");

const docker = new Docker({ socketPath: process.env.DOCKER_SOCKET ?? "/var/run/docker.sock" });
const installId = `benchdens${randomId(6)}`;
// By socket path, as BrowserGrid builds the provider for its local engine.
const provider = new DockerProvider(process.env.DOCKER_SOCKET ?? "/var/run/docker.sock", { installId, workerId: "bench", egressGuard: { assertReady: async () => {} } });

async function cleanup(): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: { label: [`browsergrid.install=${installId}`] } }).catch(() => []);
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
}
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    void cleanup().finally(() => process.exit(130));
  });

function memInfo(): { totalMiB: number; availableMiB: number } {
  const t = readFileSync("/proc/meminfo", "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(t)![1]);
  return { totalMiB: kb("MemTotal") / 1024, availableMiB: kb("MemAvailable") / 1024 };
}

/** Memory charged to a container: cgroup v1 files when present, else Docker's stats. */
async function containerMiB(id: string): Promise<{ usedMiB: number; rawMiB: number }> {
  const v1 = `/sys/fs/cgroup/memory/docker/${id}`;
  if (existsSync(`${v1}/memory.usage_in_bytes`)) {
    const raw = Number(readFileSync(`${v1}/memory.usage_in_bytes`, "utf8"));
    const stat = readFileSync(`${v1}/memory.stat`, "utf8");
    const inactive = Number(/^total_inactive_file (\d+)/m.exec(stat)?.[1] ?? 0);
    return { usedMiB: (raw - inactive) / MiB, rawMiB: raw / MiB };
  }
  const s = (await docker.getContainer(id).stats({ stream: false })) as { memory_stats: { usage?: number; stats?: Record<string, number> } };
  const raw = s.memory_stats.usage ?? 0;
  const inactive = s.memory_stats.stats?.total_inactive_file ?? s.memory_stats.stats?.inactive_file ?? 0;
  return { usedMiB: (raw - inactive) / MiB, rawMiB: raw / MiB };
}

async function dockerFloor(image: string, n: number) {
  const runRm: number[] = [];
  const createStart: number[] = [];
  for (let i = 0; i < n; i++) {
    let t0 = performance.now();
    Bun.spawnSync(["docker", "run", "--rm", "--network", "none", "--label", `browsergrid.install=${installId}`, "--entrypoint", "true", image], { stdout: "ignore", stderr: "ignore" });
    runRm.push(performance.now() - t0);
    t0 = performance.now();
    const c = await docker.createContainer({ Image: image, Entrypoint: ["true"], Cmd: [], Labels: { "browsergrid.install": installId }, HostConfig: { NetworkMode: "none" } });
    await c.start();
    createStart.push(performance.now() - t0);
    await c.wait();
    await c.remove({ force: true });
    await Bun.sleep(200);
  }
  const s = (x: number[]) => {
    const v = summarize(x);
    return { p50: round(v.p50), p95: round(v.p95), p99: round(v.p99), n: v.n };
  };
  return { image, runRmTrueMs: s(runRm), createStartMs: s(createStart) };
}

async function density(flavour: BrowserFlavour) {
  const before = memInfo();
  const handles: string[] = [];
  const startMs: number[] = [];
  let stoppedBy = "cap";
  try {
    for (let i = 0; i < N; i++) {
      const m = memInfo();
      if (m.availableMiB < m.totalMiB * 0.15 + 400) {
        stoppedBy = "memory (85 % in use)";
        break;
      }
      const t0 = performance.now();
      const b = await provider.start({ sessionId: `bench-dens-${randomId(10)}`, poolId: "bench", workerId: "bench", flavour, viewport: { width: 1280, height: 720 } });
      startMs.push(performance.now() - t0);
      handles.push(b.handle);
    }
    await Bun.sleep(5000);
    const per = await Promise.all(handles.map((h) => containerMiB(h)));
    const after = memInfo();
    const used = summarize(per.map((p) => p.usedMiB));
    const hostPer = (before.availableMiB - after.availableMiB) / Math.max(1, handles.length);
    return {
      started: handles.length,
      stoppedBy,
      startMs: { p50: round(summarize(startMs).p50), p99: round(summarize(startMs).p99) },
      mibPerBrowser: { p50: round(used.p50), mean: round(used.mean), max: round(used.max) },
      rawCgroupMiB: round(summarize(per.map((p) => p.rawMiB)).p50),
      hostMemAvailableDropPerBrowserMiB: round(hostPer),
      browsersPerGiB: round(1024 / used.mean, 1),
      browsersPerGiBHostView: round(1024 / hostPer, 1),
    };
  } finally {
    await Promise.all(handles.map((h) => provider.stop(h).catch(() => {})));
  }
}

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}

async function serverRss(sessions: number) {
  const readyFile = join(mkdtempSync(join(tmpdir(), "bg-bench-dens-")), "ready.json");
  const server = Bun.spawn([process.execPath, "run", join(import.meta.dir, "api.ts"), "--serve", "--seed=0", `--ready-file=${readyFile}`], { stdout: "ignore", stderr: "inherit", env: process.env });
  try {
    const deadline = Date.now() + 30_000;
    while (!existsSync(readyFile) || readFileSync(readyFile, "utf8") === "") {
      if (server.exitCode !== null || Date.now() > deadline) throw new Error("server did not start");
      await Bun.sleep(20);
    }
    await Bun.sleep(50);
    const ready = JSON.parse(readFileSync(readyFile, "utf8")) as { url: string; key: string };
    const h = { authorization: `Bearer ${ready.key}`, "content-type": "application/json" };
    // Warm the routes once so idle and loaded are compared after the same code has run.
    const probe = await fetch(`${ready.url}/api/v1/sessions`, { method: "POST", headers: h, body: "{}" });
    const probeId = ((await probe.json()) as { id: string }).id;
    await fetch(`${ready.url}/api/v1/sessions/${probeId}`, { method: "DELETE", headers: h });
    for (let i = 0; i < 20; i++) await (await fetch(`${ready.url}/api/v1/sessions`, { headers: h })).text();
    await Bun.sleep(2000);
    const idle = rssMiB(server.pid);
    for (let i = 0; i < sessions; i++) {
      const res = await fetch(`${ready.url}/api/v1/sessions`, { method: "POST", headers: h, body: JSON.stringify({ metadata: { bench: i } }) });
      if (res.status !== 201) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
    for (let i = 0; i < 50; i++) await (await fetch(`${ready.url}/api/v1/sessions?limit=100`, { headers: h })).text();
    await Bun.sleep(2000);
    const loaded = rssMiB(server.pid);
    return { idleMiB: round(idle), with100SessionsMiB: round(loaded), perSessionKiB: round(((loaded - idle) * 1024) / sessions), sessions };
  } finally {
    server.kill("SIGTERM");
    await server.exited;
  }
}

const startedAt = new Date().toISOString();
const loadStart = la();
const results: Record<string, any> = { flavours: {} };
try {
  console.error("[density] docker floor…");
  results.dockerFloor = await dockerFloor("browsergrid/browser:headless-shell", quick ? 3 : 10);
  console.error("[density]", JSON.stringify(results.dockerFloor));
  for (const f of flavours) {
    console.error(`[density] ${f}: up to ${N} idle browsers…`);
    results.flavours[f] = await density(f);
    console.error(`[density] ${f}:`, JSON.stringify(results.flavours[f]));
  }
  console.error("[density] server RSS with 100 sessions…");
  results.serverRss = await serverRss(100);
  console.error("[density]", JSON.stringify(results.serverRss));
} finally {
  await cleanup();
  await provider.close();
}

const dockerVersion = (await docker.version()).Version;
const machine = machineInfo({ docker: dockerVersion, loadavgAtStart: loadStart, loadavgAtEnd: la() });
const fl = results.dockerFloor;
const markdown = [
  "Memory density and Docker's start floor (bench/density.ts).",
  `Load average (1/5/15 min) at start ${loadStart}, at end ${machine.loadavgAtEnd}.`,
  "",
  "Docker's own cost of starting a container that does nothing (the floor under any cold start through Docker):",
  "",
  mdTable(
    ["what", "p50 ms", "p95 ms", "p99 ms", "n"],
    [
      ["`docker run --rm --entrypoint true` (CLI)", fl.runRmTrueMs.p50, fl.runRmTrueMs.p95, fl.runRmTrueMs.p99, fl.runRmTrueMs.n],
      ["create + start via the API (no wait)", fl.createStartMs.p50, fl.createStartMs.p95, fl.createStartMs.p99, fl.createStartMs.n],
    ],
  ),
  "",
  mdTable(
    ["flavour", "idle browsers", "MiB each (cgroup, p50 / mean / max)", "host MemAvailable drop each MiB", "browsers per GiB (cgroup / host view)", "target", "stopped by"],
    Object.entries(results.flavours as Record<string, any>).map(([f, d]) => [
      f,
      d.started,
      `${d.mibPerBrowser.p50} / ${d.mibPerBrowser.mean} / ${d.mibPerBrowser.max}`,
      d.hostMemAvailableDropPerBrowserMiB,
      `${d.browsersPerGiB} / ${d.browsersPerGiBHostView}`,
      f === "headless-shell" ? "≥ 7" : "–",
      d.stoppedBy,
    ]),
  ),
  "",
  mdTable(
    ["server (control plane, no-op provider, from source)", "RSS MiB", "target"],
    [
      ["idle, no session", results.serverRss.idleMiB, ""],
      [`${results.serverRss.sessions} running sessions (created through the API)`, results.serverRss.with100SessionsMiB, "≤ 120 MB (114.4 MiB)"],
      ["per session", `${results.serverRss.perSessionKiB} KiB`, ""],
    ],
  ),
].join("\n");
const files = writeReport({ name: "density", startedAt, machine, results, markdown });
console.log(markdown);
console.log(`\nwritten: ${files.json}\n         ${files.md}`);
process.exit(0);
