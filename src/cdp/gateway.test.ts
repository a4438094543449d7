// The gateway with real clients (Playwright, Puppeteer, raw WebSockets) and a real Chromium.
import { afterAll, beforeAll, setDefaultTimeout, describe, expect, test } from "bun:test";
import { chromium } from "playwright-core";
import puppeteer from "puppeteer-core";
import { startChromium, type HostChromium } from "../../test/helpers/chromium";
import { CdpSocket, startFixture, type Fixture } from "./test-fixture";

setDefaultTimeout(60_000);
let browser: HostChromium;
let fx: Fixture;
const TOKEN = "tok-s1-secret";

beforeAll(async () => {
  browser = await startChromium();
  fx = await startFixture({ host: browser.host, port: browser.port });
  fx.addSession("s1", TOKEN, { host: browser.host, port: browser.port });
});
afterAll(async () => {
  await fx?.stop();
  await browser?.stop();
});

const wsUrl = () => `ws://127.0.0.1:${fx.port}/cdp/s1?token=${TOKEN}`;
const httpUrl = () => `${fx.base}/cdp/s1?token=${TOKEN}`;

describe("real clients through the gateway", () => {
  test("Playwright connectOverCDP with the ws:// URL: navigate, evaluate, screenshot", async () => {
    const b = await chromium.connectOverCDP(wsUrl());
    try {
      const ctx = await b.newContext({ viewport: { width: 800, height: 600 } });
      const page = await ctx.newPage();
      await page.goto(fx.pageUrl);
      expect(await page.title()).toBe("BrowserGrid test page");
      expect(await page.evaluate(() => document.getElementById("h")!.textContent)).toBe("Hello from the test page");
      const png = await page.screenshot();
      expect(png.subarray(1, 4).toString()).toBe("PNG");
      expect(png.length).toBeGreaterThan(10_000);
      await ctx.close();
    } finally {
      await b.close();
    }
  });

  test("Playwright connectOverCDP with the http:// URL (json/version/ with the token kept)", async () => {
    const b = await chromium.connectOverCDP(httpUrl());
    try {
      const page = await b.contexts()[0]!.newPage();
      await page.goto(fx.pageUrl);
      expect(await page.evaluate(() => 6 * 7)).toBe(42);
      await page.close();
    } finally {
      await b.close();
    }
  });

  test("Puppeteer connect with browserWSEndpoint: navigate, evaluate, screenshot", async () => {
    const b = await puppeteer.connect({ browserWSEndpoint: wsUrl(), defaultViewport: { width: 640, height: 480 } });
    try {
      const page = await b.newPage();
      await page.goto(fx.pageUrl);
      expect(await page.title()).toBe("BrowserGrid test page");
      expect(await page.evaluate(() => navigator.userAgent)).toContain("Chrome/");
      const png = await page.screenshot();
      expect(Buffer.from(png).subarray(1, 4).toString()).toBe("PNG");
      await page.close();
    } finally {
      await b.disconnect();
    }
  });

  test("Playwright and Puppeteer on one session at once", async () => {
    const [pw, pp] = await Promise.all([chromium.connectOverCDP(wsUrl()), puppeteer.connect({ browserWSEndpoint: wsUrl() })]);
    try {
      expect(fx.gw.clientCount("s1")).toBe(2);
      const [p1, p2] = await Promise.all([pw.contexts()[0]!.newPage(), pp.newPage()]);
      await Promise.all([p1.goto(fx.pageUrl), p2.goto(fx.pageUrl)]);
      for (let i = 0; i < 20; i++) {
        const [a, b] = await Promise.all([p1.evaluate((n) => `pw${n}`, i), p2.evaluate((n) => `pp${n}`, i)]);
        expect([a, b]).toEqual([`pw${i}`, `pp${i}`]);
      }
      await Promise.all([p1.close(), p2.close()]);
    } finally {
      await pw.close();
      await pp.disconnect();
    }
    await Bun.sleep(50);
    expect(fx.gw.clientCount("s1")).toBe(0);
  });

  test("two raw clients with the SAME ids each get only their own replies and events", async () => {
    const [a, b] = await Promise.all([CdpSocket.open(wsUrl()), CdpSocket.open(wsUrl())]);
    try {
      // Only A subscribes to target discovery: B must never see those events.
      await a.call({ id: 1000, method: "Target.setDiscoverTargets", params: { discover: true } });
      const n = 200;
      const create = await a.call({ id: 2000, method: "Target.createTarget", params: { url: "about:blank" } });
      const targetId = (create.result as { targetId: string }).targetId;
      const attachA = await a.call({ id: 2001, method: "Target.attachToTarget", params: { targetId, flatten: true } });
      const attachB = await b.call({ id: 2001, method: "Target.attachToTarget", params: { targetId, flatten: true } });
      const sa = (attachA.result as { sessionId: string }).sessionId;
      const sb = (attachB.result as { sessionId: string }).sessionId;
      a.messages.length = 0;
      b.messages.length = 0;
      const all: Promise<Record<string, unknown>>[] = [];
      for (let i = 1; i <= n; i++) {
        all.push(a.call({ id: i, sessionId: sa, method: "Runtime.evaluate", params: { expression: `"A-${i}"` } }));
        all.push(b.call({ id: i, sessionId: sb, method: "Runtime.evaluate", params: { expression: `"B-${i}"` } }));
      }
      await Promise.all(all);
      const values = (msgs: Record<string, unknown>[]) =>
        msgs.filter((m) => "id" in m).map((m) => `${String(m.id)}:${String((m.result as { result?: { value?: string } })?.result?.value)}`);
      expect(values(a.messages)).toEqual(Array.from({ length: n }, (_, i) => `${i + 1}:A-${i + 1}`));
      expect(values(b.messages)).toEqual(Array.from({ length: n }, (_, i) => `${i + 1}:B-${i + 1}`));
      // Events: A was subscribed to discovery and saw its target created; B saw no Target events.
      await a.call({ id: 3000, method: "Target.closeTarget", params: { targetId } });
      await Bun.sleep(100);
      expect(a.messages.some((m) => m.method === "Target.targetDestroyed" || m.method === "Target.targetInfoChanged")).toBe(true);
      expect(b.messages.some((m) => typeof m.method === "string" && (m.method as string).startsWith("Target.target"))).toBe(false);
    } finally {
      a.close();
      b.close();
    }
  });

  test("BrowserGrid.* is answered locally; unknown methods get a CDP error; the connection stays usable", async () => {
    const c = await CdpSocket.open(wsUrl());
    try {
      const before = fx.gw.stats().messagesToBrowsers;
      const info = await c.call({ id: 1, method: "BrowserGrid.getSessionInfo", params: { x: 1 } });
      expect(info.result).toEqual({ id: "s1", status: "running", echo: { x: 1 } });
      const off = await c.call({ id: 2, method: "BrowserGrid.liveURL" });
      expect(off.result).toEqual({ error: "Live view is not enabled." });
      const unknown = await c.call({ id: 3, method: "BrowserGrid.foo" });
      expect(unknown.error).toEqual({ code: -32601, message: "'BrowserGrid.foo' wasn't found" });
      expect(fx.gw.stats().messagesToBrowsers).toBe(before);
      const v = await c.call({ id: 4, method: "Browser.getVersion" });
      expect((v.result as { product: string }).product).toContain("Chrome/");
    } finally {
      c.close();
    }
  });

  test("Target.createBrowserContext with proxyServer is refused, also when hidden by JSON escapes", async () => {
    const c = await CdpSocket.open(wsUrl());
    try {
      const r1 = await c.call({ id: 1, method: "Target.createBrowserContext", params: { proxyServer: "direct://" } });
      expect((r1.error as { message: string }).message).toContain("proxyServer is not allowed");
      const sneaky = '{"id":2,"method":"Target.createBrowserConte\\u0078t","params":{"proxy\\u0053erver":"direct://"}}';
      const p = new Promise<Record<string, unknown>>((resolve) => {
        const t = setInterval(() => {
          const m = c.messages.find((x) => x.id === 2);
          if (m) {
            clearInterval(t);
            resolve(m);
          }
        }, 5);
      });
      c.ws.send(sneaky);
      expect(((await p).error as { message: string }).message).toContain("proxyServer is not allowed");
      const ok = await c.call({ id: 3, method: "Target.createBrowserContext", params: {} });
      const ctx = (ok.result as { browserContextId: string }).browserContextId;
      expect(ctx).toBeString();
      await c.call({ id: 4, method: "Target.disposeBrowserContext", params: { browserContextId: ctx } });
    } finally {
      c.close();
    }
  });

  test("a 20 MB reply arrives intact", async () => {
    const c = await CdpSocket.open(wsUrl());
    try {
      const t = await c.call({ id: 1, method: "Target.createTarget", params: { url: "about:blank" } });
      const targetId = (t.result as { targetId: string }).targetId;
      const s = await c.call({ id: 2, method: "Target.attachToTarget", params: { targetId, flatten: true } });
      const sessionId = (s.result as { sessionId: string }).sessionId;
      const size = 20 * 1024 * 1024;
      const r = await c.call({ id: 3, sessionId, method: "Runtime.evaluate", params: { expression: `"ab".repeat(${size / 2}) + "é✓"`, returnByValue: true } });
      const value = (r.result as { result: { value: string } }).result.value;
      expect(value.length).toBe(size + 2);
      expect(value.startsWith("abab")).toBe(true);
      expect(value.endsWith("ab\u00e9\u2713")).toBe(true);
      await c.call({ id: 4, method: "Target.closeTarget", params: { targetId } });
    } finally {
      c.close();
    }
  });

  test("/json/version, /json/list and a page-level WebSocket through the gateway", async () => {
    for (const path of ["json/version", "json/version/"]) {
      const res = await fetch(`${fx.base}/cdp/s1/${path}?token=${TOKEN}`);
      expect(res.status).toBe(200);
      const v = (await res.json()) as Record<string, string>;
      expect(v.Browser).toContain("Chrome/");
      expect(v.webSocketDebuggerUrl).toBe(wsUrl());
    }
    // A page of its own: one left by an earlier test may be closing while this one connects.
    const browserLevel = await CdpSocket.open(wsUrl());
    const created = await browserLevel.call({ id: 1, method: "Target.createTarget", params: { url: "about:blank" } });
    const targetId = (created.result as { targetId: string }).targetId;
    browserLevel.close();
    const list = (await (await fetch(`${fx.base}/cdp/s1/json/list?token=${TOKEN}`)).json()) as Record<string, string>[];
    const page = list.find((t) => t.id === targetId)!;
    expect(page.webSocketDebuggerUrl).toBe(`ws://127.0.0.1:${fx.port}/cdp/s1/devtools/page/${page.id}?token=${TOKEN}`);
    expect(Object.keys(page).some((k) => k.startsWith("devtoolsFrontendUrl"))).toBe(false);
    const c = await CdpSocket.open(page.webSocketDebuggerUrl!);
    try {
      const r = await c.call({ id: 1, method: "Runtime.evaluate", params: { expression: "1+1" } });
      expect((r.result as { result: { value: number } }).result.value).toBe(2);
    } finally {
      c.close();
    }
    const proto = await fetch(`${fx.base}/cdp/s1/json/protocol?token=${TOKEN}`);
    expect(((await proto.json()) as { domains: unknown[] }).domains.length).toBeGreaterThan(10);
  });

  test("activity and client counts reach the session layer", async () => {
    fx.log.clients.length = 0;
    fx.log.activity.length = 0;
    const c = await CdpSocket.open(wsUrl());
    await c.call({ id: 1, method: "Browser.getVersion" });
    c.close();
    await c.closed;
    await Bun.sleep(1100);
    expect(fx.log.clients).toEqual([
      ["s1", 1],
      ["s1", 0],
    ]);
    expect(fx.log.activity).toContain("s1");
  });
});
