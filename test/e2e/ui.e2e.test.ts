// The admin UI end to end, in Debian's Chromium: a fresh install is set up through the form,
// sessions appear and change state without a reload, and the live view shows and controls a
// browser that a Playwright client drives through its cdpUrl.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chromium as pwChromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startGrid, startPageServer, waitFor, type Grid } from "../helpers/grid";
import { ADMIN, launchUiBrowser, screenshots, signIn, watchConsole } from "../helpers/ui";

let grid: Grid;
let ui: Browser;
let ctx: BrowserContext;
let page: Page;
let problems: string[];
let pages: Awaited<ReturnType<typeof startPageServer>>;
const created: string[] = [];

beforeAll(async () => {
  grid = await startGrid();
  pages = await startPageServer();
  ui = await launchUiBrowser();
  ctx = await ui.newContext({ viewport: { width: 1280, height: 800 } });
  page = await ctx.newPage();
  problems = watchConsole(page);
}, 60_000);

afterAll(async () => {
  for (const id of created) await grid.api("DELETE", `/api/v1/sessions/${id}`).catch(() => {});
  await ui?.close();
  await grid?.dispose();
  pages?.stop();
});

describe("first run", () => {
  test("fresh install → setup form → admin created → sign out → sign in → dashboard", async () => {
    await page.goto(grid.url);
    expect(page.url()).toBe(`${grid.url}/setup`);
    // Without the one-time token (the link install.sh prints and the log shows) the form asks for it.
    await expect(page.getByLabel("Setup token").isVisible()).resolves.toBe(true);
    const token = readFileSync(join(grid.dataDir, "setup-token"), "utf8").trim();
    expect(grid.output()).toContain(`/setup?token=${token}`);
    await page.goto(`${grid.url}/setup?token=${token}`);
    await expect(page.getByLabel("Setup token").count()).resolves.toBe(0);
    await screenshots(page, "setup");

    // Bad input first: an inline error next to the field, and no account created.
    await page.getByLabel("Email").fill(ADMIN.email);
    await page.getByLabel(/^Password/).fill(ADMIN.password);
    await page.getByLabel("Repeat the password").fill(ADMIN.password + "x");
    await page.getByRole("button", { name: /Create admin/ }).click();
    await expect(page.locator("#confirm-error").textContent()).resolves.toBe("The two passwords differ.");
    expect(page.url()).toBe(`${grid.url}/setup`);
    await screenshots(page, "setup-error");
    expect((await grid.api("GET", "/api/v1/users")).body.items).toHaveLength(0);

    await page.getByLabel(/^Password/).fill(ADMIN.password);
    await page.getByLabel("Repeat the password").fill(ADMIN.password);
    await page.getByRole("button", { name: /Create admin/ }).click();
    await page.waitForURL(`${grid.url}/`);
    expect((await grid.api("GET", "/api/v1/users")).body.items.map((u: { email: string }) => u.email)).toEqual([ADMIN.email]);

    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL(/\/login/);
    await screenshots(page, "login");
    await signIn(page, grid.url);
    await expect(page.getByRole("heading", { name: "Dashboard" }).isVisible()).resolves.toBe(true);
    await expect(page.locator(".stat-card").count()).resolves.toBe(4);
    await screenshots(page, "dashboard");
  });
});

describe("sessions", () => {
  test("a session created in the UI appears as running with a ticking duration; stopped through the API, its row changes — no reload", async () => {
    await page.goto(`${grid.url}/sessions`);
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
    await screenshots(page, "sessions-empty");

    // Bad input: inline error, nothing stored.
    const before = (await grid.api("GET", "/api/v1/sessions?limit=500")).body.sessions.length;
    await page.getByLabel("Viewport width").fill("50");
    await page.getByRole("button", { name: "Start session" }).click();
    await expect(page.locator("#width-error").textContent()).resolves.toMatch(/from 200 to 7680/);
    expect((await grid.api("GET", "/api/v1/sessions?limit=500")).body.sessions.length).toBe(before);
    await screenshots(page, "sessions-create-error");

    await page.getByLabel("Viewport width").fill("1280");
    await page.getByRole("button", { name: "Start session" }).click();
    const row = page.locator("#session-rows tbody tr").first();
    await row.locator(".badge.running").waitFor({ timeout: 15_000 });
    const id = (await row.getAttribute("id"))!.replace("row-", "");
    created.push(id);
    const d1 = await row.locator(".duration").textContent();
    await page.waitForTimeout(2200);
    const d2 = await row.locator(".duration").textContent();
    expect(d2).not.toBe(d1);
    await screenshots(page, "sessions");

    expect((await grid.api("DELETE", `/api/v1/sessions/${id}`)).status).toBe(200);
    await page.locator(`#row-${id} .badge.completed`).waitFor({ timeout: 5000 });
    const d3 = await page.locator(`#row-${id} .duration`).textContent();
    await page.waitForTimeout(1200);
    expect(await page.locator(`#row-${id} .duration`).textContent()).toBe(d3!);
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);

    // Filters are a GET form.
    await page.getByLabel("Status").selectOption("running");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/status=running/);
    await expect(page.locator(`#row-${id}`).count()).resolves.toBe(0);
    await page.goto(`${grid.url}/sessions/${id}`);
    await expect(page.locator("#session-status .badge").textContent()).resolves.toBe("completed");
    await expect(page.locator("#session-events li").count()).resolves.toBeGreaterThanOrEqual(4);
    expect(problems).toEqual([]);
  });
});

