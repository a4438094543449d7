// The proxy relay against the test proxies and a real HTTP server, over raw sockets (the way
// Chromium talks to it): routing through HTTP and SOCKS5 proxies, direct with the address check,
// CONNECT tunnels, byte counts, error answers, and the credentials check used at session create.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { log } from "../../lib/logger";
import { startHttpProxy, startSocks5Proxy, type TestProxy } from "../../../test/helpers/test-proxies";
import type { Route, UpstreamProxy } from "./proxies.service";
import { ProxyRelay, type RelayErrorEvent } from "./proxy-relay";
import { checkProxy, UpstreamError } from "./proxy-upstream";
import { mayReach, thisHostPolicy } from "../../security/egress/egress-policy";

const HTTP_PW = `http-pw-${crypto.randomUUID()}`;
const SOCKS_PW = `socks-pw-${crypto.randomUUID()}`;
let target: ReturnType<typeof Bun.serve>;
let hits: string[] = [];
let httpProxy: TestProxy;
let socksProxy: TestProxy;
let relay: ProxyRelay;
let routes: (host: string) => Route;
let allowDirect = false;
const errors: RelayErrorEvent[] = [];

const http = (): UpstreamProxy => ({ id: "prx_h", name: "h", scheme: "http", host: "127.0.0.1", port: httpProxy.port, username: "alice", password: HTTP_PW });
const socks = (): UpstreamProxy => ({ id: "prx_s", name: "s", scheme: "socks5", host: "127.0.0.1", port: socksProxy.port, username: "bob", password: SOCKS_PW });

beforeAll(() => {
  target = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      hits.push(url.pathname);
      return Response.json({ path: url.pathname, proxy: req.headers.get("x-test-proxy"), auth: req.headers.get("proxy-authorization"), body: "x".repeat(1000) });
    },
  });
  const hosts = { "pages.test": "127.0.0.1", "socks.test": "127.0.0.1" };
  httpProxy = startHttpProxy({ username: "alice", password: HTTP_PW, hosts });
  socksProxy = startSocks5Proxy({ username: "bob", password: SOCKS_PW, hosts });
  relay = new ProxyRelay({
    hostname: "127.0.0.1",
    route: (_reg, host) => routes(host),
    // allowDirect stands in for an allow-list entry; otherwise the default: this host's policy.
    directAllowed: (_reg, ip, port) => (allowDirect ? { ok: true, address: ip } : mayReach(thisHostPolicy(), ip, port)),
    onError: (_reg, e) => errors.push(e),
    log,
  });
  relay.start();
});

afterAll(() => {
  relay.stop();
  httpProxy.stop();
  socksProxy.stop();
  target.stop(true);
});

/** Sends raw bytes to the relay; resolves with everything received until the relay closes. */
async function raw(request: string, then?: { after: string; send: string }): Promise<string> {
  let got = "";
  let sent = false;
  return new Promise((resolve, reject) => {
    void Bun.connect({
      hostname: "127.0.0.1",
      port: relay.port!,
      socket: {
        open(s) {
          s.write(request);
        },
        data(s, chunk) {
          got += chunk.toString("latin1");
          if (then && !sent && got.includes(then.after)) {
            sent = true;
            s.write(then.send);
          }
        },
        close() {
          resolve(got);
        },
        error(_s, err) {
          reject(err);
        },
      },
    });
  });
}

const body = (res: string) => JSON.parse(res.slice(res.indexOf("\r\n\r\n") + 4));
const get = (host: string, path: string) => `GET http://${host}:${target.port}${path} HTTP/1.1\r\nHost: ${host}:${target.port}\r\nProxy-Connection: keep-alive\r\n\r\n`;

