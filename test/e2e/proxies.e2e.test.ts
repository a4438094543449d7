// Bring-your-own proxies end to end: BrowserGrid (a real server process) starts Chromium in a
// real container with only the proxy relay's address; Playwright drives it through the CDP
// gateway; the relay carries the traffic through an authenticating HTTP proxy and a SOCKS5
// proxy written for these tests (their logs and the echoed X-Test-Proxy header prove the way),
// routes per domain, refuses direct connections to private addresses, counts bytes, and refuses
// sessions whose proxy rejects its credentials before anything exists. No password ever shows
// in the container's inspect output, the grid's log or any API response.
//
// Isolation: the grid has its own Docker network and nftables table, and an empty egress
// allow-list: browsers reach nothing on the host but the relay (the guard opens only its port).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { browserNetwork, docker, startGrid, startPageServer, waitFor, type Grid } from "../helpers/grid";
import { startHttpProxy, startSocks5Proxy, type TestProxy } from "../helpers/test-proxies";
import { DockerProvider } from "../../src/providers/docker";
import { ProxyRelay } from "../../src/modules/proxies/proxy-relay";
import { log } from "../../src/lib/logger";

const NETWORK = "browsergrid-proxies-e2e";
const TABLE = "bgproxies_e2e";
const HTTP_PW = `http-${crypto.randomUUID()}`;
const SOCKS_PW = `socks-${crypto.randomUUID()}`;
const SECRETS = [HTTP_PW, SOCKS_PW, btoa(`alice:${HTTP_PW}`)];

let grid: Grid;
let pages: Awaited<ReturnType<typeof startPageServer>>;
let pagePort: number;
let gateway: string;
let httpProxy: TestProxy;
let socksProxy: TestProxy;
let wsServer: ReturnType<typeof Bun.serve>;
const responses: string[] = [];
const browsers: Browser[] = [];
const hosts = { "pages.test": "127.0.0.1", "socks.pages.test": "127.0.0.1" };

async function api(method: string, path: string, body?: unknown) {
  const res = await grid.api(method, path, body);
  responses.push(typeof res.body === "string" ? res.body : JSON.stringify(res.body));
  return res;
}

async function session(body: Record<string, unknown>) {
  const res = await api("POST", "/api/v1/sessions", { keepAlive: true, ...body });
  if (res.status !== 201) throw new Error(`session create: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; cdpUrl: string; config: Record<string, any> };
}

async function open(cdpUrl: string) {
  const browser = await chromium.connectOverCDP(cdpUrl);
  browsers.push(browser);
  return browser.contexts()[0]!.newPage();
}

/** The JSON echo of the request headers as the page server received them. */
async function echo(page: Awaited<ReturnType<typeof open>>, url: string): Promise<Record<string, string>> {
  const res = await page.goto(url);
  expect(res!.status()).toBe(200);
  return JSON.parse(await res!.text());
}

function installId(): string {
  const db = new Database(join(grid.dataDir, "browsergrid.db"), { readonly: true });
  const row = db.query<{ value: string }, []>("SELECT value FROM settings WHERE key = 'install_id'").get();
  db.close();
  return JSON.parse(row!.value);
}

const installContainers = async () => (await docker.listContainers({ all: true, filters: { label: [`browsergrid.install=${installId()}`] } })).map((c) => c.Id).sort();
const sessionCount = async () => (await api("GET", "/api/v1/sessions?limit=500")).body.sessions.length as number;
const containerOf = async (sessionId: string) => docker.getContainer((await docker.listContainers({ all: true, filters: { label: [`browsergrid.session=${sessionId}`] } }))[0]!.Id).inspect();

beforeAll(async () => {
  grid = await startGrid({ env: { BROWSERGRID_DOCKER_NETWORK: NETWORK, BROWSERGRID_EGRESS_TABLE: TABLE, BROWSERGRID_EGRESS_ALLOW: "" } });
  pages = await startPageServer();
  pagePort = Number(new URL(pages.url).port);
  const net = await browserNetwork(NETWORK);
  gateway = net.IPAM!.Config![0]!.Gateway!;
  httpProxy = startHttpProxy({ username: "alice", password: HTTP_PW, hosts });
  socksProxy = startSocks5Proxy({ username: "bob", password: SOCKS_PW, hosts });
  wsServer = Bun.serve({
    hostname: "0.0.0.0",
    port: 0,
    fetch: (req, server) => (server.upgrade(req, { data: undefined }) ? undefined : new Response("ws only", { status: 400 })),
    websocket: {
      message(ws, m) {
        ws.send(`pong:${m}`);
      },
    },
  });
  expect((await api("POST", "/api/v1/proxies", { name: "corp-http", url: `http://alice:${encodeURIComponent(HTTP_PW)}@127.0.0.1:${httpProxy.port}` })).status).toBe(201);
  expect((await api("POST", "/api/v1/proxies", { name: "corp-socks", url: `socks5://127.0.0.1:${socksProxy.port}`, username: "bob", password: SOCKS_PW })).status).toBe(201);
}, 90_000);

