// Runs in a real browser, with real runner containers and a real Chromium behind them: a bundle
// uploaded on /deployments, Run pressed in the Runs section of its page (a bad params JSON is
// refused next to the field, with no run stored), the run page showing the log lines as the
// code prints them and the status turning succeeded, all without a reload; then a schedule
// runs and the Schedules page shows its next runs and statistics.
// Isolation: its own Docker network and nftables table, removed at the end.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { startIsolatedGrid, waitFor, type Grid } from "../helpers/grid";
import { ADMIN, launchUiBrowser, screenshots, signIn, watchConsole } from "../helpers/ui";
import { zipOf } from "../helpers/zip";

let grid: Grid;
let ui: Browser;
let page: Page;
let problems: string[];

// Prints a line, then three more a second apart: the page must show the first before the run ends.
const MAIN = `import { chromium } from "playwright-core";
const browser = await chromium.connectOverCDP(process.env.BROWSERGRID_CDP_URL!);
const ctx = browser.contexts()[0] ?? (await browser.newContext());
const page = ctx.pages()[0] ?? (await ctx.newPage());
await page.setContent("<title>ui run</title>");
console.log("title: " + (await page.title()));
for (const n of [1, 2, 3]) { await Bun.sleep(1000); console.log("step " + n); }
await Bun.write(process.env.BROWSERGRID_OUTPUT_DIR + "/result.json", JSON.stringify({ steps: 3, who: JSON.parse(process.env.BROWSERGRID_PARAMS!).who }));
process.exit(0);
`;
const MANIFEST = JSON.stringify({
  name: "ui-bot",
  entry: "main.ts",
  runtime: "bun",
  timeoutSec: 60,
  params: {
    type: "object",
    properties: { who: { type: "string", default: "nobody", description: "Who the run greets" }, times: { type: "integer", minimum: 1, default: 1 }, extra: { type: "object" } },
    additionalProperties: false,
  },
});