describe("live view", () => {
  let sessionId: string;
  let client: Awaited<ReturnType<typeof pwChromium.connectOverCDP>>;
  let target: Page;

  beforeAll(async () => {
    const res = await grid.api("POST", "/api/v1/sessions", { keepAlive: true });
    expect(res.status).toBe(201);
    sessionId = res.body.id;
    created.push(sessionId);
    expect(res.body.liveUrl).toMatch(new RegExp(`/live/${sessionId}\\?t=[A-Za-z0-9_-]+&exp=\\d+&mode=view$`));
    client = await pwChromium.connectOverCDP(res.body.cdpUrl);
    target = await client.contexts()[0]!.newPage();
    await target.goto(`${pages.url}/live-target`);
    await target.evaluate(() => {
      const w = window as unknown as { clicks: { x: number; y: number }[] };
      w.clicks = [];
      document.body.style.margin = "0";
      document.body.style.background = "#ffe9a8";
      const b = document.createElement("button");
      b.id = "big";
      b.textContent = "Click me";
      b.style.cssText = "position:fixed;inset:0;width:100%;height:100%;font-size:48px;background:#ffe9a8";
      b.addEventListener("click", (e) => w.clicks.push({ x: e.clientX, y: e.clientY }));
      document.body.appendChild(b);
    });
  }, 60_000);

  afterAll(async () => {
    await client?.close().catch(() => {});
  });

  test("shows frames of the page the client opened; a click in the live view reaches that page", async () => {
    await page.goto(`${grid.url}/sessions/${sessionId}`);
    const screen = page.locator("[data-live]");
    await waitFor("a frame", async () => Number((await screen.getAttribute("data-frames")) ?? 0) > 0, 15_000, 100);
    await expect(page.locator("[data-live-img]").isVisible()).resolves.toBe(true);
    await expect(page.locator("[data-live-tabs] option:checked").textContent()).resolves.toBe("BrowserGrid test page");
    await screenshots(page, "session-detail");

    await page.getByRole("button", { name: "Take control" }).click();
    const box = (await page.locator("[data-live-img]").boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    const clicks = await waitFor(
      "the click on the page",
      async () => {
        const c = await target.evaluate(() => (window as unknown as { clicks: { x: number; y: number }[] }).clicks);
        return c.length ? c : null;
      },
      5000,
      100,
    );
    const vp = target.viewportSize() ?? (await target.evaluate(() => ({ width: innerWidth, height: innerHeight })));
    expect(Math.abs(clicks[0]!.x - vp.width / 2)).toBeLessThan(vp.width * 0.05);
    expect(Math.abs(clicks[0]!.y - vp.height / 2)).toBeLessThan(vp.height * 0.05);

    // Keyboard reaches the page too.
    await target.evaluate(() => {
      const i = document.createElement("input");
      i.id = "typed";
      i.style.cssText = "position:fixed;top:0;left:0;z-index:2";
      document.body.appendChild(i);
      i.focus();
    });
    await page.locator("[data-live]").focus();
    await page.keyboard.type("hi");
    await waitFor("typed text", async () => (await target.evaluate(() => (document.getElementById("typed") as HTMLInputElement).value)) === "hi", 5000, 100);
    expect(problems).toEqual([]);
  });

  test("a shareable link works without an account, read-only; forged or expired links are refused", async () => {
    await page.goto(`${grid.url}/sessions/${sessionId}`);
    await page.getByText("Share a live link").click();
    await page.getByRole("button", { name: "Create link" }).click();
    const url = (await page.locator("#share-url").textContent())!;
    expect(url).toMatch(new RegExp(`^${grid.url}/live/${sessionId}\\?t=.+&exp=\\d+&mode=view$`));

    const anon = await ui.newContext({ viewport: { width: 1280, height: 800 } });
    const p = await anon.newPage();
    await p.goto(url);
    await waitFor("a frame for the anonymous viewer", async () => Number((await p.locator("[data-live]").getAttribute("data-frames")) ?? 0) > 0, 15_000, 100);
    await expect(p.getByRole("button", { name: "Take control" }).count()).resolves.toBe(0);
    await screenshots(p, "live-shared");
    const input = await p.evaluate(async (u) => {
      const r = await fetch(u.replace(/\/live\/([^?]+)\?/, "/live/$1/input?"), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ type: "reload" }) });
      return r.status;
    }, url);
    expect(input).toBe(403);

    const forged = url.replace(/mode=view$/, "mode=control");
    expect((await p.goto(forged))!.status()).toBe(403);
    const expired = url.replace(/exp=\d+/, `exp=${Math.floor(Date.now() / 1000) - 10}`);
    expect((await p.goto(expired))!.status()).toBe(403);
    await screenshots(p, "live-refused");
    expect((await fetch(`${grid.url}/live/${sessionId}/stream`)).status).toBe(403);
    await anon.close();
  });
});
