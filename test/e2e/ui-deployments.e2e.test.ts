// Deployments in a real browser: a bundle with a link in it is refused next to the upload field
// with nothing stored; a zip deploys and its page shows the manifest; the next version uploads
// without becoming current and "Make current" switches; a secret is set (its value never shown)
// and deleted; every id on the pages is unique and no page breaks the CSP.
// Isolation: its own Docker network and nftables table, removed at the end.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { pack } from "tar-stream";
import { startIsolatedGrid, type Grid } from "../helpers/grid";
import { ADMIN, launchUiBrowser, screenshots, signIn, watchConsole } from "../helpers/ui";
import { zipOf } from "../helpers/zip";

let grid: Grid;
let ui: Browser;
let page: Page;
let problems: string[];

beforeAll(async () => {
  grid = await startIsolatedGrid(
    { network: "browsergrid-ui-deployments-e2e", table: "bguideploy_e2e" },
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
}, 60_000);

const manifest = (m: Record<string, unknown> = {}) => JSON.stringify({ name: "price-watch", entry: "main.ts", runtime: "bun", timeoutSec: 45, ...m });

async function tarGzWithLink(): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on("end", () => r()));
  p.entry({ name: "browsergrid.json" }, manifest());
  p.entry({ name: "main.ts" }, "console.log(1)");
  p.entry({ name: "sock", type: "symlink", linkname: "/var/run/docker.sock" });
  p.finalize();
  await done;
  return Buffer.from(Bun.gzipSync(Buffer.concat(chunks)));
}

const names = async () => ((await grid.api("GET", "/api/v1/deployments")).body.deployments as { name: string; currentVersion: number }[]).map((d) => `${d.name}@${d.currentVersion}`);

async function uniqueIds(): Promise<string[]> {
  return page.evaluate(() => {
    const seen = new Map<string, number>();
    for (const e of Array.from(document.querySelectorAll("[id]"))) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
    return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  });
}

describe("deployments pages", () => {
  test("refused bundle, deploy, next version, make current, secrets", async () => {
    await page.goto(`${grid.url}/deployments`);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Deployments" }).waitFor();
    await expect(page.getByText("No deployments yet.").isVisible()).resolves.toBe(true);

    await page.locator("#f-deployments-bundle").setInputFiles({ name: "evil.tar.gz", mimeType: "application/gzip", buffer: await tarGzWithLink() });
    await page.getByRole("button", { name: "Deploy" }).click();
    await expect(page.locator("#deployments-bundle-error").textContent()).resolves.toMatch(/entry "sock" is a symlink/);
    await screenshots(page, "deployments-refused");
    expect(await names()).toEqual([]);

    const v1 = zipOf([{ name: "browsergrid.json", body: manifest() }, { name: "main.ts", body: "console.log(1)" }]);
    await page.locator("#f-deployments-bundle").setInputFiles({ name: "bot.zip", mimeType: "application/zip", buffer: Buffer.from(v1) });
    await page.getByRole("button", { name: "Deploy" }).click();
    await page.getByRole("heading", { name: "Deployment price-watch" }).waitFor();
    await expect(page.getByRole("heading", { name: "Current version 1" }).isVisible()).resolves.toBe(true);
    await expect(page.getByText("45 s").isVisible()).resolves.toBe(true);
    expect(await names()).toEqual(["price-watch@1"]);

    const v2 = zipOf([{ name: "browsergrid.json", body: manifest({ timeoutSec: 120 }) }, { name: "main.ts", body: "console.log(2)" }]);
    await page.locator("#f-deployments-price-watch-versions-bundle").setInputFiles({ name: "bot.zip", mimeType: "application/zip", buffer: Buffer.from(v2) });
    await page.locator("#f-activate").uncheck();
    await page.getByRole("button", { name: "Upload version" }).click();
    await page.locator("#version-2").waitFor();
    await expect(page.getByRole("heading", { name: "Current version 1" }).isVisible()).resolves.toBe(true);
    await page.getByRole("button", { name: "Make version 2 current" }).click();
    await page.getByRole("heading", { name: "Current version 2" }).waitFor();
    await expect(page.getByText("120 s").isVisible()).resolves.toBe(true);
    expect(await names()).toEqual(["price-watch@2"]);

    await page.locator("#f-secret-name").fill("SHOP_PASSWORD");
    await page.locator("#f-secret-value").fill("correct-horse-battery");
    await page.getByRole("button", { name: "Set secret" }).click();
    await page.locator("#secret-SHOP_PASSWORD").waitFor();
    expect(await page.content()).not.toContain("correct-horse-battery");
    expect(await uniqueIds()).toEqual([]);
    await screenshots(page, "deployment-detail");
    page.once("dialog", (d) => d.accept());
    await page.getByRole("button", { name: "Delete secret SHOP_PASSWORD" }).click();
    await page.getByText("No secrets.").waitFor();
    expect((await grid.api("GET", "/api/v1/deployments/price-watch/secrets")).body.secrets).toEqual([]);

    await page.goto(`${grid.url}/deployments`);
    await page.locator("#deployment-price-watch").waitFor();
    expect(await uniqueIds()).toEqual([]);
    await screenshots(page, "deployments-list");
    page.once("dialog", (d) => d.accept());
    await page.goto(`${grid.url}/deployments/price-watch`);
    await page.getByRole("button", { name: "Delete deployment" }).click();
    await page.getByText("No deployments yet.").waitFor();
    expect(await names()).toEqual([]);
    expect(problems).toEqual([]);
  }, 60_000);
});
