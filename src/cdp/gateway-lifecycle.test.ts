// Who may connect, how connections end, quick connect, and what the gateway puts on the wire
// to the browser (checked against a scripted raw-TCP stand-in for Chromium).
import { afterAll, beforeAll, setDefaultTimeout, describe, expect, test } from "bun:test";
import { chromium } from "playwright-core";
import { startChromium, type HostChromium } from "../../test/helpers/chromium";
import { setLogLevel, setLogSink } from "../lib/logger";
import { OP_CONTINUATION, OP_TEXT, clientFrame } from "./frames";
import { CdpSocket, RawClient, startFakeBrowser, startFixture, type FakeBrowser, type Fixture } from "./test-fixture";

setDefaultTimeout(60_000);
let browser: HostChromium;
let fake: FakeBrowser;
let fx: Fixture;
const TOKEN = "tok-life-secret-9f8e7d";

beforeAll(async () => {
  browser = await startChromium();
  fake = startFakeBrowser();
  fx = await startFixture({ host: browser.host, port: browser.port });
  fx.addSession("s1", TOKEN, { host: browser.host, port: browser.port });
  fx.addSession("fake", TOKEN, { host: "127.0.0.1", port: fake.port });
});
afterAll(async () => {
  await fx?.stop();
  fake?.stop();
  await browser?.stop();
});

describe("authorization", () => {
  test("wrong or missing token → 401 before any upgrade, no browser connection opened; unknown session → 404; tokens never logged", async () => {
    const lines: string[] = [];
    setLogLevel("debug");
    setLogSink((l) => lines.push(l));
    try {
      const cases: [string, number][] = [
        ["/cdp/fake?token=wrong", 401],
        ["/cdp/fake", 401],
        ["/cdp/fake/devtools/page/ABC?token=wrong", 401],
        ["/cdp/nosuch?token=" + TOKEN, 404],
        ["/connect?token=bg_bad_key", 401],
      ];
      for (const [path, status] of cases) {
        const c = await RawClient.open(fx.port, path);
        await c.waitFor(() => c.head.includes("}"));
        expect(c.status).toBe(status);
        const body = JSON.parse(c.head.slice(c.head.indexOf("{")));
        expect(body.error.code).toBe(status === 401 ? "unauthorized" : "not_found");
        c.socket.end();
      }
      for (const [path, status] of [
        ["/cdp/fake/json/version?token=wrong", 401],
        ["/cdp/fake/json/list", 401],
        ["/cdp/nosuch/json/version?token=x", 404],
        ["/connect/json/version?token=bg_bad_key", 401],
        ["/cdp/fake/json/nonsense?token=" + TOKEN, 404],
      ] as const) {
        const res = await fetch(fx.base + path);
        expect(res.status).toBe(status);
      }
      expect(fake.connections).toBe(0);
      expect(fx.gw.stats().connecting).toBe(0);
      // A successful connection logs too: still no token anywhere.
      const ok = await CdpSocket.open(`ws://127.0.0.1:${fx.port}/cdp/s1?token=${TOKEN}`);
      ok.close();
      await ok.closed;
      await Bun.sleep(20);
    } finally {
      setLogSink((l) => process.stdout.write(l + "\n"));
      setLogLevel("error");
    }
    expect(lines.some((l) => l.includes("cdp client connected"))).toBe(true);
    expect(lines.join("\n")).not.toContain(TOKEN);
    expect(lines.join("\n")).not.toContain("bg_bad_key");
  });

  test("requests that are not the gateway's fall through to the app", async () => {
    expect(await (await fetch(fx.base + "/api/v1/sessions")).text()).toBe("not found");
    expect((await fetch(fx.base + "/cdp/s1?token=" + TOKEN)).status).toBe(426);
  });
});

