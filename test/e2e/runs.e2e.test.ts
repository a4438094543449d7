// Deployments and runs end to end (issue 20): a grid (own Docker network and egress table)
// takes bundles through the API and the CLI; triggered runs start a real browser session and a
// real runner container whose script (playwright-core, puppeteer-core, playwright-python) opens
// a page this test serves, and whose screenshot and result.json come back as the run's artifact
// and result. Then the lifecycle's other ends — retries with backoff, a timeout, a cancel (also
// through the CLI, while it follows the log) — are checked against Docker itself, bad input is
// refused leaving nothing, and a probe run shows what a runner can and cannot reach. The test's page port is the only Docker-host port the egress
// guard opens (besides the runner door).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../helpers/binary";
import { ADMIN_KEY, browserNetwork, installIdOf, startIsolatedGrid, waitFor, type Grid } from "../helpers/grid";
import { runsApi, SESSION_ENDS } from "../helpers/runs-api";
import { manifestOf, PAGE_PARAMS, PLAYWRIGHT_PY, PLAYWRIGHT_TS, PROBE_TS, PUPPETEER_TS, writeDeploymentDir } from "../helpers/run-scripts";

const NETWORK = "browsergrid-runs-e2e";
const TABLE = "bgruns_e2e";
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let grid: Grid;
let gateway: string;
let pageUrl: string;
let pagePort: number;
let bg: ReturnType<typeof runsApi>;
let hostListener: import("bun").TCPSocketListener<undefined>;
const hostListenerLog: string[] = [];
const pageRequests: string[] = [];
let pageServer: ReturnType<typeof Bun.serve>;
const tempDirs: string[] = [];
/** Figures seen along the way, printed at the end. */
const measured: string[] = [];

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

