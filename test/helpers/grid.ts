// Whole-system helpers: a BrowserGrid started from source as a subprocess (so it can be
// killed like a real server), an API client with a static admin key, a page server the
// browser containers can reach, and Docker look-ups by label. Nothing here waits without a
// deadline: API calls, the server's exit and every Docker call (the engine's own deadlines,
// src/providers/engine-deadlines.ts) give up with an error instead of hanging a test's clean-up.
import Docker from "dockerode";
import { EngineDeadlines, withDeadlines } from "../../src/providers/engine-deadlines";
import { Database } from "bun:sqlite";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./binary";
import { spawnCollecting } from "./process";

export const docker = withDeadlines(new Docker({ socketPath: "/var/run/docker.sock" }), new EngineDeadlines("test host"));
/** An API call of a test that takes longer than this fails (a session create waits at most its pool's queue timeout). */
const API_TIMEOUT_MS = 120_000;
/** A server that has not exited this long after SIGTERM is killed. */
const STOP_TIMEOUT_MS = 30_000;
const MAIN = join(import.meta.dir, "../../src/main.ts");

export const ADMIN_KEY = `bg_e2eadmin0_${crypto.randomUUID().replace(/-/g, "")}`;

export interface Grid {
  url: string;
  dataDir: string;
  proc: ReturnType<typeof Bun.spawn>;
  output(): string;
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  /** SIGTERM (graceful) or SIGKILL (crash); browsers keep running, as in production. */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Stops the server and removes every container and volume of this install: test clean-up. */
  dispose(): Promise<void>;
}

export async function startGrid(opts: { dataDir?: string; port?: number; env?: Record<string, string> } = {}): Promise<Grid> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "bg-e2e-"));
  const port = opts.port ?? freePort();
  const { proc, output } = spawnCollecting([process.execPath, "run", MAIN, "serve"], {
    env: {
      PATH: process.env.PATH!,
      HOME: dataDir,
      BROWSERGRID_PORT: String(port),
      BROWSERGRID_DATA_DIR: dataDir,
      BROWSERGRID_API_KEYS: ADMIN_KEY,
      BROWSERGRID_LOG_LEVEL: process.env.BROWSERGRID_TEST_LOG_LEVEL ?? "info",
      // The egress guard is on; test pages are served from the Docker host (startPageServer).
      BROWSERGRID_EGRESS_ALLOW: "docker-host",
      // Browser images built from a branch under another name (scripts/build-images.sh builds browsergrid/browser).
      ...(process.env.BROWSERGRID_TEST_BROWSER_IMAGE ? { BROWSERGRID_BROWSER_IMAGE: process.env.BROWSERGRID_TEST_BROWSER_IMAGE } : {}),
      ...opts.env,
    },
  });
  let stopping = false;
  void proc.exited.then((code) => {
    if (!stopping) console.error(`BrowserGrid exited unexpectedly (${code}); its output:\n${output()}`);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`grid exited (${proc.exitCode}): ${output()}`);
    try {
      if ((await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) })).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`grid not ready in 30 s: ${output()}`);
    await Bun.sleep(25);
  }
  const grid: Grid = {
    url,
    dataDir,
    proc,
    output,
    async api(method, path, body, headers = {}) {
      const res = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(API_TIMEOUT_MS),
      }).catch((err: Error) => {
        throw new Error(`${method} ${path}: ${err.name === "TimeoutError" ? `no answer within ${API_TIMEOUT_MS / 1000} s` : err.message}`);
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async stop(signal = "SIGTERM") {
      stopping = true;
      proc.kill(signal);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const exited = await Promise.race([proc.exited.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), STOP_TIMEOUT_MS)))]);
      clearTimeout(timer);
      if (!exited) {
        console.error(`BrowserGrid did not exit within ${STOP_TIMEOUT_MS / 1000} s of ${signal}; killing it. Its output:\n${output().slice(-4_000)}`);
        proc.kill("SIGKILL");
        await proc.exited;
      }
    },
    async dispose() {
      await grid.stop();
      await removeInstallContainers(dataDir);
    },
  };
  return grid;
}

/**
 * A grid with its own Docker network and nftables table, so its egress guard never rewrites
 * another grid's on the same host; dispose() also removes both. A dataDir (and port) of a
 * stopped grid starts it again on its database: a restart.
 */
export async function startIsolatedGrid(isolation: { network: string; table: string }, opts: { env?: Record<string, string>; dataDir?: string; port?: number } = {}): Promise<Grid> {
  const grid = await startGrid({ dataDir: opts.dataDir, port: opts.port, env: { BROWSERGRID_DOCKER_NETWORK: isolation.network, BROWSERGRID_EGRESS_TABLE: isolation.table, ...opts.env } });
  const dispose = grid.dispose;
  grid.dispose = async () => {
    await dispose();
    Bun.spawnSync(["nft", "delete", "table", "inet", isolation.table], { stderr: "ignore" });
    await docker.getNetwork(isolation.network).remove().catch(() => {});
  };
  return grid;
}

