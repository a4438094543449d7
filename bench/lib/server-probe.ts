// A server's health seen from outside, in its own process so the load generator's busy event
// loop does not inflate what it measures: every INTERVAL ms it reads the server's RSS from
// /proc/<pid>/status and times one GET /healthz. It stops when its stdin closes and prints
// { rssMiB: number[], healthzMs: number[], failures: number, cpuSeconds: number } as JSON
// (cpuSeconds: the server's user + system CPU time over the probe's life).
//
//   bun bench/lib/server-probe.ts <base-url> <pid> [interval-ms]
import { readFileSync } from "node:fs";

const [url, pidArg, intervalArg] = process.argv.slice(2);
const pid = Number(pidArg);
const interval = Number(intervalArg ?? 50);
const rssMiB: number[] = [];
const healthzMs: number[] = [];
let failures = 0;
let stopping = false;

function rss(): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}

/** User + system CPU seconds of the process so far (/proc/<pid>/stat fields 14 and 15, in clock ticks). */
function cpuSeconds(): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const cpuAtStart = cpuSeconds();

void (async () => {
  for await (const _ of Bun.stdin.stream() as unknown as AsyncIterable<Uint8Array>) {
    // any input is ignored; the loop ends when stdin closes
  }
  stopping = true;
})();

while (!stopping) {
  const started = performance.now();
  rssMiB.push(rss());
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    if (res.ok) healthzMs.push(performance.now() - started);
    else failures++;
  } catch {
    failures++;
  }
  const left = interval - (performance.now() - started);
  if (left > 0) await Bun.sleep(left);
}
console.log(JSON.stringify({ rssMiB, healthzMs, failures, cpuSeconds: cpuSeconds() - cpuAtStart }));
