// The URL forms third-party CDP clients derive from a session's cdpUrl, each driving a real
// Chromium started by BrowserGrid through the gateway: older Playwright versions that append
// `/json/version/` after the query string, Puppeteer 21, the token carried in the path, and
// today's ws and http forms with the current Playwright, and a Go chromedp client.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chromium as playwright165 } from "playwright-core";
import { chromium as playwright140 } from "playwright-core-1.40";
import { chromium as playwright150 } from "playwright-core-1.50";
import puppeteer21 from "puppeteer-core-21";
import puppeteer25 from "puppeteer-core";
import { ADMIN_KEY, startGrid, type Grid } from "../helpers/grid";

/** The Go toolchain of this kind of machine (it lives outside PATH in some shells). */
const GO = Bun.which("go") ?? "/usr/local/go/bin/go";

let grid: Grid;
const created: string[] = [];
const PAGE = "data:text/html,<title>url forms</title><p>ok</p>";

async function createSession(): Promise<{ id: string; cdpUrl: string }> {
  const res = await grid.api("POST", "/api/v1/sessions", { keepAlive: true });
  expect(res.status).toBe(201);
  created.push(res.body.id);
  return res.body;
}

/** ws://host/cdp/<id>?token=T → http://host/cdp/<id>~T (the token in the path, no query). */
function pathTokenForm(cdpUrl: string, scheme: "http" | "ws"): string {
  const u = new URL(cdpUrl);
  const token = u.searchParams.get("token")!;
  return `${scheme}://${u.host}${u.pathname}~${token}`;
}

type Connect = (url: string) => Promise<{ contexts(): { newPage(): Promise<{ goto(u: string): Promise<unknown>; title(): Promise<string> }> }[]; close(): Promise<void> }>;

async function drivePlaywright(connect: Connect, url: string): Promise<string> {
  const browser = await connect(url);
  try {
    const page = await browser.contexts()[0]!.newPage();
    await page.goto(PAGE);
    return await page.title();
  } finally {
    await browser.close();
  }
}

beforeAll(async () => {
  grid = await startGrid();
}, 60_000);

// Each test ends its sessions: the pool's capacity is small on a test machine, and a later
// test (quick connect creates a session) would otherwise wait in the queue.
afterEach(async () => {
  for (const id of created.splice(0)) await grid.api("DELETE", `/api/v1/sessions/${id}`).catch(() => {});
});

afterAll(async () => {
  await grid?.dispose();
});

describe("client URL forms, each driving a real browser", () => {
  const playwrights: [string, Connect][] = [
    ["1.40", (u) => playwright140.connectOverCDP(u, { timeout: 20_000 }) as never],
    ["1.50", (u) => playwright150.connectOverCDP(u, { timeout: 20_000 }) as never],
    ["1.65", (u) => playwright165.connectOverCDP(u, { timeout: 20_000 }) as never],
  ];

  for (const [version, connect] of playwrights) {
    test(`Playwright ${version} connectOverCDP with the http form of the cdpUrl`, async () => {
      const s = await createSession();
      expect(await drivePlaywright(connect, s.cdpUrl.replace(/^ws/, "http"))).toBe("url forms");
    });

    test(`Playwright ${version} connectOverCDP with the token in the path (http and ws)`, async () => {
      const s = await createSession();
      for (const scheme of ["http", "ws"] as const)
        expect(await drivePlaywright(connect, pathTokenForm(s.cdpUrl, scheme))).toBe("url forms");
    });
  }

  test("Playwright 1.65 connectOverCDP with today's ws cdpUrl", async () => {
    const s = await createSession();
    expect(await drivePlaywright((u) => playwright165.connectOverCDP(u) as never, s.cdpUrl)).toBe("url forms");
  });

  test("Puppeteer 21 browserWSEndpoint with the cdpUrl and with the token in the path", async () => {
    const s = await createSession();
    for (const endpoint of [s.cdpUrl, pathTokenForm(s.cdpUrl, "ws"), s.cdpUrl.replace("?", "/devtools/browser/?")]) {
      const browser = await puppeteer21.connect({ browserWSEndpoint: endpoint, defaultViewport: null });
      const page = await browser.newPage();
      await page.goto(PAGE);
      expect(await page.title()).toBe("url forms");
      await page.close();
      browser.disconnect();
    }
  });

  test("Puppeteer 25 browserURL with the http form of the cdpUrl and with the token in the path", async () => {
    const s = await createSession();
    for (const browserURL of [s.cdpUrl.replace(/^ws/, "http"), pathTokenForm(s.cdpUrl, "http")]) {
      const browser = await puppeteer25.connect({ browserURL, defaultViewport: null });
      const page = await browser.newPage();
      await page.goto(PAGE);
      expect(await page.title()).toBe("url forms");
      await page.close();
      await browser.disconnect();
    }
  });

  test("Puppeteer 21 browserURL: the root /json/version it asks carries no credential, so it is refused with the forms that work", async () => {
    const s = await createSession();
    const httpUrl = s.cdpUrl.replace(/^ws/, "http");
    await expect(puppeteer21.connect({ browserURL: httpUrl })).rejects.toThrow(/json\/version/);
    const res = await fetch(new URL("/json/version", httpUrl));
    expect(res.status).toBe(401);
    expect((await res.json()).error.message).toContain("browserWSEndpoint");
  });
});

/** Runs test/clients/chromedp (remote.NewAllocator with its defaults) against a URL; its stdout is the page title. */
async function runChromedp(browserUrl: string): Promise<{ code: number; out: string; err: string }> {
  const proc = Bun.spawn([GO, "run", ".", browserUrl, PAGE], { cwd: `${import.meta.dir}/../clients/chromedp`, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, out: out.trim(), err };
}

describe("chromedp's default remote allocator", () => {
  test("with a quick connect URL (it asks /json/version at the root, keeping the query)", async () => {
    const base = grid.url.replace(/^http/, "ws");
    const r = await runChromedp(`${base}/connect?token=${ADMIN_KEY}`);
    expect(r).toMatchObject({ code: 0, out: "url forms" });
  }, 180_000);

  test("with the session's plain cdpUrl (it asks the root /json/version with the session token)", async () => {
    const s = await createSession();
    const r = await runChromedp(s.cdpUrl);
    expect(r).toMatchObject({ code: 0, out: "url forms" });
  }, 180_000);

  test("with a session URL holding /devtools/browser/ (used as given), token in the path or the query", async () => {
    const s = await createSession();
    for (const url of [`${pathTokenForm(s.cdpUrl, "ws")}/devtools/browser/`, s.cdpUrl.replace("?", "/devtools/browser/?")]) {
      const r = await runChromedp(url);
      expect({ url, ...r }).toMatchObject({ url, code: 0, out: "url forms" });
    }
  }, 180_000);
});
