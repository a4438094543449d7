// Runners end to end: a grid (own Docker network and egress table) opens its runner door; a
// session is created through the API; runner containers started through the Docker provider
// drive the session's real Chromium through the door — a Bun script with playwright-core (the
// ws:// form of the cdpUrl) and a Python script with playwright (the http:// form, so discovery
// must point at the door) — and their screenshots are copied out. From inside a runner, the
// grid's main port, another port of the host and the browser container itself are not
// reachable (the egress guard and the bridge's isolation), while the door is. The door itself
// serves only /cdp/… and /api/v1/…, and drops cookies. Last, after the server is killed,
// `browsergrid cleanup` removes a runner that still runs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DockerProvider } from "../../src/providers/docker";
import type { LogLine, RunnerSpec } from "../../src/providers/provider";
import { RUNNER_PATHS } from "../../src/providers/provider";
import { freePort } from "../helpers/binary";
import { ADMIN_KEY, browserNetwork, containersOfSession, docker, installIdOf, startIsolatedGrid, waitFor, type Grid } from "../helpers/grid";
import { bundleOf, filesOfTar } from "../helpers/runner-bundles";
import { ADMIN } from "../helpers/ui";
import { spawnCollecting } from "../helpers/process";

const NETWORK = "browsergrid-runner-e2e";
const TABLE = "bgrunner_e2e";
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let grid: Grid;
let provider: DockerProvider;
let gateway: string;
let mainPort: number;
let doorPort: number;
let door: string;
let workerId: string;
let hostListener: import("bun").TCPSocketListener<undefined>;
const hostListenerLog: string[] = [];
const started: string[] = [];

async function newSession(): Promise<{ id: string; cdpUrl: string }> {
  const s = await grid.api("POST", "/api/v1/sessions", {});
  expect(s.status).toBe(201);
  return s.body;
}

/** The session's cdpUrl with its scheme and authority replaced by the door's. */
function throughDoor(cdpUrl: string, scheme: "ws" | "http"): string {
  const u = new URL(cdpUrl);
  return `${scheme}://${gateway}:${doorPort}${u.pathname}${u.search}`;
}

async function run(spec: Omit<RunnerSpec, "runId" | "attempt" | "poolId" | "workerId" | "bundle"> & { files: Record<string, string> }) {
  const { files, ...rest } = spec;
  const full: RunnerSpec = { ...rest, runId: `e2e-${crypto.randomUUID().slice(0, 8)}`, attempt: 1, poolId: "default", workerId, bundle: await bundleOf(files) };
  const { handle } = await provider.startRunner(full);
  started.push(handle);
  const lines: LogLine[] = [];
  const logs = (async () => {
    for await (const l of provider.runnerLogs(handle)) lines.push(l);
  })();
  const exit = await provider.waitRunner(handle, 90_000);
  await logs;
  return { handle, exit, lines, text: lines.map((l) => `${l.stream}: ${l.line}`).join("\n") };
}

beforeAll(async () => {
  doorPort = freePort();
  hostListener = Bun.listen({ hostname: "0.0.0.0", port: 0, socket: { open: (s) => void hostListenerLog.push(`connection from ${s.remoteAddress}`), data() {} } });
  grid = await startIsolatedGrid(
    { network: NETWORK, table: TABLE },
    {
      env: {
        // Listening on every address: only the egress guard keeps runners off the main port.
        BROWSERGRID_HOST: "0.0.0.0",
        BROWSERGRID_RUNNER_PORT: String(doorPort),
        // No docker-host allowance: the host's ports are closed to the bridge but for the door.
        BROWSERGRID_EGRESS_ALLOW: "",
        BROWSERGRID_ADMIN_EMAIL: ADMIN.email,
        BROWSERGRID_ADMIN_PASSWORD: ADMIN.password,
      },
    },
  );
  mainPort = Number(new URL(grid.url).port);
  const net = await browserNetwork(NETWORK);
  gateway = net.IPAM!.Config![0]!.Gateway!;
  door = `http://${gateway}:${doorPort}`;
  await waitFor("the runner door", () => fetch(`${door}/api/v1/sessions`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } }).then((r) => r.ok, () => false), 20_000, 100);
  const workers = (await grid.api("GET", "/api/v1/workers")).body.workers as { id: string; endpoint: string }[];
  workerId = workers.find((w) => w.endpoint.startsWith("unix://"))!.id;
  // Runners are started outside the grid's process here, as the runs module will from inside it.
  provider = new DockerProvider("/var/run/docker.sock", { installId: installIdOf(grid.dataDir)!, workerId, network: NETWORK, egressGuard: { assertReady: async () => {} } });
}, 120_000);

