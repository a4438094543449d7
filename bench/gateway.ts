// CDP gateway cost: direct Chromium vs through the gateway, measured in the same run.
//   bun run bench/gateway.ts [--mode=subprocess|inprocess|both] [--quick]
// - round trip: Browser.getVersion, blocks of 100 direct / 100 gateway interleaved over many
//   rounds (Chromium's own latency flips with scheduling), p50/p99 and the added µs; with the
//   gateway in its own process, also through two byte pipes in the same rounds (one in Bun, one
//   in C, bench/lib/pipe.c, built when a C compiler is here): the floor of any hop;
// - pipelined: 20 000 commands, 64 in flight, throughput ratio;
// - large frames: noisy 1920×2800 PNG screenshots (≈ 20 MB of base64) and 20 MB strings, MB/s ratio;
// - 8 clients streaming 20 MB replies at once.
// The gateway runs in a subprocess by default (its event loop is not the client's), and/or in
// this process. Targets (SPEC.md): +≤ 25 µs p50, ≤ 70 µs p99, ≥ 100 % pipelined, ≥ 97 % large.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadavg } from "node:os";
import { startChromium } from "../test/helpers/chromium";
import { createGateway } from "../src/cdp/gateway";
import { BenchCdpClient } from "./lib/cdp-client";
import { machineInfo } from "./lib/machine";
import { median, round, summarize, type Summary } from "./lib/stats";
import { mdTable, writeReport } from "./lib/report";

const args = new Map(process.argv.slice(2).map((a) => [a.replace(/^--/, "").split("=")[0]!, a.split("=")[1] ?? "1"]));
const TOKEN = "bench-token";

/** The gateway with fixed hooks: one session "bench" → the given Chromium. Returns its port. */
function serveGateway(chromiumPort: number): { port: number; stop(): void } {
  const gw = createGateway({
    hooks: {
      authorize: async (id, token) => (id === "bench" && token === TOKEN ? { sessionId: id, cdp: { host: "127.0.0.1", port: chromiumPort } } : null),
      quickConnect: async () => {
        throw new Error("not in the benchmark");
      },
      onClientsChanged: () => {},
      onActivity: () => {},
      handleDomainCommand: async () => ({}),
    },
  });
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req, srv) {
      const r = await gw.handle(req, srv);
      if (r !== undefined || req.headers.get("upgrade")) return r;
      return new Response("not found", { status: 404 });
    },
    websocket: gw.websocket,
  });
  return { port: server.port!, stop: () => (gw.shutdown(), server.stop(true)) };
}

/**
 * A byte pipe in Bun (Bun.listen ⇄ Bun.connect, no WebSocket parsing): the floor of a hop in this
 * runtime, for the round trip only (small messages; partial writes are not queued).
 */
function serveBytePipe(target: number): number {
  type Side = { peer: Bun.Socket<Side> | null; early: Uint8Array[] };
  const server = Bun.listen<Side>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        client.data = { peer: null, early: [] };
        void Bun.connect<Side>({
          hostname: "127.0.0.1",
          port: target,
          socket: {
            open(up) {
              up.data = { peer: client, early: [] };
              client.data.peer = up;
              for (const b of client.data.early) up.write(b);
              up.setNoDelay(true);
            },
            data: (up, d) => void up.data.peer?.write(d),
            close: (up) => void up.data.peer?.end(),
          },
        });
        client.setNoDelay(true);
      },
      data(client, d) {
        if (client.data.peer) client.data.peer.write(d);
        else client.data.early.push(new Uint8Array(d));
      },
      close: (client) => void client.data.peer?.end(),
    },
  });
  return server.port;
}

if (args.has("serve-gateway") || args.has("serve-pipe")) {
  const port = args.has("serve-gateway") ? serveGateway(Number(args.get("serve-gateway"))).port : serveBytePipe(Number(args.get("serve-pipe")));
  process.stdout.write(`READY ${port}\n`);
  await new Promise(() => {});
}

type Endpoint = { name: string; port: number; path: string };

/** A process that prints "READY <port>" once it listens: the gateway, the Bun pipe, the C pipe. */
async function startListening(cmd: string[]): Promise<{ port: number; pid: number; stop(): void }> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "inherit", env: { ...process.env, BROWSERGRID_LOG_LEVEL: "warn" } });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("gateway subprocess exited");
    text += new TextDecoder().decode(value);
  }
  const port = Number(/READY (\d+)/.exec(text)![1]);
  return { port, pid: proc.pid, stop: () => proc.kill() };
}

