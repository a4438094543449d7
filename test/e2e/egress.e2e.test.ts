// The egress guard with real Chromium in real containers, driven by Playwright through
// BrowserGrid: every private destination fails — by IP, by name, by rebinding name, in numeric
// spellings, over WebRTC/STUN and QUIC — and this is proven by the destination listeners' logs
// staying empty, while the allow-listed ip:port and a "public" address are reached (their logs
// show the requests, so the method can see traffic when there is some). Then fail closed: with
// the table deleted no session starts and nothing is left behind; and an SSH worker installs the
// guard through the Docker API alone. A session with a proxy sends no WebRTC/STUN or
// QUIC/WebTransport UDP past it (the public listener's UDP logs stay empty), while the same
// attempt without a proxy arrives.
//
// Isolation: this grid uses its own Docker network and nftables table (BROWSERGRID_DOCKER_NETWORK,
// BROWSERGRID_EGRESS_TABLE), so deleting its table or narrowing its allow-list never touches
// another BrowserGrid running tests on this machine.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { networkInterfaces } from "node:os";
import { chromium, type Browser, type Page } from "playwright-core";
import { docker, installIdOf, startGrid, waitFor, type Grid } from "../helpers/grid";
import { ADDR, HOST_SIDE, startPrivateNet, type PrivateNet } from "../helpers/private-net";
import { startSshd, sshdAvailable, type Sshd } from "../helpers/sshd";
import { startHttpProxy, type TestProxy } from "../helpers/test-proxies";

const TABLE = "bgegress_e2e";
const NETWORK = "browsergrid-egress-e2e";
const ALLOWED = `${ADDR.cgnat}:80`;
const root = process.getuid?.() === 0;
if (!root) console.warn("egress.e2e: skipped — these tests need root (network namespaces and nftables)");

let grid: Grid;
let net: PrivateNet;
let sshd: Sshd | undefined;
let hostServer: import("bun").TCPSocketListener<undefined>;
const hostServerLog: string[] = [];
let gateway: string;
let upstream: TestProxy | undefined;