beforeAll(async () => {
  grid = await startIsolatedGrid(
    { network: "browsergrid-ui-runs-e2e", table: "bguiruns_e2e" },
    { env: { BROWSERGRID_ADMIN_EMAIL: ADMIN.email, BROWSERGRID_ADMIN_PASSWORD: ADMIN.password } },
  );
  ui = await launchUiBrowser();
  page = await (await ui.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  problems = watchConsole(page);
  await signIn(page, grid.url);
}, 90_000);

afterAll(async () => {
  await ui?.close();
  await grid?.dispose();
  if (grid) rmSync(grid.dataDir, { recursive: true, force: true });
}, 90_000);

const runCount = async () => ((await grid.api("GET", "/api/v1/runs")).body.runs as unknown[]).length;

describe("runs pages with real runs", () => {
  test("deploy, Run from the deployment page, live log and status without a reload", async () => {
    await page.goto(`${grid.url}/deployments`);
    const bundle = zipOf([{ name: "browsergrid.json", body: MANIFEST }, { name: "main.ts", body: MAIN }]);
    await page.locator("#f-deployments-bundle").setInputFiles({ name: "bot.zip", mimeType: "application/zip", buffer: Buffer.from(bundle) });
    await page.getByRole("button", { name: "Deploy" }).click();
    await page.getByRole("heading", { name: "Deployment ui-bot" }).waitFor();

    const section = page.locator("#deployment-runs");
    await expect(section.textContent()).resolves.toContain("No runs yet.");
    // The Run form has a field per plain property of the params schema, and a JSON box for the rest.
    await expect(section.getByLabel("who (optional)").inputValue()).resolves.toBe("nobody");
    await expect(section.getByLabel("times (optional)").inputValue()).resolves.toBe("1");
    // Params that fail the schema: refused with the field named, nothing stored.
    await section.getByLabel("times (optional)").fill("0");
    await section.getByRole("button", { name: "Run" }).click();
    await page.locator("#run-params-error").waitFor();
    await expect(page.locator("#run-params-error").textContent()).resolves.toContain("params.times: must be at least 1");
    await expect(section.getByLabel("times (optional)").inputValue()).resolves.toBe("0"); // what was typed stays
    await section.getByLabel("times (optional)").fill("2");
    await section.getByLabel("More params (JSON object)").fill("{not json");
    await section.getByRole("button", { name: "Run" }).click();
    await expect(page.locator("#run-params-error").textContent()).resolves.toContain("not valid JSON");
    expect(await runCount()).toBe(0);

    await section.getByLabel("who (optional)").fill("ui");
    await section.getByLabel("More params (JSON object)").fill('{"extra": {"k": 1}}');
    await section.getByRole("button", { name: "Run" }).click();
    await page.waitForURL(/\/runs\/run_[a-z0-9]+$/);
    const runId = page.url().split("/").pop()!;
    let navigations = 0;
    page.on("framenavigated", (f) => void (f === page.mainFrame() && navigations++));
    await page.evaluate(() => ((window as unknown as { marker?: number }).marker = 42));

    // The first line arrives while the run is still going; then the rest, then succeeded.
    await page.locator("#run-log", { hasText: "title: ui run" }).waitFor({ timeout: 60_000 });
    await expect(page.locator("#run-status").textContent()).resolves.not.toContain("succeeded");
    await page.locator("#run-log", { hasText: "step 3" }).waitFor({ timeout: 30_000 }).catch(async (e) => {
      // What the server had, beside what the page showed: tells a stuck page from a stuck run.
      console.error("run", JSON.stringify((await grid.api("GET", `/api/v1/runs/${runId}`)).body));
      console.error("run log", (await grid.api("GET", `/api/v1/runs/${runId}/logs`)).body);
      console.error("page log and status", await page.locator("#run-log").innerHTML(), await page.locator("#run-status").innerHTML());
      throw e;
    });
    await page.locator("#run-status", { hasText: "succeeded" }).waitFor({ timeout: 30_000 });
    await page.locator("#run-output", { hasText: '"who": "ui"' }).waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    expect(navigations).toBe(0);
    expect((await grid.api("GET", `/api/v1/runs/${runId}`)).body).toMatchObject({ status: "succeeded", trigger: "ui", result: { steps: 3, who: "ui" }, params: { who: "ui", times: 2, extra: { k: 1 } } });
    await screenshots(page, "run-live");

    // The deployment page lists the run.
    await page.goto(`${grid.url}/deployments/ui-bot`);
    await page.locator(`#deployment-runs #run-${runId}`).waitFor();
    await expect(page.locator(`#deployment-runs #run-${runId}`).textContent()).resolves.toContain("succeeded");
    await screenshots(page, "deployment-runs");
    // The list shows the last run and the success rate.
    await page.goto(`${grid.url}/deployments`);
    const row = page.locator("#deployment-ui-bot");
    await expect(row.textContent()).resolves.toContain("succeeded");
    await expect(row.textContent()).resolves.toContain("100 %");
    await expect(row.locator(`a[href="/runs/${runId}"]`).count()).resolves.toBe(1);
    expect(problems).toEqual([]);
  }, 150_000);

  test("the Schedules page shows next runs and statistics after a schedule ran", async () => {
    const created = await grid.api("POST", "/api/v1/deployments/ui-bot/schedules", { cron: "*/5 * * * * *", overlap: "skip", catchUp: 0, params: { who: "cron" } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await waitFor("two finished scheduled runs", async () => (await grid.api("GET", `/api/v1/schedules/${id}`)).body.stats.succeeded >= 2, 90_000, 500);
    await page.goto(`${grid.url}/schedules`);
    const row = page.locator(`#schedule-${id}`);
    await row.waitFor();
    expect(await row.locator("ol.next-runs li").count()).toBe(3);
    const stats = (await row.locator("td").nth(5).textContent())!;
    expect(stats).toMatch(/\b[2-9]\d* runs · 100 % ok/);
    expect(stats).toMatch(/p50 \d+(\.\d)? s/);
    expect(await row.locator("svg.runs-chart rect").count()).toBeGreaterThanOrEqual(2);
    await screenshots(page, "schedules-after-runs");
    // The deployment's page lists its own schedule, with the same figures.
    await page.goto(`${grid.url}/deployments/ui-bot`);
    const own = page.locator(`#deployment-schedules #schedule-${id}`);
    await own.waitFor();
    await expect(own.textContent()).resolves.toContain("*/5 * * * * *");
    expect(await own.locator("ol.next-runs li").count()).toBe(3);
    expect((await grid.api("PATCH", `/api/v1/schedules/${id}`, { enabled: false })).status).toBe(200);
    expect(problems).toEqual([]);
  }, 150_000);
});