/** CPU seconds (user + system) used so far by a process, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const quick = args.has("quick");
const ROUNDS = quick ? 30 : 200;
const BLOCK = 100;
const PIPE_TOTAL = 20_000;
const PIPE_WINDOW = 64;
const LARGE_SHOTS = quick ? 3 : 8;

async function roundTrips(c: BenchCdpClient, n: number, out: number[]): Promise<void> {
  const msg = '{"id":1,"method":"Browser.getVersion"}';
  for (let i = 0; i < n; i++) {
    const t0 = Bun.nanoseconds();
    const target = c.received + 1;
    c.send(msg);
    await c.until(target);
    out.push((Bun.nanoseconds() - t0) / 1000);
  }
}

/**
 * Round trips through each endpoint in blocks, the order rotating every round (Chromium's own
 * latency flips with scheduling). `floors` are plain byte pipes, the cost of any user-space hop.
 */
async function latency(direct: Endpoint, gateway: Endpoint, floors: Endpoint[] = []) {
  const eps = [direct, gateway, ...floors];
  const clients = await Promise.all(eps.map((e) => BenchCdpClient.connect("127.0.0.1", e.port, e.path)));
  const warm: number[] = [];
  for (const c of clients) await roundTrips(c, 500, warm);
  const all = eps.map(() => [] as number[]);
  const roundP50 = eps.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < eps.length; k++) {
      const i = (r + k) % eps.length;
      const block: number[] = [];
      await roundTrips(clients[i]!, BLOCK, block);
      all[i]!.push(...block);
      roundP50[i]!.push(summarize(block).p50);
    }
  }
  for (const c of clients) c.close();
  const s = all.map((x) => summarize(x));
  const us = (x: Summary) => ({ p50: round(x.p50), p95: round(x.p95), p99: round(x.p99) });
  const added = (i: number) => ({ p50: round(s[i]!.p50 - s[0]!.p50), p99: round(s[i]!.p99 - s[0]!.p99), p50MedianOfRounds: round(median(roundP50[i]!.map((v, r) => v - roundP50[0]![r]!))) });
  return {
    directUs: us(s[0]!),
    gatewayUs: us(s[1]!),
    addedUs: added(1),
    samplesEach: s[0]!.n,
    floors: Object.fromEntries(floors.map((f, j) => [f.name, { us: us(s[j + 2]!), addedUs: added(j + 2) }])),
  };
}

async function pipelined(ep: Endpoint): Promise<number> {
  const c = await BenchCdpClient.connect("127.0.0.1", ep.port, ep.path);
  const msgs = Array.from({ length: PIPE_WINDOW }, (_, i) => `{"id":${i + 1},"method":"Browser.getVersion"}`);
  const t0 = Bun.nanoseconds();
  let sent = 0;
  const base = c.received;
  // Keep 64 in flight: top up as replies arrive.
  await new Promise<void>((resolve) => {
    c.onMessage = () => {
      const done = c.received - base;
      if (done >= PIPE_TOTAL) return resolve();
      if (sent < PIPE_TOTAL) {
        c.send(msgs[sent % PIPE_WINDOW]!);
        sent++;
      }
    };
    const first = Math.min(PIPE_WINDOW, PIPE_TOTAL);
    c.sendMany(msgs.slice(0, first));
    sent = first;
  });
  const secs = (Bun.nanoseconds() - t0) / 1e9;
  c.onMessage = null;
  c.close();
  return PIPE_TOTAL / secs;
}

async function attachPage(c: BenchCdpClient, targetId: string): Promise<string> {
  let sessionId = "";
  c.onMessage = (p) => {
    const m = /"sessionId":"([0-9A-F]+)"/.exec(p.toString());
    if (m && p.toString().includes('"id":900')) sessionId = m[1]!;
  };
  const n = c.received;
  c.send(`{"id":900,"method":"Target.attachToTarget","params":{"targetId":"${targetId}","flatten":true}}`);
  while (!sessionId) await c.until(c.received + 1);
  c.onMessage = null;
  void n;
  return sessionId;
}

/** One large reply; returns [bytes, ms]. */
async function largeReply(c: BenchCdpClient, command: string): Promise<[number, number]> {
  let bytes = 0;
  c.onMessage = (p) => {
    if (p.length > 1_000_000) bytes = p.length;
  };
  const t0 = Bun.nanoseconds();
  c.send(command);
  while (bytes === 0) await c.until(c.received + 1);
  const ms = (Bun.nanoseconds() - t0) / 1e6;
  c.onMessage = null;
  return [bytes, ms];
}