afterAll(async () => {
  for (const h of started) await provider?.stopRunner(h).catch(() => {});
  await provider?.close();
  hostListener?.stop(true);
  await grid?.dispose();
});

describe("the runner door from the host", () => {
  test("serves /api/v1 and /cdp only; everything else is 404", async () => {
    for (const path of ["/healthz", "/login", "/", "/api/docs", "/json/version", "/connect", "/api/v1/../healthz", "/api/v1/%2e%2e/healthz"]) {
      const res = await fetch(`${door}${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
    expect((await fetch(`${door}/api/v1/sessions`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).status).toBe(200);
    expect((await fetch(`${grid.url}/healthz`)).status).toBe(200);
  });

  test("drops cookies: a signed-in browser's session cookie works on the main port, not through the door", async () => {
    const login = await fetch(`${grid.url}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json", origin: grid.url }, body: JSON.stringify(ADMIN) });
    expect(login.status).toBe(200);
    const cookie = login.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
    expect(cookie).toContain("bg_session=");
    const host = `127.0.0.1:${mainPort}`; // a host name the main server answers to, so only the cookie decides
    expect((await fetch(`${grid.url}/api/v1/auth/me`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${door}/api/v1/auth/me`, { headers: { cookie, host } })).status).toBe(401);
  });
});

describe("runners drive their session's browser through the door", () => {
  test("Bun + playwright-core over the ws:// cdpUrl: page, screenshot, logs", async () => {
    const session = await newSession();
    const r = await run({
      runtime: "bun",
      sessionId: session.id,
      entry: "main.ts",
      env: { BROWSERGRID_CDP_URL: throughDoor(session.cdpUrl, "ws") },
      files: {
        "main.ts": [
          'import { chromium } from "playwright-core";',
          "const browser = await chromium.connectOverCDP(process.env.BROWSERGRID_CDP_URL!);",
          "const ctx = browser.contexts()[0] ?? (await browser.newContext());",
          "const page = ctx.pages()[0] ?? (await ctx.newPage());",
          'await page.setContent("<title>from a runner</title><h1 style=\\"font-size:60px\\">Hello from Bun</h1>");',
          'console.log("title:", await page.title());',
          'console.log("ua:", (await page.evaluate(() => navigator.userAgent)).includes("Chrome"));',
          'await page.screenshot({ path: "/home/runner/output/bun.png" });',
          'console.error("done");',
          "process.exit(0);",
        ].join("\n"),
      },
    });
    expect(r.exit, r.text).toEqual({ exitCode: 0 });
    expect(r.lines.map((l) => [l.stream, l.line])).toEqual([
      ["stdout", "title: from a runner"],
      ["stdout", "ua: true"],
      ["stderr", "done"],
    ]);
    const files = await filesOfTar(await provider.copyOut(r.handle, RUNNER_PATHS.output));
    const png = files.get("output/bun.png");
    expect(png?.subarray(0, 8)).toEqual(PNG);
    expect(png!.length).toBeGreaterThan(1_000);
  }, 120_000);

  test("Python + playwright over the http:// cdpUrl: discovery answers point at the door", async () => {
    const session = await newSession();
    const r = await run({
      runtime: "python",
      sessionId: session.id,
      entry: "job/main.py",
      env: { BROWSERGRID_CDP_URL: throughDoor(session.cdpUrl, "http") },
      files: {
        "job/main.py": [
          "import os",
          "from playwright.sync_api import sync_playwright",
          "with sync_playwright() as p:",
          '    browser = p.chromium.connect_over_cdp(os.environ["BROWSERGRID_CDP_URL"])',
          "    ctx = browser.contexts[0] if browser.contexts else browser.new_context()",
          "    page = ctx.pages[0] if ctx.pages else ctx.new_page()",
          '    page.set_content("<title>py runner</title><h1>Hello from Python</h1>")',
          '    print("title:", page.title())',
          '    page.screenshot(path="/home/runner/output/py.png")',
        ].join("\n"),
      },
    });
    expect(r.exit, r.text).toEqual({ exitCode: 0 });
    expect(r.lines.filter((l) => l.stream === "stdout").map((l) => l.line)).toEqual(["title: py runner"]);
    const files = await filesOfTar(await provider.copyOut(r.handle, RUNNER_PATHS.output));
    expect(files.get("output/py.png")?.subarray(0, 8)).toEqual(PNG);
  }, 120_000);
});

describe("what a runner cannot reach", () => {
  test("the main port, another host port and its browser are closed; the door is open; no Docker socket", async () => {
    const session = await newSession();
    const [browser] = await containersOfSession(session.id);
    const browserIp = (await docker.getContainer(browser!.Id).inspect()).NetworkSettings.Networks[NETWORK]!.IPAddress;
    hostListenerLog.length = 0;
    const targets = {
      door: [gateway, doorPort],
      main: [gateway, mainPort],
      hostOther: [gateway, hostListener.port],
      browser: [browserIp, 9222],
    };
    const r = await run({
      runtime: "bun",
      sessionId: session.id,
      entry: "probe.ts",
      env: { TARGETS: JSON.stringify(targets), API: `${door}/api/v1/sessions/${session.id}`, KEY: ADMIN_KEY },
      files: {
        "probe.ts": [
          'import { connect } from "node:net";',
          'import { existsSync } from "node:fs";',
          "function tcp(host: string, port: number): Promise<string> {",
          "  return new Promise((resolve) => {",
          "    const s = connect({ host, port });",
          '    const timer = setTimeout(() => (s.destroy(), resolve("timeout")), 3_000);',
          '    s.on("connect", () => (clearTimeout(timer), s.destroy(), resolve("open")));',
          '    s.on("error", (e: NodeJS.ErrnoException) => (clearTimeout(timer), resolve(e.code ?? "error")));',
          "  });",
          "}",
          "for (const [name, [host, port]] of Object.entries(JSON.parse(process.env.TARGETS!)) as [string, [string, number]][]) console.log(name, await tcp(host, port));",
          'console.log("docker.sock", existsSync("/var/run/docker.sock") || existsSync("/run/docker.sock"));',
          'const res = await fetch(process.env.API!, { headers: { authorization: `Bearer ${process.env.KEY}` } });',
          'console.log("api", res.status, (await res.json()).id === process.env.API!.split("/").pop());',
        ].join("\n"),
      },
    });
    expect(r.exit, r.text).toEqual({ exitCode: 0 });
    const said = Object.fromEntries(r.lines.map((l) => [l.line.split(" ")[0], l.line.split(" ").slice(1).join(" ")]));
    expect(said.door).toBe("open");
    expect(said.main).not.toBe("open");
    expect(said.hostOther).not.toBe("open");
    expect(said.browser).not.toBe("open");
    expect(said["docker.sock"]).toBe("false");
    expect(said.api).toBe("200 true");
    expect(hostListenerLog).toEqual([]);
  }, 120_000);
});

describe("cleanup", () => {
  test("after SIGKILL, browsergrid cleanup removes a runner that still runs", async () => {
    const session = await newSession();
    const runId = `e2e-sleep-${crypto.randomUUID().slice(0, 8)}`;
    const { handle } = await provider.startRunner({ runId, attempt: 1, runtime: "bun", sessionId: session.id, poolId: "default", workerId, entry: "s.ts", env: {}, bundle: await bundleOf({ "s.ts": "await Bun.sleep(600_000);" }) });
    started.push(handle);
    await grid.stop("SIGKILL");
    const { proc, output } = spawnCollecting([process.execPath, "run", `${import.meta.dir}/../../src/main.ts`, "cleanup"], {
      env: { PATH: process.env.PATH!, HOME: grid.dataDir, BROWSERGRID_DATA_DIR: grid.dataDir, BROWSERGRID_DOCKER_NETWORK: NETWORK, BROWSERGRID_EGRESS_TABLE: TABLE },
    });
    expect(await proc.exited, output()).toBe(0);
    expect(output()).toContain(`removed container ${handle.slice(0, 12)} (runner of run ${runId}, worker `);
    expect(await docker.getContainer(handle).inspect().then(() => "exists", (e) => e.statusCode)).toBe(404);
  }, 120_000);
});
