// The proxy relay's direct routes refuse exactly what the egress guard refuses, with real
// Chromium in a real container started by BrowserGrid and driven by Playwright through the
// gateway. The host sits on a connected subnet that is not a private range (TEST-NET-2 on a
// veth, as a VPS sits in a public /24): through a proxy whose routes send those addresses
// `direct`, the host's own non-loopback address, a neighbour on its connected subnet and the
// same neighbour spelled as an IPv4-mapped IPv6 address are refused (403 from the relay, and the
// listeners' logs prove nothing arrived), while the allow-listed neighbour and a "public"
// address are reached. The same targets without a proxy meet the packet guard with the same
// outcome: one definition, two enforcers.
//
// Isolation: own Docker network and nftables table; its own namespace and addresses
// (test/helpers/connected-subnet.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chromium, type Browser, type BrowserContext } from "playwright-core";
import { docker, startGrid, type Grid } from "../helpers/grid";
import { startConnectedSubnet, SUBNET, type ConnectedSubnet } from "../helpers/connected-subnet";
import { startHttpProxy, type TestProxy } from "../helpers/test-proxies";

const NETWORK = "browsergrid-relay-e2e";
const TABLE = "bgrelay_e2e";
const MAPPED = "::ffff:c633:640a"; // SUBNET.neighbour as an IPv4-mapped IPv6 address
const root = process.getuid?.() === 0;
if (!root) console.warn("relay-direct.e2e: skipped — these tests need root (network namespaces and nftables)");

let grid: Grid;
let subnet: ConnectedSubnet;
let upstream: TestProxy;
let hostListener: import("bun").TCPSocketListener<undefined>;
const hostLog: string[] = [];
const browsers: Browser[] = [];

async function contextOf(body: Record<string, unknown>): Promise<BrowserContext> {
  const s = await grid.api("POST", "/api/v1/sessions", { keepAlive: true, ...body });
  if (s.status !== 201) throw new Error(`session create: ${s.status} ${JSON.stringify(s.body)}`);
  const browser = await chromium.connectOverCDP(s.body.cdpUrl);
  browsers.push(browser);
  return browser.contexts()[0]!;
}

/** The status and text of a navigation in a fresh tab (no error page of an earlier one in the way), or Chromium's error. */
async function visit(ctx: BrowserContext, url: string): Promise<{ status: number; text: string } | { error: string }> {
  const page = await ctx.newPage();
  try {
    return await page.goto(url, { timeout: 15_000 }).then(
      async (res) => ({ status: res!.status(), text: await res!.text() }),
      (e: Error) => ({ error: e.message.split("\n")[0]! }),
    );
  } finally {
    await page.close();
  }
}

beforeAll(async () => {
  if (!root) return;
  Bun.spawnSync(["nft", "delete", "table", "inet", TABLE]);
  // Before the grid starts: the guard reads the host's connected subnets when it installs.
  subnet = await startConnectedSubnet();
  hostListener = Bun.listen({
    hostname: SUBNET.host,
    port: 0,
    socket: {
      open(s) {
        hostLog.push(`connection from ${s.remoteAddress}`);
      },
      data(s) {
        s.end("HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\nhost");
      },
    },
  });
  upstream = startHttpProxy({ username: "carol", password: "relay-e2e" });
  grid = await startGrid({ env: { BROWSERGRID_DOCKER_NETWORK: NETWORK, BROWSERGRID_EGRESS_TABLE: TABLE, BROWSERGRID_EGRESS_ALLOW: "" } });
  const proxy = await grid.api("POST", "/api/v1/proxies", {
    name: "edge",
    url: `http://carol:relay-e2e@127.0.0.1:${upstream.port}`,
    routes: [{ domains: [SUBNET.host, SUBNET.neighbour, SUBNET.allowed, SUBNET.public, MAPPED], via: "direct" }],
  });
  expect(proxy.status).toBe(201);
  const pool = await grid.api("PATCH", "/api/v1/pools/default", { egressAllow: [`${SUBNET.allowed}:80`] });
  expect(pool.status).toBe(200);
}, 120_000);

afterAll(async () => {
  if (!root) return;
  for (const b of browsers) await b.close().catch(() => {});
  await grid?.dispose();
  await subnet?.stop();
  hostListener?.stop(true);
  upstream?.stop();
  Bun.spawnSync(["nft", "delete", "table", "inet", TABLE]);
  await docker.getNetwork(NETWORK).remove().catch(() => {});
}, 60_000);

describe.skipIf(!root)("direct routes of the proxy relay and the egress guard agree", () => {
  test("through the relay: the host's own address and its connected subnet are refused; the allow-listed neighbour and a public address are reached", async () => {
    const ctx = await contextOf({ proxy: "edge" });

    for (const url of [`http://${SUBNET.host}:${hostListener.port}/`, `http://${SUBNET.neighbour}/`, `http://[${MAPPED}]/`]) {
      const r = await visit(ctx, url);
      expect([url, r]).toEqual([url, { status: 403, text: expect.stringContaining("refused") }]);
    }
    expect(hostLog).toEqual([]);
    expect(subnet.logs()[SUBNET.neighbour]).toBeUndefined();

    expect(await visit(ctx, `http://${SUBNET.allowed}/`)).toEqual({ status: 200, text: expect.stringContaining(`listener ${SUBNET.allowed}`) });
    expect(await visit(ctx, `http://${SUBNET.public}/`)).toEqual({ status: 200, text: expect.stringContaining(`listener ${SUBNET.public}`) });
    // Reached directly from the host (the relay), not through the user's proxy.
    expect(subnet.logs()[SUBNET.allowed]).toEqual([`connection from ${SUBNET.host}`]);
    expect(upstream.log.some((l) => l.includes(SUBNET.allowed) || l.includes(SUBNET.public))).toBe(false);
  }, 120_000);

  test("without a proxy the packet guard gives the same answers for the same targets", async () => {
    const count = (addr: string) => subnet.logs()[addr]?.length ?? 0;
    const before = { host: hostLog.length, neighbour: count(SUBNET.neighbour), allowed: count(SUBNET.allowed) };
    const ctx = await contextOf({ proxy: null });
    for (const url of [`http://${SUBNET.host}:${hostListener.port}/`, `http://${SUBNET.neighbour}/`]) {
      const r = await visit(ctx, url);
      expect([url, "error" in r]).toEqual([url, true]);
    }
    expect(hostLog.length).toBe(before.host);
    expect(count(SUBNET.neighbour)).toBe(before.neighbour);
    expect(await visit(ctx, `http://${SUBNET.allowed}/`)).toEqual({ status: 200, text: expect.stringContaining(`listener ${SUBNET.allowed}`) });
    expect(await visit(ctx, `http://${SUBNET.public}/`)).toEqual({ status: 200, text: expect.stringContaining(`listener ${SUBNET.public}`) });
    expect(count(SUBNET.allowed)).toBe(before.allowed + 1);
  }, 120_000);
});