const NOISE_PAGE =
  "data:text/html," +
  encodeURIComponent(
    `<body style="margin:0"><canvas id=c width=1920 height=2800></canvas><script>const c=document.getElementById('c').getContext('2d');const d=c.createImageData(1920,2800);const a=new Uint32Array(d.data.buffer);let x=12345;for(let i=0;i<a.length;i++){x^=x<<13;x^=x>>>17;x^=x<<5;a[i]=(x|0xff000000)>>>0;}c.putImageData(d,0,0);</script></body>`,
  );

async function largeFrames(direct: Endpoint, gateway: Endpoint, setup: BenchCdpClient) {
  const targetId = await new Promise<string>((resolve) => {
    setup.onMessage = (p) => {
      const m = /"targetId":"([0-9A-F]+)"/.exec(p.toString());
      if (m && p.toString().includes('"id":800')) resolve(m[1]!);
    };
    setup.send(`{"id":800,"method":"Target.createTarget","params":{"url":"${NOISE_PAGE}"}}`);
  });
  setup.onMessage = null;
  await Bun.sleep(1500);
  const [cd, cg] = await Promise.all([BenchCdpClient.connect("127.0.0.1", direct.port, direct.path), BenchCdpClient.connect("127.0.0.1", gateway.port, gateway.path)]);
  const sd = await attachPage(cd, targetId);
  const sg = await attachPage(cg, targetId);
  const metrics = (s: string) => `{"id":901,"sessionId":"${s}","method":"Emulation.setDeviceMetricsOverride","params":{"width":1920,"height":2800,"deviceScaleFactor":1,"mobile":false}}`;
  cd.send(metrics(sd));
  cg.send(metrics(sg));
  await Bun.sleep(300);
  const shot = (s: string) => `{"id":902,"sessionId":"${s}","method":"Page.captureScreenshot","params":{"format":"png"}}`;
  const str = (s: string) => `{"id":903,"sessionId":"${s}","method":"Runtime.evaluate","params":{"expression":"'x'.repeat(20*1024*1024)","returnByValue":true}}`;
  const results: Record<string, { bytes: number; direct: number[]; gateway: number[] }> = {
    screenshot: { bytes: 0, direct: [], gateway: [] },
    string20MB: { bytes: 0, direct: [], gateway: [] },
  };
  await largeReply(cd, shot(sd));
  await largeReply(cg, shot(sg));
  for (let i = 0; i < LARGE_SHOTS; i++) {
    for (const [kind, make] of [
      ["screenshot", shot],
      ["string20MB", str],
    ] as const) {
      const order: [BenchCdpClient, string, "direct" | "gateway"][] = i % 2 === 0 ? [[cd, sd, "direct"], [cg, sg, "gateway"]] : [[cg, sg, "gateway"], [cd, sd, "direct"]];
      for (const [c, s, which] of order) {
        const [bytes, ms] = await largeReply(c, make(s));
        results[kind]!.bytes = bytes;
        results[kind]![which].push((bytes / 1e6 / ms) * 1000);
      }
    }
  }
  cd.close();
  cg.close();
  const out: Record<string, unknown> = {};
  for (const [kind, r] of Object.entries(results)) {
    const d = median(r.direct);
    const g = median(r.gateway);
    out[kind] = { messageMB: round(r.bytes / 1e6, 2), directMBps: round(d), gatewayMBps: round(g), ratio: round(g / d, 3), shots: r.direct.length };
  }
  return out;
}

async function concurrentStreams(ep: Endpoint, setup: BenchCdpClient, targets: string[]): Promise<number> {
  const clients = await Promise.all(targets.map(() => BenchCdpClient.connect("127.0.0.1", ep.port, ep.path)));
  const sessions = await Promise.all(clients.map((c, i) => attachPage(c, targets[i]!)));
  const each = quick ? 2 : 4;
  const t0 = Bun.nanoseconds();
  let bytes = 0;
  await Promise.all(
    clients.map(async (c, i) => {
      for (let k = 0; k < each; k++) {
        const [b] = await largeReply(c, `{"id":${910 + k},"sessionId":"${sessions[i]}","method":"Runtime.evaluate","params":{"expression":"'y'.repeat(20*1024*1024)","returnByValue":true}}`);
        bytes += b;
      }
    }),
  );
  const secs = (Bun.nanoseconds() - t0) / 1e9;
  for (const c of clients) c.close();
  void setup;
  return bytes / 1e6 / secs;
}

