// A session cannot read the browser container's files or route around the grid's network
// controls, whichever way a client asks: file:// by CDP navigation, by a new target, by a
// page's own navigation, redirect, iframe or window.open, and a `direct://` proxy override for
// a new browser context. Real Chromium (both flavours) through the real gateway.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chromium, type Browser } from "playwright-core";
import { browserNetwork, startGrid, type Grid } from "../helpers/grid";

let grid: Grid;
let site: ReturnType<typeof Bun.serve>;
let siteUrl: string;
const created: string[] = [];

beforeAll(async () => {
  grid = await startGrid();
  site = Bun.serve({
    hostname: "0.0.0.0",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      const html = (body: string) => new Response(`<!doctype html><title>t</title>${body}`, { headers: { "content-type": "text/html" } });
      if (path === "/redirect-to-file") return new Response(null, { status: 302, headers: { location: "file:///etc/passwd" } });
      if (path === "/iframe") return html(`<iframe id="f" src="file:///etc/passwd"></iframe>`);
      return html(`<p id="p">page</p>`);
    },
  });
  const net = await browserNetwork("browsergrid-default");
  siteUrl = `http://${net.IPAM?.Config?.[0]?.Gateway}:${site.port}`;
}, 60_000);

afterAll(async () => {
  for (const id of created) await grid.api("DELETE", `/api/v1/sessions/${id}`).catch(() => {});
  await grid?.dispose();
  site?.stop(true);
});

async function connect(browserFlavour: "headless-shell" | "chromium"): Promise<Browser> {
  const res = await grid.api("POST", "/api/v1/sessions", { browser: browserFlavour, keepAlive: true });
  expect(res.status).toBe(201);
  created.push(res.body.id);
  return chromium.connectOverCDP(res.body.cdpUrl);
}

/** True when any frame of the page shows the container's /etc/passwd. */
async function showsPasswd(page: import("playwright-core").Page): Promise<boolean> {
  for (const frame of page.frames()) {
    // A frame whose document was refused never gets a script context: evaluate would wait forever.
    const text = await Promise.race([frame.evaluate(() => document.documentElement?.innerText ?? "").catch(() => ""), Bun.sleep(2_000).then(() => "")]);
    if (text.includes("root:x:0:0")) return true;
  }
  return false;
}

for (const flavour of ["headless-shell", "chromium"] as const) {
  describe(`${flavour}: no file:// and no proxy override`, () => {
    test("CDP navigation and a new target to file:// are refused by the gateway", async () => {
      const browser = await connect(flavour);
      const page = await browser.contexts()[0]!.newPage();
      await expect(page.goto("file:///etc/passwd")).rejects.toThrow(/not allowed/);
      expect(await showsPasswd(page)).toBe(false);

      const cdp = await browser.newBrowserCDPSession();
      for (const url of ["file:///etc/passwd", "view-source:file:///etc/passwd", "chrome://version"])
        await expect(cdp.send("Target.createTarget", { url })).rejects.toThrow(/not allowed/);
      // The refused attempts opened nothing: only the tabs there were before.
      const { targetInfos } = await cdp.send("Target.getTargets");
      expect(targetInfos.filter((t) => t.url.startsWith("file:") || t.url === "chrome://version/").map((t) => t.url)).toEqual([]);
      await browser.close();
    });

    test("a page cannot open file:// by navigation, redirect, iframe or window.open", async () => {
      const browser = await connect(flavour);
      const context = browser.contexts()[0]!;
      const page = await context.newPage();

      await page.goto(`${siteUrl}/start`);
      await page.evaluate(() => {
        location.href = "file:///etc/passwd";
      });
      await page.waitForTimeout(300);
      expect(page.url()).not.toStartWith("file:");
      expect(await showsPasswd(page)).toBe(false);

      // Each attempt in a fresh tab: a refused redirect leaves its tab on an error page.
      const redirectTab = await context.newPage();
      const redirected = await redirectTab.goto(`${siteUrl}/redirect-to-file`).then(
        () => "loaded",
        (err: Error) => err.message,
      );
      expect(redirected).not.toBe("loaded");
      expect(redirectTab.url()).not.toStartWith("file:");
      expect(await showsPasswd(redirectTab)).toBe(false);

      const iframeTab = await context.newPage();
      await iframeTab.goto(`${siteUrl}/iframe`);
      await iframeTab.waitForTimeout(300);
      expect(await showsPasswd(iframeTab)).toBe(false);

      const opener = await context.newPage();
      await opener.goto(`${siteUrl}/start`);
      const popupSeen = context.waitForEvent("page", { timeout: 1_500 }).catch(() => null);
      await opener.evaluate(() => void window.open("file:///etc/passwd"));
      const popup = await popupSeen;
      if (popup) {
        await popup.waitForTimeout(300);
        expect(await showsPasswd(popup)).toBe(false);
      }
      await browser.close();
    });

    test("a browser context with its own proxy (direct://) is refused", async () => {
      const browser = await connect(flavour);
      const cdp = await browser.newBrowserCDPSession();
      await expect(cdp.send("Target.createBrowserContext", { proxyServer: "direct://" })).rejects.toThrow(/proxyServer is not allowed/);
      await expect(browser.newContext({ proxy: { server: "direct://" } })).rejects.toThrow(/proxyServer is not allowed/);
      await browser.close();
    });
  });
}
