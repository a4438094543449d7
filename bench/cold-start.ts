// Cold start of a browser container through the Docker provider, per flavour.
//   bun run bench/cold-start.ts [--n=10] [--flavour=headless-shell|chromium]
// - start(): provider.start() from call to CDP answering (create + start + readiness poll);
// - process→CDP: Docker's State.StartedAt (container process running) → CDP answering;
// - idle memory: 3 s after start with about:blank, cgroup usage minus inactive file cache
//   (what `docker stats` shows), and the raw cgroup usage.
// Runs sequentially with a pause between samples; the load average is recorded, since a busy
// 2-core machine moves these numbers a lot.
import { loadavg } from "node:os";
import Docker from "dockerode";
import { randomId } from "../src/lib/ids";
import { DockerProvider } from "../src/providers/docker";
import type { BrowserFlavour } from "../src/providers/provider";
import { machineInfo } from "./lib/machine";
import { mdTable, writeReport } from "./lib/report";
import { round, summarize } from "./lib/stats";

const args = new Map(process.argv.slice(2).map((a) => [a.replace(/^--/, "").split("=")[0]!, a.split("=")[1] ?? "1"]));
const N = Number(args.get("n") ?? 10);
const flavours: BrowserFlavour[] = args.has("flavour") ? [args.get("flavour") as BrowserFlavour] : ["headless-shell", "chromium"];
const MiB = 1024 * 1024;

const docker = new Docker({ socketPath: process.env.DOCKER_SOCKET ?? "/var/run/docker.sock" });
// By socket path, as BrowserGrid builds the provider for its local engine.
const provider = new DockerProvider(process.env.DOCKER_SOCKET ?? "/var/run/docker.sock", { installId: `bench-${randomId(8)}`, workerId: "bench", egressGuard: { assertReady: async () => {} } });
const startedAt = new Date().toISOString();
const load = [loadavg()[0]!];
const results: Record<string, unknown> = {};
const rows: (string | number)[][] = [];

async function idleMemory(handle: string): Promise<{ usedMiB: number; rawMiB: number }> {
  const stats = (await docker.getContainer(handle).stats({ stream: false })) as {
    memory_stats: { usage?: number; stats?: Record<string, number> };
  };
  const raw = stats.memory_stats.usage ?? 0;
  const s = stats.memory_stats.stats ?? {};
  const inactive = s.total_inactive_file ?? s.inactive_file ?? 0; // cgroup v1 ?? v2
  return { usedMiB: round((raw - inactive) / MiB), rawMiB: round(raw / MiB) };
}

// One unmeasured start per flavour warms the page cache with the image's files.
for (const flavour of flavours) {
  const warm = await provider.start({ sessionId: `bench-warm-${randomId(8)}`, poolId: "bench", workerId: "bench", flavour, viewport: { width: 1280, height: 720 } });
  await provider.stop(warm.handle);
}

for (const flavour of flavours) {
  const total: number[] = [];
  const processToReady: number[] = [];
  const memory: { usedMiB: number; rawMiB: number }[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const b = await provider.start({ sessionId: `bench-${randomId(10)}`, poolId: "bench", workerId: "bench", flavour, viewport: { width: 1280, height: 720 } });
    const readyAt = Date.now();
    total.push(performance.now() - t0);
    const info = await docker.getContainer(b.handle).inspect();
    processToReady.push(readyAt - Date.parse(info.State.StartedAt));
    if (i < 3) {
      await Bun.sleep(3_000);
      memory.push(await idleMemory(b.handle));
    }
    await provider.stop(b.handle);
    load.push(loadavg()[0]!);
    await Bun.sleep(300);
  }
  const t = summarize(total);
  const p = summarize(processToReady);
  const used = summarize(memory.map((m) => m.usedMiB));
  const raw = summarize(memory.map((m) => m.rawMiB));
  results[flavour] = { startMs: t, processToReadyMs: p, idleMemoryMiB: used, idleMemoryRawMiB: raw };
  rows.push([flavour, N, round(t.p50), round(t.p99), round(p.p50), round(p.p99), used.p50, raw.p50]);
}
await provider.close();

results.loadAverage1m = { min: Math.min(...load), max: Math.max(...load) };
const markdown = mdTable(["flavour", "n", "start() p50 ms", "start() p99 ms", "process→CDP p50 ms", "process→CDP p99 ms", "idle MiB (docker stats)", "idle MiB (cgroup raw)"], rows);
const files = writeReport({ name: "cold-start", startedAt, machine: machineInfo({ docker: (await docker.version()).Version }), results, markdown });
console.log(JSON.stringify(results, null, 2));
console.log(markdown);
console.log(`written: ${files.json}`);