async function createTargets(setup: BenchCdpClient, n: number): Promise<string[]> {
  const ids: string[] = [];
  setup.onMessage = (p) => {
    const m = /"id":(7\d\d),"result":\{"targetId":"([0-9A-F]+)"/.exec(p.toString());
    if (m) ids.push(m[2]!);
  };
  for (let i = 0; i < n; i++) setup.send(`{"id":${700 + i},"method":"Target.createTarget","params":{"url":"about:blank"}}`);
  while (ids.length < n) await setup.until(setup.received + 1);
  setup.onMessage = null;
  return ids;
}

/** The C pipe (bench/lib/pipe.c), built into a temporary directory when a C compiler is here. */
function buildCPipe(): string | null {
  const cc = Bun.which("cc") ?? Bun.which("gcc");
  if (!cc) return null;
  const out = join(mkdtempSync(join(tmpdir(), "bg-bench-pipe-")), "pipe");
  const r = Bun.spawnSync([cc, "-O2", "-o", out, join(import.meta.dir, "lib", "pipe.c")], { stderr: "pipe" });
  if (r.exitCode !== 0) {
    console.error(`bench/lib/pipe.c did not build: ${r.stderr.toString().slice(0, 500)}`);
    return null;
  }
  return out;
}

async function runMode(mode: "subprocess" | "inprocess", chromiumPort: number, browserPath: string) {
  const gw = mode === "subprocess" ? await startListening([process.execPath, "run", import.meta.path, `--serve-gateway=${chromiumPort}`]) : serveGateway(chromiumPort);
  const direct: Endpoint = { name: "direct", port: chromiumPort, path: browserPath };
  const gateway: Endpoint = { name: "gateway", port: gw.port, path: `/cdp/bench?token=${TOKEN}` };
  // Same-run floors, each its own process like the gateway: a byte pipe in Bun and one in C.
  const pipes: { name: string; port: number; stop(): void }[] = [];
  if (mode === "subprocess") {
    pipes.push({ name: "bunPipe", ...(await startListening([process.execPath, "run", import.meta.path, `--serve-pipe=${chromiumPort}`])) });
    const cPipe = buildCPipe();
    if (cPipe) pipes.push({ name: "cPipe", ...(await startListening([cPipe, String(chromiumPort)])) });
  }
  try {
    console.error(`[${mode}] round trips…`);
    const lat = await latency(
      direct,
      gateway,
      pipes.map((p) => ({ name: p.name, port: p.port, path: browserPath })),
    );
    console.error(`[${mode}]`, JSON.stringify(lat));
    console.error(`[${mode}] pipelined…`);
    const pd: number[] = [];
    const pg: number[] = [];
    const pid = "pid" in gw ? (gw.pid as number) : null;
    let gatewayCpu = 0;
    const pipeRuns = quick ? 2 : 5;
    for (let i = 0; i < pipeRuns; i++) {
      pd.push(await pipelined(direct));
      const c0 = pid ? cpuSeconds(pid) : 0;
      pg.push(await pipelined(gateway));
      if (pid) gatewayCpu += cpuSeconds(pid) - c0;
    }
    const pipe = {
      directPerSec: Math.round(median(pd)),
      gatewayPerSec: Math.round(median(pg)),
      ratio: round(median(pg) / median(pd), 3),
      commands: PIPE_TOTAL,
      inFlight: PIPE_WINDOW,
      // Robust against a busy machine: the gateway process's own CPU per command + reply.
      gatewayCpuUsPerRoundTrip: pid ? round((gatewayCpu / (pipeRuns * PIPE_TOTAL)) * 1e6, 2) : null,
    };
    console.error(`[${mode}]`, JSON.stringify(pipe));
    const setup = await BenchCdpClient.connect("127.0.0.1", chromiumPort, browserPath);
    console.error(`[${mode}] large frames…`);
    const large = await largeFrames(direct, gateway, setup);
    console.error(`[${mode}]`, JSON.stringify(large));
    console.error(`[${mode}] 8 concurrent streams…`);
    const targets = await createTargets(setup, 8);
    const cd: number[] = [];
    const cg: number[] = [];
    for (let i = 0; i < (quick ? 1 : 2); i++) {
      cd.push(await concurrentStreams(direct, setup, targets));
      cg.push(await concurrentStreams(gateway, setup, targets));
    }
    const conc = { clients: 8, directMBps: round(median(cd)), gatewayMBps: round(median(cg)), ratio: round(median(cg) / median(cd), 3) };
    console.error(`[${mode}]`, JSON.stringify(conc));
    setup.close();
    return { roundTrip: lat, pipelined: pipe, large, concurrent8: conc };
  } finally {
    gw.stop();
    for (const p of pipes) p.stop();
  }
}

const startedAt = new Date().toISOString();
const loadAtStart = loadavg().map((x) => x.toFixed(2)).join(" ");
const chrome = await startChromium();
const modeArg = args.get("mode") ?? "both";
const modes = (modeArg === "both" ? ["subprocess", "inprocess"] : [modeArg]) as ("subprocess" | "inprocess")[];
const results: Record<string, Awaited<ReturnType<typeof runMode>>> = {};
try {
  for (const m of modes) results[m] = await runMode(m, chrome.port, chrome.browserPath);
} finally {
  await chrome.stop();
}

/** A difference with its sign: +12.3 or -4.5. */
const signed = (x: number) => (x >= 0 ? `+${x}` : `${x}`);
const rows: (string | number)[][] = [];
for (const [mode, r] of Object.entries(results)) {
  const l = r.roundTrip;
  rows.push([
    mode,
    `${l.directUs.p50} / ${l.directUs.p99}`,
    `${l.gatewayUs.p50} / ${l.gatewayUs.p99}`,
    `${signed(l.addedUs.p50)} (rounds: ${signed(l.addedUs.p50MedianOfRounds)}) / ${signed(l.addedUs.p99)}`,
    `${round(r.pipelined.ratio * 100)} %`,
    r.pipelined.gatewayCpuUsPerRoundTrip ?? "–",
  ]);
}
const floorNames: Record<string, string> = { bunPipe: "byte pipe in Bun (Bun.listen ⇄ Bun.connect)", cPipe: "byte pipe in C (epoll, bench/lib/pipe.c)" };
const floorRows: (string | number)[][] = [];
for (const [mode, r] of Object.entries(results)) {
  const l = r.roundTrip;
  floorRows.push([`${mode}: BrowserGrid gateway`, `${l.gatewayUs.p50} / ${l.gatewayUs.p99}`, `${signed(l.addedUs.p50MedianOfRounds)} / ${signed(l.addedUs.p99)}`]);
  for (const [name, f] of Object.entries(l.floors)) floorRows.push([`${mode}: ${floorNames[name] ?? name}`, `${f.us.p50} / ${f.us.p99}`, `${signed(f.addedUs.p50MedianOfRounds)} / ${signed(f.addedUs.p99)}`]);
}
const largeRows: (string | number)[][] = [];
for (const [mode, r] of Object.entries(results)) {
  for (const [kind, v] of Object.entries(r.large) as [string, { messageMB: number; directMBps: number; gatewayMBps: number; ratio: number }][]) {
    largeRows.push([mode, kind, v.messageMB, v.directMBps, v.gatewayMBps, `${round(v.ratio * 100)} %`]);
  }
  largeRows.push([mode, "8 clients × 20 MB strings", 20.97, r.concurrent8.directMBps, r.concurrent8.gatewayMBps, `${round(r.concurrent8.ratio * 100)} %`]);
}
const machine = machineInfo({ chromium: chrome.version, loadavgAtStart: loadAtStart, loadavgAtEnd: loadavg().map((x) => x.toFixed(2)).join(" ") });
const markdown = [
  "Direct Chromium vs the BrowserGrid CDP gateway, measured in the same run (bench/gateway.ts).",
  `Round trip: Browser.getVersion, ${ROUNDS} rounds of ${BLOCK} direct + ${BLOCK} gateway (+ ${BLOCK} through each byte pipe), interleaved. Pipelined: ${PIPE_TOTAL} commands, ${PIPE_WINDOW} in flight.`,
  "Targets: added p50 ≤ 25 µs, p99 ≤ 70 µs; pipelined ≥ 100 %; large frames ≥ 97 %.",
  `Load average (1/5/15 min) at start ${loadAtStart}, at end ${machine.loadavgAtEnd}: on a shared 2-core machine, other work inflates latency and lowers every ratio.`,
  "",
  mdTable(["gateway", "direct p50 / p99 µs", "gateway p50 / p99 µs", "added p50 / p99 µs", "pipelined vs direct", "gateway CPU µs per command+reply"], rows),
  "",
  mdTable(["gateway", "large messages", "MB each", "direct MB/s", "gateway MB/s", "vs direct"], largeRows),
  "",
  "The floor of a hop, measured in the same rounds: plain byte pipes (no WebSocket parsing) in their own process, between the same client and the same Chromium. Added is over direct, the median of the rounds' p50 differences.",
  "",
  mdTable(["hop", "p50 / p99 µs", "added p50 / p99 µs"], floorRows),
].join("\n");
const files = writeReport({ name: "gateway", startedAt, machine, results, markdown });
console.log(markdown);
console.log(`\nwritten: ${files.json}\n         ${files.md}`);
process.exit(0);