describe("proxy relay", () => {
  test("a connection from an address no session registered gets 403 and is closed", async () => {
    relay.unregister("ses_1");
    const res = await raw(get("pages.test", "/x"));
    expect(res).toStartWith("HTTP/1.1 403");
    expect(hits).not.toContain("/x");
  });

  test("absolute-form through the HTTP proxy: credentials added by the relay, Connection: close, bytes counted", async () => {
    relay.register("127.0.0.1", { sessionId: "ses_1", poolId: "pool_1", workerId: "wrk_1", proxyId: "prx_h" });
    routes = () => ({ kind: "proxy", proxy: http() });
    const res = await raw(get("pages.test", "/via-http"));
    expect(res).toStartWith("HTTP/1.1 200");
    expect(res.toLowerCase()).toContain("connection: close");
    expect(body(res)).toMatchObject({ path: "/via-http", proxy: "http", auth: null });
    expect(httpProxy.log).toContain(`GET http://pages.test:${target.port}/via-http`);
    const counts = relay.takeCounts();
    expect(counts).toHaveLength(1);
    expect(counts[0]!.sent).toBeGreaterThan(50);
    expect(counts[0]!.received).toBeGreaterThan(1000);
    expect(relay.takeCounts()).toEqual([]);
  });

  test("CONNECT through the HTTP proxy: a tunnel to the target", async () => {
    routes = () => ({ kind: "proxy", proxy: http() });
    const res = await raw(`CONNECT pages.test:${target.port} HTTP/1.1\r\nHost: pages.test:${target.port}\r\n\r\n`, {
      after: "\r\n\r\n",
      send: `GET /tunnel HTTP/1.1\r\nHost: pages.test\r\nConnection: close\r\n\r\n`,
    });
    expect(res).toStartWith("HTTP/1.1 200 Connection Established\r\n\r\nHTTP/1.1 200");
    expect(res).toContain(`"path":"/tunnel"`);
    expect(httpProxy.log).toContain(`CONNECT pages.test:${target.port}`);
  });

  test("through SOCKS5: the name goes to the proxy (ATYP 3), plain http and CONNECT", async () => {
    routes = () => ({ kind: "proxy", proxy: socks() });
    const res = await raw(get("socks.test", "/via-socks"));
    expect(body(res)).toMatchObject({ path: "/via-socks", proxy: null });
    expect(socksProxy.log).toContain(`CONNECT socks.test:${target.port} atyp=3`);
    const tunnel = await raw(`CONNECT socks.test:${target.port} HTTP/1.1\r\n\r\n`, { after: "\r\n\r\n", send: `GET /socks-tunnel HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n` });
    expect(tunnel).toContain(`"path":"/socks-tunnel"`);
  });

  test("direct to a private address is refused (403, event, nothing reaches the target) unless directAllowed says yes", async () => {
    routes = () => ({ kind: "direct" });
    allowDirect = false;
    const refused = await raw(get("127.0.0.1", "/direct-refused"));
    expect(refused).toStartWith("HTTP/1.1 403");
    expect(refused).toContain("refused: loopback address of the BrowserGrid host");
    expect(hits).not.toContain("/direct-refused");
    expect(errors.at(-1)).toMatchObject({ code: "blocked", target: `127.0.0.1:${target.port}` });

    allowDirect = true;
    const ok = await raw(get("127.0.0.1", "/direct-ok"));
    expect(body(ok)).toMatchObject({ path: "/direct-ok", proxy: null });
    allowDirect = false;
  });

  test("wrong upstream credentials: a 502 that names the proxy, never a 407 to the browser", async () => {
    routes = () => ({ kind: "proxy", proxy: { ...http(), password: "wrong" } });
    const plain = await raw(get("pages.test", "/wrong"));
    expect(plain).toStartWith("HTTP/1.1 502");
    expect(plain).toContain(`Proxy "h" rejected the credentials`);
    expect(plain).not.toContain("407 Proxy Authentication Required\r\n");
    const tunnel = await raw(`CONNECT pages.test:${target.port} HTTP/1.1\r\n\r\n`);
    expect(tunnel).toStartWith("HTTP/1.1 502");
    expect(errors.some((e) => e.code === "auth_failed" && !e.message.includes("wrong"))).toBe(true);
    expect(hits).not.toContain("/wrong");
  });
});

describe("credentials check", () => {
  test("accepts right credentials, tells wrong ones and dead proxies apart", async () => {
    await checkProxy(http(), 5000);
    await checkProxy(socks(), 5000);
    for (const p of [{ ...http(), password: "nope" }, { ...socks(), password: "nope" }, { ...http(), username: undefined, password: undefined }]) {
      const err = await checkProxy(p, 5000).catch((e) => e);
      expect(err).toBeInstanceOf(UpstreamError);
      expect(err.code).toBe("auth_failed");
      expect(err.message).not.toContain("nope");
    }
    const dead = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = dead.port;
    dead.stop(true);
    const err = await checkProxy({ ...http(), port }, 5000).catch((e) => e);
    expect(err.code).toBe("unreachable");
  });
});