describe("ending connections", () => {
  test("closeSession closes every client with its code and reason", async () => {
    fx.log.clients.length = 0;
    const [a, b] = await Promise.all([1, 2].map(() => CdpSocket.open(`ws://127.0.0.1:${fx.port}/cdp/s1?token=${TOKEN}`)));
    expect(fx.gw.clientCount("s1")).toBe(2);
    fx.gw.closeSession("s1", 4000, "session ended: timed_out");
    const [ca, cb] = await Promise.all([a!.closed, b!.closed]);
    expect(ca).toEqual({ code: 4000, reason: "session ended: timed_out" });
    expect(cb).toEqual({ code: 4000, reason: "session ended: timed_out" });
    expect(fx.gw.clientCount("s1")).toBe(0);
    expect(fx.log.clients.at(-1)).toEqual(["s1", 0]);
  });

  test("Chromium killed → the client is closed within a second with 1011", async () => {
    const victim = await startChromium();
    fx.addSession("victim", TOKEN, { host: victim.host, port: victim.port });
    try {
      const c = await CdpSocket.open(`ws://127.0.0.1:${fx.port}/cdp/victim?token=${TOKEN}`);
      await c.call({ id: 1, method: "Browser.getVersion" });
      victim.kill();
      const closed = await c.closed;
      expect(closed).toEqual({ code: 1011, reason: "browser connection closed" });
      expect(fx.gw.clientCount("victim")).toBe(0);
      // The browser is gone: a new client gets a clean 502 instead of an open-then-close.
      const r = await RawClient.open(fx.port, `/cdp/victim?token=${TOKEN}`);
      expect(r.status).toBe(502);
      r.socket.end();
    } finally {
      await victim.stop();
    }
  });
});

describe("quick connect", () => {
  test("ws:// /connect creates a session when the WebSocket opens; params are passed without the key", async () => {
    fx.log.quick.length = 0;
    const b = await chromium.connectOverCDP(`ws://127.0.0.1:${fx.port}/connect?token=bg_good_key&pool=p1&timeout=60`);
    const page = await b.newPage();
    expect(await page.evaluate(() => 1 + 2)).toBe(3);
    expect(fx.log.quick).toEqual([{ apiKey: "bg_good_key", params: "pool=p1&timeout=60" }]);
    await b.close();
  });

  test("http:// /connect: json/version answers without creating a session; the ws URL keeps the query", async () => {
    fx.log.quick.length = 0;
    const v = (await (await fetch(`${fx.base}/connect/json/version?token=bg_good_key&pool=p2`)).json()) as Record<string, string>;
    expect(v.webSocketDebuggerUrl).toBe(`ws://127.0.0.1:${fx.port}/connect?token=bg_good_key&pool=p2`);
    expect(fx.log.quick).toEqual([]);
    fx.log.clients.length = 0;
    const b = await chromium.connectOverCDP(`${fx.base}/connect?token=bg_good_key&pool=p2`);
    const page = await b.contexts()[0]!.newPage();
    await page.goto(fx.pageUrl);
    expect(await page.title()).toBe("BrowserGrid test page");
    expect(fx.log.quick).toEqual([{ apiKey: "bg_good_key", params: "pool=p2" }]);
    await b.close();
    await Bun.sleep(50);
    const id = fx.log.clients[0]![0];
    expect(id).toStartWith("quick");
    expect(fx.log.clients.at(-1)).toEqual([id, 0]);
  });
});