/** Trigger → succeeded with a screenshot and result; returns the ended run. */
async function expectPageRun(name: string, label: string, client: string) {
  const t0 = Date.now();
  const trig = await bg.trigger(name, { url: `${pageUrl}/page/${label}`, label });
  expect(trig.status, JSON.stringify(trig.body)).toBe(202);
  expect(trig.body.status).toBe("queued");
  const run = await bg.waitEnded(trig.body.id);
  const log = await bg.logOf(run.id);
  expect(run.status, `${run.error}\n${log}`).toBe("succeeded");
  measured.push(`${client}: trigger → succeeded ${Date.now() - t0} ms (run durationMs ${run.durationMs})`);
  expect(run.exitCode).toBe(0);
  expect(run.params).toEqual({ url: `${pageUrl}/page/${label}`, label, n: 3 });
  expect(run.result).toEqual({ heading: `Hello ${label}`, title: `page ${label}`, n: 3, attempt: "1", client });
  expect(pageRequests).toContain(`/page/${label}`);
  expect(log).toMatch(new RegExp(`^\\S+ stdout heading: Hello ${label}$`, "m"));
  const list = await grid.api("GET", `/api/v1/runs/${run.id}/artifacts`);
  expect(list.status).toBe(200);
  expect(list.body.artifacts.map((a: { name: string; kind: string }) => [a.name, a.kind])).toEqual([["shot.png", "output"]]);
  const dl = await fetch(grid.url + list.body.artifacts[0].url, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  expect(dl.status).toBe(200);
  const png = Buffer.from(await dl.arrayBuffer());
  expect(png.subarray(0, 8)).toEqual(PNG);
  expect(png.length).toBe(list.body.artifacts[0].size);
  const events = await bg.eventsOf(run.id);
  const started = events.find((e) => e.type === "attempt_started")!;
  const exited = events.find((e) => e.type === "exited")!;
  measured.push(`${client}: attempt start → exit ${Date.parse(exited.at) - Date.parse(started.at)} ms`);
  expect(await bg.runnersOf(run.id)).toEqual([]);
  return run;
}

beforeAll(async () => {
  pagePort = freePort();
  pageServer = Bun.serve({
    hostname: "0.0.0.0",
    port: pagePort,
    fetch(req) {
      const path = new URL(req.url).pathname;
      pageRequests.push(path);
      const label = path.split("/").pop() ?? "";
      return new Response(`<!doctype html><title>page ${label}</title><h1 id="h" style="font-size:48px">Hello ${label}</h1>`, { headers: { "content-type": "text/html" } });
    },
  });
  hostListener = Bun.listen({ hostname: "0.0.0.0", port: 0, socket: { open: (s) => void hostListenerLog.push(`connection from ${s.remoteAddress}`), data() {} } });
  grid = await startIsolatedGrid(
    { network: NETWORK, table: TABLE },
    // Listening on every address: only the egress guard keeps runners off the main port. Of the
    // Docker host only the page port is open to browsers and runners.
    { env: { BROWSERGRID_HOST: "0.0.0.0", BROWSERGRID_EGRESS_ALLOW: `docker-host:${pagePort}` } },
  );
  bg = runsApi(grid, installIdOf(grid.dataDir)!);
  const net = await browserNetwork(NETWORK);
  gateway = net.IPAM!.Config![0]!.Gateway!;
  pageUrl = `http://${gateway}:${pagePort}`;
}, 120_000);

afterAll(async () => {
  console.log(`measured:\n  ${measured.join("\n  ")}`);
  await grid?.dispose();
  pageServer?.stop(true);
  hostListener?.stop(true);
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  for (const d of [grid?.dataDir]) if (d) rmSync(d, { recursive: true, force: true });
});

let firstRunId = "";


describe("runs that drive their browser", () => {
  test("playwright-core bundle deployed through the API (multipart): succeeded, result, screenshot artifact, log", async () => {
    const d = await bg.deploy(manifestOf("pw-api", "bun", "main.ts", { params: PAGE_PARAMS, timeoutSec: 90 }), { "main.ts": PLAYWRIGHT_TS });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    expect(d.body).toMatchObject({ name: "pw-api", version: 1, currentVersion: 1, runtime: "bun", entry: "main.ts" });
    const run = await expectPageRun("pw-api", "api", "playwright");
    firstRunId = run.id;
    const log = await bg.logOf(run.id);
    expect(log).toContain(` stdout params {"url":"${pageUrl}/page/api","label":"api","n":3}`);
    expect(log).toMatch(/ stderr done$/m);
    expect(log).toMatch(/ system attempt 1 of 1/);
    expect(await bg.sessionEnded(run.sessionId)).toBe("completed");
  }, 180_000);

  test("the same through the CLI: deploy <dir>, runs trigger --param --follow (exit 0), runs artifacts --download", async () => {
    const dir = tempDir("bg-runs-cli-");
    writeDeploymentDir(join(dir, "bot"), manifestOf("pw-cli", "bun", "main.ts", { params: PAGE_PARAMS, timeoutSec: 90 }), { "main.ts": PLAYWRIGHT_TS });
    const dep = await bg.cli("deploy", join(dir, "bot"));
    expect(dep.code, dep.out).toBe(0);
    expect(dep.out).toContain("deployed pw-cli version 1");
    const t0 = Date.now();
    const trig = await bg.cli("runs", "trigger", "pw-cli", "--param", `url=${pageUrl}/page/cli`, "--param", "label=cli", "--follow");
    expect(trig.code, trig.out).toBe(0);
    measured.push(`CLI: runs trigger --follow → exit ${Date.now() - t0} ms`);
    expect(trig.out).toMatch(/stdout heading: Hello cli/);
    const runId = /run (run_[a-z0-9]+) queued/.exec(trig.out)?.[1];
    expect(runId, trig.out).toBeDefined();
    expect(trig.out).toContain(`run ${runId} succeeded (exit code 0)`);
    const run = await bg.runOf(runId!);
    expect(run.result).toMatchObject({ heading: "Hello cli", client: "playwright" });
    const down = join(dir, "artifacts");
    const art = await bg.cli("runs", "artifacts", runId!, "--download", down);
    expect(art.code, art.out).toBe(0);
    expect(readdirSync(down)).toEqual(["shot.png"]);
    expect(readFileSync(join(down, "shot.png")).subarray(0, 8)).toEqual(PNG);
  }, 180_000);

  test("puppeteer-core bundle", async () => {
    const d = await bg.deploy(manifestOf("pptr", "bun", "main.ts", { params: PAGE_PARAMS, timeoutSec: 90 }), { "main.ts": PUPPETEER_TS });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    await expectPageRun("pptr", "pptr", "puppeteer");
  }, 180_000);

  test("playwright-python bundle", async () => {
    const d = await bg.deploy(manifestOf("pw-py", "python", "main.py", { params: PAGE_PARAMS, timeoutSec: 90 }), { "main.py": PLAYWRIGHT_PY });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    await expectPageRun("pw-py", "py", "playwright-python");
  }, 180_000);
});

describe("how runs end otherwise", () => {
  test("a failing script is retried with backoff (1 s, 2 s) and ends failed with its stderr tail", async () => {
    const d = await bg.deploy(manifestOf("boom", "bun", "main.ts", { retries: { max: 2, backoffSec: 1 }, timeoutSec: 60 }), { "main.ts": 'console.log("attempt", process.env.BROWSERGRID_ATTEMPT);\nconsole.error("boom");\nprocess.exit(2);\n' });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    const trig = await bg.trigger("boom", {});
    expect(trig.status).toBe(202);
    const run = await bg.waitEnded(trig.body.id);
    expect(run).toMatchObject({ status: "failed", attempt: 3, maxAttempts: 3, exitCode: 2 });
    expect(run.error).toContain("boom");
    const events = await bg.eventsOf(run.id);
    const retries = events.filter((e) => e.type === "retry_scheduled");
    expect(retries.map((e) => [e.detail.attempt, e.detail.backoffSec, e.detail.exitCode])).toEqual([
      [1, 1, 2],
      [2, 2, 2],
    ]);
    const starts = events.filter((e) => e.type === "attempt_started");
    const exits = events.filter((e) => e.type === "exited");
    expect(starts.map((e) => e.detail.attempt)).toEqual([1, 2, 3]);
    expect(exits.map((e) => e.detail.exitCode)).toEqual([2, 2, 2]);
    // Each retry started no earlier than its backoff after the previous attempt ended.
    for (const [i, r] of retries.entries()) {
      const gap = Date.parse(starts[i + 1]!.at) - Date.parse(r.at);
      measured.push(`retry ${i + 1}: backoff ${r.detail.backoffSec} s, scheduled → next attempt started ${gap} ms`);
      expect(gap).toBeGreaterThanOrEqual(r.detail.backoffSec * 1000);
    }
    expect(events.at(-1)!.type).toBe("failed");
    const log = await bg.logOf(run.id);
    // Dispatch lateness: the backoff's end → the next attempt's first log line (before its browser starts).
    for (const [i, r] of retries.entries()) {
      const line = new RegExp(`^(\\S+) system attempt ${i + 2} of 3`, "m").exec(log);
      expect(line, log).not.toBeNull();
      const late = Date.parse(line![1]!) - r.detail.notBefore;
      measured.push(`retry ${i + 1}: backoff end → attempt ${i + 2} dispatched ${late} ms late`);
      expect(late).toBeGreaterThanOrEqual(0);
    }
    expect(log.match(/ stderr boom$/gm)?.length).toBe(3);
    expect(log).toMatch(/ stdout attempt 3$/m);
    expect(await bg.runnersOf(run.id)).toEqual([]);
  }, 180_000);

  test("timeoutSec 3: timed_out, runner container and session gone", async () => {
    const d = await bg.deploy(manifestOf("sleepy", "bun", "main.ts", { timeoutSec: 3, retries: { max: 2, backoffSec: 0 } }), { "main.ts": 'console.log("sleeping");\nawait Bun.sleep(120_000);\n' });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    const trig = await bg.trigger("sleepy", {});
    const run = await bg.waitEnded(trig.body.id, 90_000);
    expect(run.status, run.error).toBe("timed_out");
    expect(run.attempt).toBe(1); // timeouts are not retried
    const events = await bg.eventsOf(run.id);
    const started = events.find((e) => e.type === "attempt_started")!;
    const lasted = Date.parse(run.endedAt) - Date.parse(started.at);
    measured.push(`timeoutSec 3: attempt start → timed_out ${lasted} ms`);
    expect(lasted).toBeGreaterThanOrEqual(3_000);
    expect(lasted).toBeLessThan(15_000);
    expect(await bg.logOf(run.id)).toMatch(/ stdout sleeping$/m);
    expect(await bg.runnersOf(run.id)).toEqual([]);
    expect(SESSION_ENDS).toContain(await bg.sessionEnded(run.sessionId));
    measured.push(`timeoutSec 3: run ended → browser container gone ${await bg.browserGoneAfter(run)} ms`);
  }, 120_000);

  test("cancel stops a running run within a second: status cancelled and runner container gone", async () => {
    const d = await bg.deploy(manifestOf("cancel-me", "bun", "main.ts", { timeoutSec: 120 }), { "main.ts": 'console.log("working");\nawait Bun.sleep(120_000);\n' });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    const trig = await bg.trigger("cancel-me", {});
    const id = trig.body.id;
    await waitFor("the script to print", async () => (await bg.logOf(id)).includes("stdout working"), 60_000, 50);
    expect((await bg.runnersOf(id)).map((c) => c.State)).toEqual(["running"]);
    const t0 = performance.now();
    const cancel = await grid.api("POST", `/api/v1/runs/${id}/cancel`);
    const answered = performance.now() - t0;
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
    // Documented: the runner is killed (and removed) and the session ended before the answer.
    expect(cancel.body.status).toBe("cancelled");
    expect(await bg.runnersOf(id)).toEqual([]);
    expect(SESSION_ENDS).toContain((await grid.api("GET", `/api/v1/sessions/${cancel.body.sessionId}`)).body.status);
    await waitFor("cancelled and the runner gone", async () => (await bg.runOf(id)).status === "cancelled" && (await bg.runnersOf(id)).length === 0, 5_000, 20);
    const done = performance.now() - t0;
    measured.push(`cancel: answered ${answered.toFixed(0)} ms, cancelled + container gone ${done.toFixed(0)} ms`);
    expect(done).toBeLessThan(1_000);
    const run = await bg.runOf(id);
    expect(run.status).toBe("cancelled");
    expect(SESSION_ENDS).toContain(await bg.sessionEnded(run.sessionId));
    measured.push(`cancel: run ended → browser container gone ${await bg.browserGoneAfter(run)} ms`);
  }, 120_000);
});

describe("the CLI on a running run", () => {
  test("runs logs --follow streams a running run's lines and exits 1 when runs cancel ends it", async () => {
    const dir = tempDir("bg-runs-cli-");
    writeDeploymentDir(dir, manifestOf("cli-cancel", "bun", "main.ts", { timeoutSec: 120 }), { "main.ts": 'for (let i = 0; ; i++) { console.log("tick", i); await Bun.sleep(200); }\n' });
    expect((await bg.cli("deploy", dir)).code).toBe(0);
    const trig = await bg.cli("runs", "trigger", "cli-cancel", "--json");
    expect(trig.code, trig.out).toBe(0);
    const id = JSON.parse(trig.out).id as string;
    const follow = bg.cli("runs", "logs", id, "--follow");
    await waitFor("ticks", async () => (await bg.logOf(id)).includes("stdout tick 2"), 60_000, 50);
    const cancel = await bg.cli("runs", "cancel", id);
    expect(cancel.code, cancel.out).toBe(0);
    expect(cancel.out).toContain(`run ${id} cancelled`);
    const followed = await follow;
    expect(followed.code, followed.out).toBe(1);
    expect(followed.out).toMatch(/stdout tick 0\n/);
    expect(followed.out).toMatch(/stdout tick 2\n/);
    expect(followed.out).toContain(`run ${id} cancelled`);
    expect(await bg.runnersOf(id)).toEqual([]);
  }, 120_000);
});

describe("bad input through the real server", () => {
  test("params that break the schema: 400 naming the field, no run, no container", async () => {
    const before = (await grid.api("GET", "/api/v1/runs?deployment=pw-api")).body.runs.length;
    const sessionsBefore = (await grid.api("GET", "/api/v1/sessions?limit=200")).body.sessions.length;
    for (const [params, field] of [
      [{ url: `${pageUrl}/x`, label: 7 }, "params.label"],
      [{ url: "ftp://x", label: "a" }, "params.url"],
      [{ url: `${pageUrl}/x`, label: "a", extra: 1 }, "params.extra"],
      [{ label: "a" }, "url"],
    ] as const) {
      const r = await bg.trigger("pw-api", params);
      expect({ params, status: r.status }).toEqual({ params, status: 400 });
      expect(r.body.error?.message).toContain(field);
    }
    expect((await grid.api("GET", "/api/v1/runs?deployment=pw-api")).body.runs.length).toBe(before);
    expect(await bg.allRunners()).toEqual([]);
    expect((await grid.api("GET", "/api/v1/sessions?limit=200")).body.sessions.length).toBe(sessionsBefore);
  });

  test("a manifest with an unknown key and a bundle leaving its directory are refused; nothing stored", async () => {
    const bad = await bg.deploy({ ...manifestOf("typo", "bun", "main.ts"), timeoutsec: 5 }, { "main.ts": "1" });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.message).toContain('unknown key "timeoutsec"');
    const escape = await bg.deploy(manifestOf("escape", "bun", "main.ts"), { "main.ts": "1", "../evil.ts": "1" });
    expect(escape.status).toBe(400);
    expect(escape.body.error?.message).toContain("../evil.ts");
    for (const name of ["typo", "escape"]) expect((await grid.api("GET", `/api/v1/deployments/${name}`)).status).toBe(404);
  });
});