function nft(...args: string[]) {
  const p = Bun.spawnSync(["nft", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}

async function containersOfWorker(workerId: string): Promise<string[]> {
  return (await docker.listContainers({ all: true, filters: { label: [`browsergrid.worker=${workerId}`] } })).map((c) => c.Id).sort();
}

async function newSession(): Promise<{ id: string; cdpUrl: string; worker: string }> {
  const s = await grid.api("POST", "/api/v1/sessions", { keepAlive: true });
  expect(s.status).toBe(201);
  return s.body;
}

async function pageOf(cdpUrl: string): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.connectOverCDP(cdpUrl);
  const ctx = browser.contexts()[0]!;
  return { browser, page: ctx.pages()[0] ?? (await ctx.newPage()) };
}

/** A navigation that must fail; returns Chromium's error (the listeners' logs are the proof). */
async function gotoFails(page: Page, url: string): Promise<string> {
  const err = await page.goto(url, { timeout: 8_000 }).then(
    () => null,
    (e: Error) => e.message.split("\n")[0]!,
  );
  if (err === null) throw new Error(`${url} loaded, but the egress guard should have refused it`);
  return err;
}

/**
 * WebRTC with a STUN server and a WebTransport (HTTP/3 over QUIC) connection to `ip`, from a
 * secure context (Chromium's DevTools endpoint on the container's loopback, never proxied).
 */
async function udpAttempts(page: Page, ip: string): Promise<{ candidates: string[]; webTransport: string }> {
  await page.goto("http://127.0.0.1:9223/json/version");
  return page.evaluate(async (ip) => {
    const pc = new RTCPeerConnection({ iceServers: [{ urls: `stun:${ip}:3478` }] });
    const candidates: string[] = [];
    pc.onicecandidate = (e) => e.candidate && candidates.push(e.candidate.candidate);
    pc.createDataChannel("x");
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((r) => {
      pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && r();
      setTimeout(r, 4000);
    });
    pc.close();
    const W = (globalThis as unknown as { WebTransport?: new (u: string) => { ready: Promise<void> } }).WebTransport;
    const webTransport = !W
      ? "no WebTransport"
      : await Promise.race([
          new W(`https://${ip}:443/`).ready.then(() => "ok", (e) => `error: ${e}`),
          new Promise<string>((r) => setTimeout(() => r("timeout"), 4000)),
        ]);
    return { candidates, webTransport };
  }, ip);
}

beforeAll(async () => {
  if (!root) return;
  Bun.spawnSync(["nft", "delete", "table", "inet", TABLE]);
  net = await startPrivateNet();
  hostServer = Bun.listen({
    hostname: "0.0.0.0",
    port: 0,
    socket: {
      open(s) {
        hostServerLog.push(`connection from ${s.remoteAddress}`);
        s.end();
      },
      data() {},
    },
  });
  grid = await startGrid({
    env: {
      BROWSERGRID_HOST: "0.0.0.0", // BrowserGrid's own port is reachable on every host address unless the guard refuses it
      BROWSERGRID_EGRESS_ALLOW: ALLOWED,
      BROWSERGRID_BROWSER_DNS: ADDR.dns,
      BROWSERGRID_DOCKER_NETWORK: NETWORK,
      BROWSERGRID_EGRESS_TABLE: TABLE,
    },
  });
  const first = await newSession(); // creates the network
  await grid.api("DELETE", `/api/v1/sessions/${first.id}`);
  gateway = (await docker.getNetwork(NETWORK).inspect()).IPAM?.Config?.[0]?.Gateway ?? "";
  expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
}, 90_000);

afterAll(async () => {
  if (!root) return;
  await grid?.dispose();
  await net?.stop();
  await sshd?.stop();
  hostServer?.stop(true);
  upstream?.stop();
  Bun.spawnSync(["nft", "delete", "table", "inet", TABLE]);
  await docker.getNetwork(NETWORK).remove().catch(() => {});
}, 60_000);

describe.skipIf(!root)("egress guard", () => {
  test("private destinations fail by every route, proven by empty listener logs; the allow-listed ip:port and public addresses are reached", async () => {
    const listing = nft("list", "table", "inet", TABLE);
    expect(listing.code).toBe(0);
    expect(listing.out).toContain(`"bg-egress-e2e"`);

    const other = await newSession(); // another session's browser: its relay must be out of reach
    const otherIp = (await docker.listContainers({ filters: { label: [`browsergrid.session=${other.id}`] } }))[0]!.NetworkSettings.Networks[NETWORK]!.IPAddress;
    expect((await fetch(`http://${otherIp}:9222/json/version`)).ok).toBe(true); // reachable from the host: a failure below is the guard

    const s = await newSession();
    const { browser, page } = await pageOf(s.cdpUrl);
    const eth0 = Object.entries(networkInterfaces()).flatMap(([name, a]) => (name === "eth0" ? (a ?? []) : [])).find((a) => a.family === "IPv4")?.address;
    const gridPort = new URL(grid.url).port;
    const marker = `/egress-probe-${crypto.randomUUID()}`;
    const hostPort = hostServer.port;
    try {
      // Reached: the public listener and the allow-listed ip:port.
      await page.goto(`http://${ADDR.public}/`);
      expect(await page.textContent("#who")).toBe(`listener ${ADDR.public}:80`);
      await page.goto(`http://${ALLOWED}/`);
      expect(await page.textContent("#who")).toBe(`listener ${ALLOWED}`);

      const refused: Record<string, string> = {};
      const targets = [
        // private listeners by IP (forward hook)
        `http://${ADDR.ten}/`,
        `https://${ADDR.ten}/`,
        `http://${ADDR.lan}/`,
        `https://${ADDR.lan}/`,
        `https://${ADDR.cgnat}/`, // the allowed address, but not on this port
        `http://${ADDR.metadata}/latest/meta-data/`,
        // by name: the fake DNS answers private addresses
        "http://intranet.test/",
        "http://ten.test/",
        "http://meta.test/latest/meta-data/",
        "https://cgnat.test/",
        // numeric spellings
        "http://3232299530/", // 192.168.250.10 as one decimal number
        "http://184156426/", // 10.250.1.10
        "http://0xC0A8FA0A/",
        "http://0300.0250.0372.012/",
        `http://[::ffff:${ADDR.ten}]/`,
        `http://[::ffff:${ADDR.lan}]/`,
        // the Docker host on every address (input hook), a host server on 0.0.0.0 and BrowserGrid itself
        `http://${gateway}:${hostPort}/`,
        `http://172.17.0.1:${hostPort}/`,
        ...(eth0 ? [`http://${eth0}:${hostPort}/`] : []),
        `http://${HOST_SIDE}:${hostPort}/`,
        `http://${gateway}:${gridPort}${marker}`,
        ...(eth0 ? [`http://${eth0}:${gridPort}${marker}`] : []),
        `http://${gateway}:2375/`, // the Docker API, were it on TCP
        // another session's container
        `http://${otherIp}:9222/json/version`,
      ];
      for (const url of targets) refused[url] = await gotoFails(page, url);

      // Rebinding: the first answer is public (reached), later ones private (refused).
      // Each browser context has its own DNS cache, so the second one asks again.
      for (const path of ["/", "/again"]) {
        const fresh = await browser.newContext();
        await (await fresh.newPage()).goto(`http://rebind.test${path}`, { timeout: 8_000 }).catch(() => {});
        await fresh.close();
      }

      // In-page attempts from a public page: fetch, iframe, WebSocket. Then WebRTC (STUN over
      // UDP) and QUIC (WebTransport, which needs a secure context); the
      // public address gets the same UDP attempts as a control.
      const inPageTab = await page.context().newPage();
      await inPageTab.goto(`http://${ADDR.public}/`);
      const udpTab = await page.context().newPage();
      // A loopback origin is a secure context; Chromium's own DevTools endpoint in the container is one.
      await udpTab.goto("http://127.0.0.1:9223/json/version");
      const settleSrc = `(p, ms) => Promise.race([p.then(() => "ok", (e) => "error: " + e), new Promise((r) => setTimeout(() => r("timeout"), ms))])`;
      const inPage = await inPageTab.evaluate(
        async ({ priv, settleSrc }) => {
          const settle = (0, eval)(settleSrc) as (p: Promise<unknown>, ms: number) => Promise<string>;
          const out: Record<string, string> = {};
          for (const ip of priv) {
            out[`fetch ${ip}`] = await settle(fetch(`http://${ip}/`, { mode: "no-cors" }), 4000);
            out[`fetch rebind`] = await settle(fetch(`http://rebind.test/x`, { mode: "no-cors" }), 4000);
            const f = document.createElement("iframe");
            f.src = `http://${ip}/`;
            document.body.append(f);
            out[`ws ${ip}`] = await settle(
              new Promise((resolve, reject) => {
                const ws = new WebSocket(`ws://${ip}:443/`);
                ws.onopen = resolve;
                ws.onerror = reject;
              }),
              4000,
            );
          }
          return out;
        },
        { priv: [ADDR.ten, ADDR.lan, ADDR.metadata], settleSrc },
      );
      const udp = await udpTab.evaluate(
        async ({ priv, pub, settleSrc }) => {
          const settle = (0, eval)(settleSrc) as (p: Promise<unknown>, ms: number) => Promise<string>;
          const out: Record<string, string> = { secureContext: String(isSecureContext) };
          const stun = async (ip: string) => {
            const pc = new RTCPeerConnection({ iceServers: [{ urls: `stun:${ip}:3478` }] });
            pc.createDataChannel("x");
            await pc.setLocalDescription(await pc.createOffer());
            await new Promise<void>((r) => {
              pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && r();
              setTimeout(r, 4000);
            });
            pc.close();
            return "gathered";
          };
          const quic = async (ip: string) => {
            const W = (globalThis as unknown as { WebTransport?: new (u: string) => { ready: Promise<void>; close(): void } }).WebTransport;
            if (!W) return "no WebTransport";
            return settle(new W(`https://${ip}:443/`).ready, 4000);
          };
          for (const ip of [...priv, pub]) {
            out[`stun ${ip}`] = await stun(ip);
            out[`quic ${ip}`] = await quic(ip);
          }
          return out;
        },
        { priv: [ADDR.ten, ADDR.lan, ADDR.metadata], pub: ADDR.public, settleSrc },
      );
      await Bun.sleep(500); // let the listeners write what reached them

      const logs = net.logs();
      const reached = Object.keys(logs).filter((f) => f !== "dns.log");
      // The proof: nothing arrived at any private listener except the allow-listed ip:port.
      expect(reached.filter((f) => !f.includes(ADDR.public) && f !== `tcp-${ADDR.cgnat}-80.log`)).toEqual([]);
      // And the method sees traffic when there is some: TCP, STUN/UDP and QUIC/UDP to the public address, the allowed ip:port.
      expect(reached).toContain(`tcp-${ADDR.public}-80.log`);
      expect(reached).toContain(`tcp-${ADDR.cgnat}-80.log`);
      expect(reached).toContain(`udp-${ADDR.public}-3478.log`);
      expect(udp[`quic ${ADDR.public}`]).not.toBe("no WebTransport");
      expect(reached).toContain(`udp-${ADDR.public}-443.log`);
      // The names were asked (so the name routes were really tried) and rebinding answered privately too.
      expect(logs["dns.log"]!.some((l) => l.includes("intranet.test → 192.168.250.10"))).toBe(true);
      expect(logs["dns.log"]!.filter((l) => l.startsWith("A rebind.test")).slice(0, 2)).toEqual([`A rebind.test → ${ADDR.public}`, `A rebind.test → ${ADDR.lan}`]);
      // The Docker host: nothing reached the host server or BrowserGrid's port.
      expect(hostServerLog).toEqual([]);
      expect(grid.output()).not.toContain(marker);
      const control = await fetch(`http://127.0.0.1:${gridPort}${marker}`); // BrowserGrid logs requests: the check above can see one
      expect(control.status).toBe(404);
      await Bun.sleep(100);
      expect(grid.output()).toContain(marker);
      console.log("refused:", JSON.stringify(refused, null, 1).slice(0, 3000), "\nin-page:", JSON.stringify({ ...inPage, ...udp }));
    } finally {
      await browser.close().catch(() => {});
      await grid.api("DELETE", `/api/v1/sessions/${s.id}`);
      await grid.api("DELETE", `/api/v1/sessions/${other.id}`);
    }
  }, 240_000);

  test.each(["headless-shell", "chromium"])("%s: with a proxy no WebRTC/STUN or QUIC/WebTransport UDP leaves the container; without one the same attempt arrives", async (flavour) => {
    if (!upstream) {
      upstream = startHttpProxy({ username: "egress", password: "egress-pw" });
      const created = await grid.api("POST", "/api/v1/proxies", { name: "egress-upstream", url: `http://egress:egress-pw@127.0.0.1:${upstream.port}` });
      expect(created.status).toBe(201);
    }
    const udpLogs = () => Object.keys(net.logs()).filter((f) => f.startsWith("udp-"));

    const proxied = await grid.api("POST", "/api/v1/sessions", { keepAlive: true, browser: flavour, proxy: "egress-upstream" });
    expect(proxied.status).toBe(201);
    const p = await pageOf(proxied.body.cdpUrl);
    try {
      // Page traffic takes the proxy (its log shows it), so the session really runs with one.
      await p.page.goto(`http://${ADDR.public}/`);
      expect(await p.page.textContent("#who")).toBe(`listener ${ADDR.public}:80`);
      expect(upstream.log).toContain(`GET http://${ADDR.public}/`);
      net.clearLogs();
      const withProxy = await udpAttempts(p.page, ADDR.public);
      console.log(`${flavour} with proxy:`, JSON.stringify(withProxy));
      await Bun.sleep(500); // let the listeners write what reached them
      expect(udpLogs()).toEqual([]);
      expect(withProxy.webTransport).not.toBe("no WebTransport");
      expect(withProxy.webTransport).not.toBe("ok");
    } finally {
      await p.browser.close().catch(() => {});
      await grid.api("DELETE", `/api/v1/sessions/${proxied.body.id}`);
    }

    // The control: the same attempts from a session without a proxy reach the public listener.
    const created = await grid.api("POST", "/api/v1/sessions", { keepAlive: true, browser: flavour });
    expect(created.status).toBe(201);
    const direct: { id: string; cdpUrl: string } = created.body;
    const d = await pageOf(direct.cdpUrl);
    try {
      net.clearLogs();
      console.log(`${flavour} without proxy:`, JSON.stringify(await udpAttempts(d.page, ADDR.public)));
      await Bun.sleep(500);
      expect(udpLogs()).toContain(`udp-${ADDR.public}-3478.log`);
      expect(udpLogs()).toContain(`udp-${ADDR.public}-443.log`);
    } finally {
      await d.browser.close().catch(() => {});
      await grid.api("DELETE", `/api/v1/sessions/${direct.id}`);
    }
  }, 120_000);

  test("a pool's allow-list change re-applies the guard at once", async () => {
    const upd = await grid.api("PATCH", "/api/v1/pools/default", { egressAllow: [`${ADDR.ten}:443`] });
    expect(upd.status).toBe(200);
    expect(nft("list", "table", "inet", TABLE).out).toContain(`ip daddr ${ADDR.ten} meta l4proto { tcp, udp } th dport 443 accept`);
    net.clearLogs();
    const s = await newSession();
    const { browser, page } = await pageOf(s.cdpUrl);
    try {
      await page.goto(`https://${ADDR.ten}/`, { timeout: 8_000 }).catch(() => {}); // no TLS there: the connection is what counts
      await gotoFails(page, `http://${ADDR.ten}/`); // port 80 of that address stays closed
      await Bun.sleep(300);
      const logs = net.logs();
      expect(logs[`tcp-${ADDR.ten}-443.log`]?.[0]).toContain("connection from");
      expect(logs[`tcp-${ADDR.ten}-80.log`]).toBeUndefined();
    } finally {
      await browser.close().catch(() => {});
      await grid.api("DELETE", `/api/v1/sessions/${s.id}`);
      expect((await grid.api("PATCH", "/api/v1/pools/default", { egressAllow: [] })).status).toBe(200);
    }
    expect(nft("list", "table", "inet", TABLE).out).not.toContain(`ip daddr ${ADDR.ten}`);
  }, 60_000);

  test("fail closed: with the table deleted, POST /sessions answers 503 egress_guard_missing and leaves no container; an admin re-applies it", async () => {
    const local = (await grid.api("GET", "/api/v1/workers")).body.workers.find((w: { kind: string }) => w.kind === "docker");
    expect(local.egressGuard.state).toBe("ok");
    const before = await containersOfWorker(local.id);
    expect(nft("delete", "table", "inet", TABLE).code).toBe(0);
    // A verification younger than 1 s stands for a session's acceptance (guard.ts,
    // LOCAL_SESSION_MAX_AGE_MS); while sessions are being accepted it is renewed in the background.
    await Bun.sleep(1_100);

    const res = await grid.api("POST", "/api/v1/sessions", {});
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("egress_guard_missing");
    expect(res.body.error.message).toContain("egress-guard");
    const added = async () => (await containersOfWorker(local.id)).filter((id) => !before.includes(id));
    expect(await added()).toEqual([]);
    // Not re-installed by itself: the heartbeat sees it missing and keeps refusing.
    await Bun.sleep(5_500);
    expect(nft("list", "table", "inet", TABLE).code).not.toBe(0);
    const w = (await grid.api("GET", `/api/v1/workers/${local.id}`)).body;
    expect(w.egressGuard.state).toBe("missing");
    expect((await grid.api("POST", "/api/v1/sessions", {})).status).toBe(503);
    expect(await added()).toEqual([]);

    const again = await grid.api("POST", `/api/v1/workers/${local.id}/egress-guard`);
    expect(again.status).toBe(200);
    expect(again.body.egressGuard.state).toBe("ok");
    expect(nft("list", "table", "inet", TABLE).code).toBe(0);
    const s = await grid.api("POST", "/api/v1/sessions", {});
    expect(s.status).toBe(201);
    await grid.api("DELETE", `/api/v1/sessions/${s.body.id}`);
  }, 60_000);

  test.skipIf(!sshdAvailable())("an SSH worker installs the guard through the Docker API with a helper container that is gone afterwards", async () => {
    sshd = await startSshd();
    nft("delete", "table", "inet", TABLE);
    expect(nft("list", "table", "inet", TABLE).code).not.toBe(0);
    const added = await grid.api("POST", "/api/v1/workers", { endpoint: sshd.endpoint, name: "remote-guarded", sshPrivateKey: sshd.privateKey });
    expect(added.status).toBe(201);
    expect(added.body.egressGuard).toMatchObject({ state: "ok", reason: null });
    const listing = nft("list", "table", "inet", TABLE);
    expect(listing.code).toBe(0);
    expect(listing.out).toContain(`"bg-egress-e2e"`);
    expect(listing.out).toContain("browsergrid: reject the rest");
    // Gone after its run (the heartbeat's verification runs a new one every 5 s for a moment, hence the wait for none).
    const install = installIdOf(grid.dataDir);
    await waitFor("no helper container", async () => (await docker.listContainers({ all: true, filters: { label: ["browsergrid.helper=egress-guard", `browsergrid.install=${install}`] } })).length === 0, 10_000);
  }, 90_000);
});