describe("the wire to the browser (scripted stand-in)", () => {
  const url = () => `ws://127.0.0.1:${fx.port}/cdp/fake?token=${TOKEN}`;

  test("handshake: Host 127.0.0.1, no Origin, no compression; frames are text, masked with a zero key", async () => {
    const c = await CdpSocket.open(url());
    try {
      await c.call({ id: 1, method: "Browser.getVersion" });
      const big = "x".repeat(70_000);
      await c.call({ id: 2, method: "Runtime.evaluate", params: { expression: `"${big}"` } });
      await c.call({ id: 3, method: "Runtime.evaluate", params: { expression: "'é✓ ünïcode'" } });
      const ws = fake.heads.find((h) => h.startsWith("GET /devtools/browser/fake-id"))!;
      expect(ws).toContain(`Host: 127.0.0.1:${fake.port}`);
      expect(ws.toLowerCase()).not.toContain("origin:");
      expect(ws.toLowerCase()).not.toContain("sec-websocket-extensions");
      expect(fake.heads.find((h) => h.startsWith("GET /json/version"))).toContain(`Host: 127.0.0.1:${fake.port}`);
      // Walk the raw bytes: every frame FIN + text, masked, key 0000.
      const raw = Buffer.concat(fake.rawFrames);
      let off = 0;
      let frames = 0;
      while (off < raw.length) {
        expect(raw[off]).toBe(0x81);
        const l7 = raw[off + 1]! & 0x7f;
        expect(raw[off + 1]! & 0x80).toBe(0x80);
        let len = l7;
        let p = off + 2;
        if (l7 === 126) (len = raw.readUInt16BE(p)), (p += 2);
        else if (l7 === 127) (len = raw.readUInt32BE(p + 4)), (p += 8);
        expect(raw.readUInt32BE(p)).toBe(0);
        off = p + 4 + len;
        frames++;
      }
      expect(frames).toBe(3);
      expect(fake.received[2]).toContain("é✓ ünïcode");
    } finally {
      c.close();
    }
  });

  test("a burst of client messages (batched into few writes) reaches the browser intact and in order", async () => {
    const c = await CdpSocket.open(url());
    try {
      fake.received.length = 0;
      const sent: string[] = [];
      const sizes = [1, 40, 41, 42, 120, 130, 5000, 21_845, 21_846, 30_000, 70_000, 3];
      const replies: Promise<unknown>[] = [];
      for (let i = 0; i < 300; i++) {
        const pad = "é✓x".repeat(sizes[i % sizes.length]! / 3 + 1).slice(0, sizes[i % sizes.length]);
        const msg = { id: i, method: "Runtime.evaluate", params: { expression: pad } };
        sent.push(JSON.stringify(msg));
        replies.push(c.call(msg));
      }
      await Promise.all(replies);
      expect(fake.received).toEqual(sent);
    } finally {
      c.close();
    }
  });

  test("BrowserGrid.* and refused commands never reach the browser; an innocent escaped message is forwarded", async () => {
    const c = await CdpSocket.open(url());
    try {
      fake.received.length = 0;
      await c.call({ id: 1, method: "BrowserGrid.getSessionInfo" });
      await c.call({ id: 2, method: "BrowserGrid.nope" });
      await c.call({ id: 3, method: "Target.createBrowserContext", params: { proxyServer: "direct://" } });
      await c.call({ id: 4, method: "Runtime.evaluate", params: { expression: '"BrowserGrid.getSessionInfo \\u00e9"' } });
      expect(fake.received.map((m) => JSON.parse(m).method)).toEqual(["Runtime.evaluate"]);
    } finally {
      c.close();
    }
  });

  test("fragmented upstream replies with a ping inside are reassembled, the ping answered", async () => {
    const c = await CdpSocket.open(url());
    try {
      fake.pongs.length = 0;
      const r = await c.call({ id: 7, method: "Runtime.evaluate", params: { expression: "Test.fragmented" } });
      expect(r).toEqual({ id: 7, result: { method: "Runtime.evaluate" } });
      await Bun.sleep(20);
      expect(fake.pongs).toEqual(["ka"]);
    } finally {
      c.close();
    }
  });

  test("upstream bytes arriving one per TCP write are parsed", async () => {
    const c = await CdpSocket.open(url());
    try {
      const r = await c.call({ id: 8, method: "Runtime.evaluate", params: { expression: "Test.byteByByte" } });
      expect(r).toEqual({ id: 8, result: { method: "Runtime.evaluate" } });
      await Bun.sleep(200);
      expect(c.messages.at(-1)).toEqual({ method: "Test.event", params: { n: 1 } });
    } finally {
      c.close();
    }
  });

  test("fragmented frames from the client arrive as one message", async () => {
    const r = await RawClient.open(fx.port, `/cdp/fake?token=${TOKEN}`);
    expect(r.status).toBe(101);
    fake.received.length = 0;
    const text = Buffer.from(JSON.stringify({ id: 9, method: "Runtime.evaluate", params: { expression: "'fragmented'" } }));
    const a = clientFrame(OP_TEXT, text.subarray(0, 10));
    a[0] = OP_TEXT; // FIN=0
    const b = clientFrame(OP_CONTINUATION, text.subarray(10, 20));
    b[0] = OP_CONTINUATION;
    const c = clientFrame(OP_CONTINUATION, text.subarray(20));
    const all = Buffer.concat([a, b, c]);
    for (let i = 0; i < all.length; i += 7) {
      r.socket.write(all.subarray(i, i + 7));
      await Bun.sleep(1);
    }
    await r.waitFor(() => r.messages.length > 0);
    expect(JSON.parse(r.messages[0]!)).toEqual({ id: 9, result: { method: "Runtime.evaluate" } });
    expect(fake.received).toEqual([text.toString()]);
    r.socket.end();
  });

  test("the browser closing the WebSocket closes the client with 1011", async () => {
    const c = await CdpSocket.open(url());
    c.send({ id: 1, method: "Runtime.evaluate", params: { expression: "Test.close" } });
    expect(await c.closed).toEqual({ code: 1011, reason: "browser connection closed" });
  });
});