afterAll(async () => {
  for (const b of browsers) await b.close().catch(() => {});
  await grid?.dispose();
  pages?.stop();
  httpProxy?.stop();
  socksProxy?.stop();
  wsServer?.stop(true);
  Bun.spawnSync(["nft", "delete", "table", "inet", TABLE]);
  await docker.getNetwork(NETWORK).remove().catch(() => {});
});

describe("sessions through the proxy relay", () => {
  let httpSession: { id: string; cdpUrl: string };

  test("HTTP proxy: plain http forwarded with the proxy's header, a WebSocket through CONNECT, bytes counted", async () => {
    const s = (httpSession = await session({ proxy: "corp-http" }));
    expect(s.config.proxy).toMatchObject({ name: "corp-http" });
    const page = await open(s.cdpUrl);
    const headers = await echo(page, `http://pages.test:${pagePort}/echo?via=http`);
    expect(headers["x-test-proxy"]).toBe("http");
    expect(headers["proxy-authorization"]).toBeUndefined();
    expect(httpProxy.log).toContain(`GET http://pages.test:${pagePort}/echo?via=http`);
    expect(pages.requests).toContain("/echo?via=http");

    const reply = await page.evaluate(
      (url) =>
        new Promise<string>((resolve, reject) => {
          const ws = new WebSocket(url);
          ws.onopen = () => ws.send("ping");
          ws.onmessage = (e) => resolve(String(e.data));
          ws.onerror = () => reject(new Error("websocket failed"));
        }),
      `ws://pages.test:${wsServer.port}/`,
    );
    expect(reply).toBe("pong:ping");
    expect(httpProxy.log).toContain(`CONNECT pages.test:${wsServer.port}`);

    const counted = await waitFor("byte counts", async () => {
      const r = await api("GET", `/api/v1/sessions/${s.id}`);
      return r.body.network.bytesSent > 0 && r.body.network.bytesReceived > 0 ? r.body.network : null;
    });
    expect(counted.bytesReceived).toBeGreaterThan(100);
    const detail = await grid.api("GET", `/sessions/${s.id}`);
    responses.push(String(detail.body));
    expect(String(detail.body)).toContain("Traffic through the proxy");
    expect(String(detail.body)).toContain("corp-http");
  });

  test("the container gets only the relay's address: no credentials in its env, command, args or labels", async () => {
    const info = await containerOf(httpSession.id);
    const env = info.Config.Env ?? [];
    expect(env).toContainEqual(expect.stringMatching(new RegExp(`^BG_PROXY_SERVER=http://${gateway.replace(/\./g, "\\.")}:\\d+$`)));
    const text = JSON.stringify(info);
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    expect(text).not.toContain("alice");
    expect(JSON.stringify([info.Config.Env, info.Config.Cmd, info.Args, info.Config.Labels])).not.toContain(String(httpProxy.port));
  });

  test("SOCKS5 proxy: the target name goes to the proxy (its log shows it), no HTTP proxy header", async () => {
    const s = await session({ proxy: "corp-socks" });
    const page = await open(s.cdpUrl);
    const headers = await echo(page, `http://pages.test:${pagePort}/echo?via=socks`);
    expect(headers["x-test-proxy"]).toBeUndefined();
    expect(socksProxy.log).toContain(`CONNECT pages.test:${pagePort} atyp=3`);
    expect(httpProxy.log.some((l) => l.includes("via=socks"))).toBe(false);
  });

  test("per-domain routing: one domain via the proxy, one via another proxy, direct to a private address refused", async () => {
    const created = await api("POST", "/api/v1/proxies", {
      name: "routed",
      url: `http://127.0.0.1:${httpProxy.port}`,
      username: "alice",
      password: HTTP_PW,
      routes: [
        { domains: ["socks.pages.test"], via: "corp-socks" },
        { domains: [gateway], via: "direct" },
      ],
    });
    expect(created.status).toBe(201);
    const s = await session({ proxy: "routed" });
    const page = await open(s.cdpUrl);

    expect((await echo(page, `http://pages.test:${pagePort}/echo?route=default`))["x-test-proxy"]).toBe("http");
    expect(httpProxy.log).toContain(`GET http://pages.test:${pagePort}/echo?route=default`);

    expect((await echo(page, `http://socks.pages.test:${pagePort}/echo?route=socks`))["x-test-proxy"]).toBeUndefined();
    expect(socksProxy.log).toContain(`CONNECT socks.pages.test:${pagePort} atyp=3`);
    expect(httpProxy.log.some((l) => l.includes("route=socks"))).toBe(false);

    // Direct from the host to its own bridge address: the relay's guard refuses it.
    const refused = await page.goto(`http://${gateway}:${pagePort}/echo?route=direct`);
    expect(refused!.status()).toBe(403);
    expect(await refused!.text()).toContain("refused: an address of the Docker host itself");
    expect(pages.requests).not.toContain("/echo?route=direct");
    expect(httpProxy.log.some((l) => l.includes("route=direct"))).toBe(false);
    const events = (await api("GET", `/api/v1/sessions/${s.id}/events`)).body;
    const list = Array.isArray(events) ? events : events.events;
    expect(list.find((e: { type: string }) => e.type === "proxy_error")?.detail).toMatchObject({ code: "blocked", target: `${gateway}:${pagePort}` });
  });

  test("wrong credentials or a dead proxy: a clear 502 before anything exists — no session row, no container", async () => {
    const bad = await api("POST", "/api/v1/proxies", { name: "bad-http", url: `http://alice:wrong@127.0.0.1:${httpProxy.port}` });
    expect(bad.status).toBe(201);
    await api("POST", "/api/v1/proxies", { name: "bad-socks", url: `socks5://bob:wrong@127.0.0.1:${socksProxy.port}` });
    const dead = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const deadPort = dead.port;
    dead.stop(true);
    await api("POST", "/api/v1/proxies", { name: "dead", url: `http://127.0.0.1:${deadPort}` });

    const sessionsBefore = await sessionCount();
    const containersBefore = await installContainers();
    const http = await api("POST", "/api/v1/sessions", { proxy: "bad-http" });
    expect(http.status).toBe(502);
    expect(http.body.error).toEqual({
      code: "proxy_auth_failed",
      message: `Proxy "bad-http" rejected the credentials (407 Proxy Authentication Required); update them with PATCH /api/v1/proxies/bad-http.`,
      requestId: expect.any(String),
    });
    expect(httpProxy.log).toContain("AUTH-FAILED CONNECT credentials-check.browsergrid.invalid:443");
    const socks = await api("POST", "/api/v1/sessions", { proxy: "bad-socks" });
    expect(socks.status).toBe(502);
    expect(socks.body.error.code).toBe("proxy_auth_failed");
    expect(socks.body.error.message).toContain(`Proxy "bad-socks" rejected the credentials`);
    expect(socksProxy.log).toContain("AUTH-FAILED");
    const unreachable = await api("POST", "/api/v1/sessions", { proxy: "dead" });
    expect(unreachable.status).toBe(502);
    expect(unreachable.body.error.code).toBe("proxy_unreachable");
    const unknown = await api("POST", "/api/v1/sessions", { proxy: "ghost" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe("unknown_proxy");

    expect(await sessionCount()).toBe(sessionsBefore);
    expect(await installContainers()).toEqual(containersBefore);
  });

  test("pool default: used when the session names none, null opts out; delete refused while in use", async () => {
    expect((await api("PATCH", "/api/v1/pools/default", { proxy: "corp-http" })).body.proxy).toBe("corp-http");
    const withDefault = await session({});
    expect(withDefault.config.proxy).toMatchObject({ name: "corp-http" });
    expect((await containerOf(withDefault.id)).Config.Env).toContainEqual(expect.stringMatching(/^BG_PROXY_SERVER=/));
    const optOut = await session({ proxy: null });
    expect(optOut.config.proxy).toBeUndefined();
    expect((await containerOf(optOut.id)).Config.Env!.some((e) => e.startsWith("BG_PROXY_SERVER="))).toBe(false);

    const inPool = await api("DELETE", "/api/v1/proxies/corp-http");
    expect(inPool.status).toBe(409);
    expect(inPool.body.error.message).toContain(`default proxy of pool(s) "default"`);
    expect((await api("PATCH", "/api/v1/pools/default", { proxy: null })).body.proxy).toBeNull();
    const live = await api("DELETE", "/api/v1/proxies/corp-http");
    expect(live.status).toBe(409);
    expect(live.body.error.message).toContain("live session");
    expect((await api("DELETE", `/api/v1/sessions/${withDefault.id}`)).status).toBe(200);
  });

  test("bytes are stored when a session ends", async () => {
    const s = await session({ proxy: "corp-socks" });
    const page = await open(s.cdpUrl);
    await echo(page, `http://pages.test:${pagePort}/echo?final=1`);
    expect((await api("DELETE", `/api/v1/sessions/${s.id}`)).status).toBe(200);
    const after = (await api("GET", `/api/v1/sessions/${s.id}`)).body;
    expect(after.status).toBe("completed");
    expect(after.network.bytesSent).toBeGreaterThan(0);
    expect(after.network.bytesReceived).toBeGreaterThan(0);
  });

  test("no password in any API response or in the grid's log", async () => {
    for (const path of ["/api/v1/proxies", "/api/v1/proxies/corp-http", "/api/v1/proxies/routed", "/api/v1/audit?limit=200", "/api/v1/sessions?limit=500", "/proxies"]) await api("GET", path);
    expect(responses.length).toBeGreaterThan(20);
    const all = responses.join("\n");
    const out = grid.output();
    expect(out).toContain("proxy relay listening");
    for (const secret of SECRETS) {
      expect(all).not.toContain(secret);
      expect(out).not.toContain(secret);
    }
  });
});

describe("direct routes allowed by directAllowed (relay in this process, real Chromium)", () => {
  const NET2 = "browsergrid-proxies-e2e2";
  let provider: DockerProvider;
  let relay: ProxyRelay;
  let handle: string | undefined;

  afterAll(async () => {
    if (handle) await provider.stop(handle).catch(() => {});
    relay?.stop();
    await provider?.close();
    await docker.getNetwork(NET2).remove().catch(() => {});
  });

  test("a direct route reaches the allowed ip:port; other hosts still go through the proxy", async () => {
    provider = new DockerProvider(docker, { installId: `proxies-e2e-${crypto.randomUUID().slice(0, 8)}`, workerId: "wrk_proxies_e2e", network: NET2, egressGuard: { assertReady: async () => {} } });
    // The network exists once the provider made it; the relay listens on its gateway.
    const { ensureBrowserNetwork } = await import("../../src/providers/docker-network");
    await ensureBrowserNetwork(docker, NET2, "proxies-e2e");
    const gw = (await docker.getNetwork(NET2).inspect()).IPAM!.Config![0]!.Gateway!;
    const upstream = { id: "prx_h", name: "h", scheme: "http" as const, host: "127.0.0.1", port: httpProxy.port, username: "alice", password: HTTP_PW };
    relay = new ProxyRelay({
      hostname: gw,
      route: (_reg, host) => (host === gw ? { kind: "direct" } : { kind: "proxy", proxy: upstream }),
      directAllowed: (_reg, ip, port) => (ip === gw && port === pagePort ? { ok: true, address: ip } : { ok: false, reason: "not this test's page server" }),
      log,
    });
    relay.start();
    const started = await provider.start({ sessionId: "ses_proxies_e2e", poolId: "pool_e2e", workerId: "wrk_proxies_e2e", flavour: "headless-shell", viewport: { width: 800, height: 600 }, proxyServer: `http://${gw}:${relay.port}` });
    handle = started.handle;
    relay.register(started.cdp.host, { sessionId: "ses_proxies_e2e", poolId: "pool_e2e", workerId: "wrk_proxies_e2e", proxyId: "prx_h" });

    const browser = await chromium.connectOverCDP(`http://${started.cdp.host}:${started.cdp.port}`);
    browsers.push(browser);
    const page = await browser.contexts()[0]!.newPage();
    expect((await echo(page, `http://${gw}:${pagePort}/echo?direct=allowed`))["x-test-proxy"]).toBeUndefined();
    expect(pages.requests).toContain("/echo?direct=allowed");
    expect(httpProxy.log.some((l) => l.includes("direct=allowed"))).toBe(false);
    expect((await echo(page, `http://pages.test:${pagePort}/echo?direct=proxied`))["x-test-proxy"]).toBe("http");
    // Another port on the same address is not in the allow-list.
    const other = await page.goto(`http://${gw}:${wsServer.port}/`);
    expect(other!.status()).toBe(403);
    expect(relay.takeCounts()[0]!.received).toBeGreaterThan(0);
  });
});