describe("what a runner reaches", () => {
  test("its own run with its token; not the API without it, another run, the main port, the socket, the host, a private address", async () => {
    const d = await bg.deploy(manifestOf("probe", "bun", "probe.ts", { timeoutSec: 60, params: { type: "object", properties: { targets: { type: "object" }, otherRun: { type: "string" } } } }), { "probe.ts": PROBE_TS });
    expect(d.status, JSON.stringify(d.body)).toBe(201);
    // The host's own address on its outside interface (not a Docker bridge): a listener there is one more host port.
    const hostAddress = Object.entries(networkInterfaces())
      .filter(([name]) => !/^(br-|docker|veth|bg-|lo)/.test(name))
      .flatMap(([, addrs]) => addrs ?? [])
      .find((i) => i.family === "IPv4" && !i.internal)?.address;
    const mainPort = Number(new URL(grid.url).port);
    const targets: Record<string, [string, number]> = {
      page: [gateway, pagePort], // the one allowed host port: shows the probe can connect
      main: [gateway, mainPort],
      hostOther: [gateway, hostListener.port], // the gateway is a private address of the host
      metadata: ["169.254.169.254", 80],
      ...(hostAddress ? { hostOutside: [hostAddress, hostListener.port] as [string, number] } : {}),
    };
    hostListenerLog.length = 0;
    expect(firstRunId).not.toBe("");
    const trig = await bg.trigger("probe", { targets, otherRun: firstRunId });
    expect(trig.status, JSON.stringify(trig.body)).toBe(202);
    const run = await bg.waitEnded(trig.body.id);
    const log = await bg.logOf(run.id);
    expect(run.status, log).toBe("succeeded");
    const said = JSON.parse(/ stdout probe (.*)$/m.exec(log)![1]!);
    expect(said.page).toBe("open");
    expect(said.main).not.toBe("open");
    expect(said.hostOther).not.toBe("open");
    expect(said.metadata).not.toBe("open");
    if (hostAddress) expect(said.hostOutside).not.toBe("open");
    measured.push(`probe from a runner: ${JSON.stringify(said)}`);
    expect(said.dockerSock).toBe(false);
    expect(said.noToken).toBe(401);
    expect(said.own).toEqual([200, "running"]);
    expect(said.other).toBe(403);
    expect(said.list).toBe(403);
    expect(hostListenerLog).toEqual([]);
    // The token it printed is redacted in the log; the one it left in a file is dead now the run ended.
    expect(log).toMatch(/ stdout token \*\*\*$/m);
    const files = (await grid.api("GET", `/api/v1/runs/${run.id}/artifacts`)).body.artifacts as { name: string; url: string }[];
    const tokenFile = files.find((f) => f.name === "token.txt")!;
    const token = await (await fetch(grid.url + tokenFile.url, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).text();
    expect(token).toStartWith(`bgr_${run.id}_`);
    expect((await fetch(`${grid.url}/api/v1/runs/${run.id}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  }, 120_000);
});