/** The install id of a BrowserGrid data dir (the `browsergrid.install` label of its containers). */
export function installIdOf(dataDir: string): string | undefined {
  try {
    const db = new Database(join(dataDir, "browsergrid.db"), { readonly: true });
    const row = db.query<{ value: string }, []>("SELECT value FROM settings WHERE key = 'install_id'").get();
    db.close();
    return row ? (JSON.parse(row.value) as string) : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the containers (and their anonymous volumes) of the install whose data dir this is. */
export async function removeInstallContainers(dataDir: string): Promise<void> {
  const installId = installIdOf(dataDir);
  if (!installId) return;
  const list = await docker.listContainers({ all: true, filters: { label: [`browsergrid.install=${installId}`] } });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})));
}

/** Containers of a BrowserGrid data dir's install (all states). */
export async function containersOfSession(sessionId: string) {
  return docker.listContainers({ all: true, filters: { label: [`browsergrid.session=${sessionId}`] } });
}

/**
 * The browser network of a started grid: its proxy relay creates it once the API listens (or
 * the first browser does), so right after ready it may not exist yet.
 */
export function browserNetwork(name: string): Promise<Docker.NetworkInspectInfo> {
  return waitFor(`Docker network ${name}`, () => docker.getNetwork(name).inspect().catch(() => null));
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(everyMs);
  }
}

/**
 * A page server the browser containers can reach: listens on all addresses; pages are
 * addressed through the browser network's gateway (the Docker host as seen from a container).
 */
export async function startPageServer() {
  /** Every request's path and query, in arrival order (rule sets: what a blocked request never reached). */
  const requests: string[] = [];
  const server = Bun.serve({
    hostname: "0.0.0.0",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      requests.push(url.pathname + url.search);
      // Rule sets: a page that loads an image and a script and fetches /api/data; an echo of the
      // request headers; a response with a header of its own.
      if (url.pathname === "/rules/page")
        return new Response(
          `<!doctype html><title>rules</title><p id="data">pending</p><img id="img" src="/rules/pixel.png?${url.search.slice(1)}"><script src="/rules/script.js?${url.search.slice(1)}"></script>
<script>fetch("/api/data?${url.search.slice(1)}").then(async (r) => { document.getElementById("data").textContent = JSON.stringify({ status: r.status, mock: r.headers.get("x-mock"), body: await r.text() }) }, (e) => { document.getElementById("data").textContent = "failed" })</script>`,
          { headers: { "content-type": "text/html" } },
        );
      if (url.pathname === "/rules/pixel.png") return new Response(Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==", "base64"), { headers: { "content-type": "image/png" } });
      if (url.pathname === "/rules/script.js") return new Response("window.scriptRan = true;", { headers: { "content-type": "text/javascript" } });
      if (url.pathname === "/api/data") return Response.json({ real: true });
      if (url.pathname === "/echo") return Response.json(req.headers.toJSON());
      if (url.pathname === "/with-header") return new Response("<title>header</title>ok", { headers: { "content-type": "text/html", "x-origin-header": "original", "x-keep": "kept" } });
      // Profiles: a "login" that sets a persistent cookie and a localStorage value, a page that
      // shows both, and a file to download.
      if (url.pathname === "/login") {
        const user = url.searchParams.get("user") ?? "alice";
        return new Response(`<!doctype html><title>login</title><script>localStorage.setItem("user", ${JSON.stringify(user)})</script><p id="done">logged in</p>`, {
          headers: { "content-type": "text/html", "set-cookie": `login=${user}; Path=/; Max-Age=86400` },
        });
      }
      if (url.pathname === "/whoami") {
        const login = /(?:^|; )login=([^;]*)/.exec(req.headers.get("cookie") ?? "")?.[1] ?? "";
        return new Response(`<!doctype html><title>whoami</title><p id="cookie">${login}</p><p id="ls"></p><script>document.getElementById("ls").textContent = localStorage.getItem("user") ?? ""</script>`, {
          headers: { "content-type": "text/html" },
        });
      }
      if (url.pathname === "/download") return new Response(`<!doctype html><title>download</title><a id="dl" href="/report.txt" download>report</a>`, { headers: { "content-type": "text/html" } });
      if (url.pathname === "/report.txt")
        return new Response("quarterly numbers\n", { headers: { "content-type": "text/plain", "content-disposition": 'attachment; filename="report.txt"' } });
      if (url.pathname === "/set-cookie")
        return new Response("<title>cookie</title>ok", { headers: { "content-type": "text/html", "set-cookie": "grid=1; Path=/" } });
      return new Response(`<!doctype html><title>BrowserGrid test page</title><h1 id="h">Hello ${url.pathname}</h1><script>window.answer = 42</script>`, {
        headers: { "content-type": "text/html" },
      });
    },
  });
  const net = await docker.getNetwork("browsergrid-default").inspect();
  const gateway: string | undefined = net.IPAM?.Config?.[0]?.Gateway;
  if (!gateway) throw new Error("browsergrid-default network has no gateway address");
  return { url: `http://${gateway}:${server.port}`, requests, stop: () => server.stop(true) };
}
