// The second wall behind the gateway's file:// checks, in both flavours: a client that reaches
// Chromium's DevTools without the gateway (as a gateway bypass would) and opens file:// URLs
// still cannot read the container's accounts or configuration. headless-shell has no policy
// engine (no URLBlocklist) and honours no switch that blocks file://, so there the wall is the
// image's file modes (browser-image/Dockerfile); full Chromium has both.
// BROWSERGRID_TEST_BROWSER_IMAGE picks an image prefix other than browsergrid/browser.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chromium } from "playwright-core";
import { containersOfSession, docker, startGrid, startPageServer, type Grid } from "../helpers/grid";

let grid: Grid;
let pages: Awaited<ReturnType<typeof startPageServer>>;

beforeAll(async () => {
  grid = await startGrid();
  pages = await startPageServer();
}, 60_000);

afterAll(async () => {
  pages?.stop();
  await grid?.dispose();
});

/** A raw CDP connection straight to the container's DevTools relay: no gateway in between. */
async function directCdp(sessionId: string) {
  const [c] = await containersOfSession(sessionId);
  const info = await docker.getContainer(c!.Id).inspect();
  const ip = Object.values(info.NetworkSettings.Networks)[0]!.IPAddress;
  const version = (await (await fetch(`http://${ip}:9222/json/version`)).json()) as { webSocketDebuggerUrl: string };
  const url = new URL(version.webSocketDebuggerUrl);
  url.host = `${ip}:9222`;
  const ws = new WebSocket(url.toString());
  await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = () => reject(new Error("no direct CDP connection")))));
  let seq = 0;
  const pending = new Map<number, (m: any) => void>();
  ws.onmessage = (e) => {
    const m = JSON.parse(String(e.data));
    pending.get(m.id)?.(m);
  };
  const send = (method: string, params: object = {}, sessionId?: string) =>
    new Promise<any>((resolve) => {
      const id = ++seq;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  /** Opens `url` in a new tab and answers what the tab shows (its text, or "" when nothing loaded). */
  async function show(target: string): Promise<string> {
    const { result } = await send("Target.createTarget", { url: "about:blank" });
    const attached = await send("Target.attachToTarget", { targetId: result.targetId, flatten: true });
    const tab = attached.result.sessionId;
    await send("Page.enable", {}, tab);
    await send("Page.navigate", { url: target }, tab);
    await Bun.sleep(500); // a file:// page loads in a few ms; an error page shows no text of the file either way
    const seen = await send("Runtime.evaluate", { expression: "document.body ? document.body.innerText : ''", returnByValue: true }, tab);
    return String(seen.result?.result?.value ?? "");
  }
  return { show, close: () => ws.close() };
}

for (const flavour of ["headless-shell", "chromium"] as const) {
  describe(`${flavour}: file:// without the gateway`, () => {
    test("the container's accounts and configuration cannot be read; the browser still works", async () => {
      const res = await grid.api("POST", "/api/v1/sessions", { browser: flavour });
      expect(res.status).toBe(201);
      const cdp = await directCdp(res.body.id);
      try {
        expect(await cdp.show("file:///etc/passwd")).not.toContain("root:x:0:0");
        expect(await cdp.show("file:///etc/group")).not.toContain("root:x:0:");
        expect(await cdp.show("file:///etc/debian_version")).not.toMatch(/^\d+\.\d+/);
        expect(await cdp.show("file:///etc/apt/sources.list")).not.toContain("deb");
        expect(await cdp.show("file:///etc/")).not.toContain("passwd");
      } finally {
        cdp.close();
      }
      // What Chromium reads itself (fonts, TLS roots, the loader) stays readable: pages render.
      const browser = await chromium.connectOverCDP(res.body.cdpUrl);
      const page = await browser.contexts()[0]!.newPage();
      await page.goto(`${pages.url}/hello`);
      expect(await page.textContent("#h")).toBe("Hello /hello");
      expect(await page.evaluate(() => (window as unknown as { answer: number }).answer)).toBe(42);
      expect((await page.screenshot()).byteLength).toBeGreaterThan(1000);
      await browser.close();
      await grid.api("DELETE", `/api/v1/sessions/${res.body.id}`);
    }, 90_000);
  });
}
