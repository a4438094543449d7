// The Schedules page in a real Chromium (playwright-core): it loads under the strict CSP with no
// error, shows the next fire times, statistics and the SVG chart; the Pause button swaps its
// row in place through htmx (no reload) and the clock stops; the create form stores a schedule
// and a bad cron comes back next to its field. Fake runs and deployments ports, real timers
// (nothing fires: the schedules tick hourly).
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { makeTestApp, type TestApp } from "../helpers/app";
import { launchUiBrowser, screenshots, watchConsole } from "../helpers/ui";
import { deployments, runs, schedules } from "../../src/db/schema";
import { SESSION_COOKIE } from "../../src/modules/auth/auth-sessions.service";

let t: TestApp;
let server: ReturnType<typeof Bun.serve>;
let browser: Browser;
let base = "";

beforeAll(async () => {
  t = await makeTestApp({
    schedules: {
      runs: { trigger: () => ({ id: "run_x" }), activeRunCount: () => 0 },
      deployments: { resolveVersion: () => ({ manifest: {} }), validateParams: (_m, p) => p },
    },
  });
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => t.app.handle(req) });
  base = `http://127.0.0.1:${server.port}`;
  t.deps.db.insert(deployments).values({ id: "dep_ui", name: "nightly-report" }).run();
  await t.deps.schedules!.create("nightly-report", { cron: "0 0 * * * *", params: { url: "https://example.com" } });
  const sch = t.deps.db.select().from(schedules).get()!;
  for (const [i, status] of (["succeeded", "succeeded", "failed", "timed_out", "succeeded"] as const).entries())
    t.deps.db.insert(runs).values({ id: `run_${i}`, deploymentId: "dep_ui", version: 1, status, params: {}, trigger: "schedule", scheduleId: sch.id, durationMs: 800 + i * 400, error: status === "failed" ? "Error: page did not load" : status === "timed_out" ? "timed out after 60 s" : null, createdAt: Date.now() - 10_000 + i, endedAt: Date.now() - 9_000 + i }).run();
  await t.deps.schedules!.clock.start();
  browser = await launchUiBrowser();
});

afterAll(async () => {
  t.deps.schedules?.clock.stop();
  await browser?.close();
  server?.stop(true);
});

test("Schedules page: next runs, statistics, chart; pause in place; create and refuse through the form", async () => {
  const context = await browser.newContext();
  await context.addCookies([{ name: SESSION_COOKIE, value: t.cookie.split("=")[1]!, url: base }]);
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto(`${base}/schedules`);
  await page.getByRole("link", { name: "Schedules" }).waitFor();
  const row = page.locator("tr[id^=schedule-]").first();
  await expect(row.locator("code").textContent()).resolves.toBe("0 0 * * * *");
  expect(await row.locator("ol.next-runs li").count()).toBe(3);
  await expect(row.textContent()).resolves.toContain("5 runs · 60 % ok");
  await expect(row.textContent()).resolves.toContain(": timed out after 60 s");
  expect(await row.locator("svg.runs-chart rect").count()).toBe(5);
  await screenshots(page, "schedules");

  // Pause through htmx: the row is swapped, the page is not reloaded.
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
  await row.getByRole("button", { name: /Pause/ }).click();
  await row.getByRole("button", { name: /Resume/ }).waitFor();
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  await expect(row.locator("td").nth(4).textContent()).resolves.toContain("paused");
  expect(t.deps.db.select().from(schedules).get()!.enabled).toBe(false);

  // Create: a bad cron is shown next to its field and nothing is stored; a good one is listed.
  await page.getByLabel("Cron").fill("0 0 31 2 *");
  await page.getByRole("button", { name: "Create schedule" }).click();
  await page.locator("#cron-error").waitFor();
  await expect(page.locator("#cron-error").textContent()).resolves.toContain("never fires");
  expect(t.deps.db.select().from(schedules).all()).toHaveLength(1);
  await page.getByLabel("Cron").fill("*/30 * * * * *");
  await page.getByLabel("Time zone").fill("Europe/Berlin");
  await page.getByRole("button", { name: "Create schedule" }).click();
  await page.waitForURL(/\/schedules#schedule-sch_/);
  expect(await page.locator("tr[id^=schedule-]").count()).toBe(2);
  expect(t.deps.db.select().from(schedules).all().at(-1)).toMatchObject({ cron: "*/30 * * * * *", timezone: "Europe/Berlin" });
  expect(problems).toEqual([]);
  await context.close();
}, 60_000);
