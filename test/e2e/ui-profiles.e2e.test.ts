// Profiles, maintenance settings and session artifacts in a real browser: bad names and
// malicious archives are refused next to their field with nothing stored; maintenance refuses
// new sessions (503 with its message, /readyz not ready) until switched off; a session page
// shows its screenshots and serves them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { pack } from "tar-stream";
import { startGrid, type Grid } from "../helpers/grid";
import { ADMIN, launchUiBrowser, screenshots, signIn, watchConsole } from "../helpers/ui";

let grid: Grid;
let ui: Browser;
let page: Page;
let problems: string[];
const sessions: string[] = [];

beforeAll(async () => {
  grid = await startGrid({ env: { BROWSERGRID_ADMIN_EMAIL: ADMIN.email, BROWSERGRID_ADMIN_PASSWORD: ADMIN.password } });
  ui = await launchUiBrowser();
  page = await (await ui.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true })).newPage();
  problems = watchConsole(page);
  await signIn(page, grid.url);
}, 60_000);

afterAll(async () => {
  for (const id of sessions) await grid.api("DELETE", `/api/v1/sessions/${id}`).catch(() => {});
  await ui?.close();
  await grid?.dispose();
});

/** A tar.gz written entry by entry, names exactly as given (tar-stream does not clean them). */
async function tarGz(entries: { name: string; body: string }[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on("end", () => r()));
  for (const e of entries) await new Promise<void>((resolve, reject) => p.entry({ name: e.name, type: "file", mode: 0o644 }, e.body, (err) => (err ? reject(err) : resolve())));
  p.finalize();
  await done;
  return Buffer.from(Bun.gzipSync(Buffer.concat(chunks)));
}

const profileNames = async () => ((await grid.api("GET", "/api/v1/profiles")).body.profiles as { name: string }[]).map((p) => p.name).sort();

describe("profiles", () => {
  test("create (bad name inline, nothing stored), import (malicious archive refused), versions, export, delete", async () => {
    await page.goto(`${grid.url}/profiles`);
    await expect(page.getByText("No profiles yet.").isVisible()).resolves.toBe(true);
    await screenshots(page, "profiles-empty");

    await page.locator("#f-name").fill("../bad name");
    await page.getByRole("button", { name: "Create profile" }).click();
    await expect(page.locator("#name-error").textContent()).resolves.toMatch(/Profile names are 1-64 characters/);
    await expect(page.locator("#f-name").inputValue()).resolves.toBe("../bad name");
    expect(await profileNames()).toEqual([]);

    await page.locator("#f-name").fill("shop-login");
    await page.locator("#f-description").fill("Signed in to <the shop>");
    await page.getByRole("button", { name: "Create profile" }).click();
    await page.locator("#profile-shop-login").waitFor();
    await expect(page.locator("#profile-shop-login").textContent()).resolves.toContain("Signed in to <the shop>");
    expect(await profileNames()).toEqual(["shop-login"]);

    // A malicious archive: an entry that climbs out of the directory.
    await page.locator("#f-import-name").fill("evil");
    await page.locator("#f-archive").setInputFiles({ name: "evil.tar.gz", mimeType: "application/gzip", buffer: await tarGz([{ name: "../x", body: "owned" }]) });
    await page.getByRole("button", { name: "Import profile" }).click();
    await expect(page.locator("#archive-error").textContent()).resolves.toMatch(/Archive rejected: entry "\.\.\/x" points outside/);
    await screenshots(page, "profiles-import-error");
    expect(await profileNames()).toEqual(["shop-login"]);

    // A valid archive becomes a profile with one version.
    await page.locator("#f-import-name").fill("imported");
    await page.locator("#f-archive").setInputFiles({ name: "ok.tar.gz", mimeType: "application/gzip", buffer: await tarGz([{ name: "Default/Preferences", body: '{"ok":true}' }]) });
    await page.getByRole("button", { name: "Import profile" }).click();
    await page.getByRole("heading", { name: "Profile imported" }).waitFor();
    await page.locator("#version-1").waitFor();
    expect(await profileNames()).toEqual(["imported", "shop-login"]);
    await screenshots(page, "profile-detail");

    // Export through the existing API route (the link on the page), then re-import it as a copy.
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export current version" }).click()]);
    expect(download.suggestedFilename()).toBe("imported-v1.tar.gz");
    const exported = Buffer.from(await Bun.file((await download.path())!).arrayBuffer());
    expect(Bun.gunzipSync(exported).byteLength).toBeGreaterThan(0);
    await page.goto(`${grid.url}/profiles`);
    await page.locator("#f-import-name").fill("imported-copy");
    await page.locator("#f-archive").setInputFiles({ name: "imported-v1.tar.gz", mimeType: "application/gzip", buffer: exported });
    await page.getByRole("button", { name: "Import profile" }).click();
    await page.getByRole("heading", { name: "Profile imported-copy" }).waitFor();

    // Restore makes an old version current as a new one.
    await page.goto(`${grid.url}/profiles/imported`);
    const restore = await grid.api("POST", "/api/v1/profiles/imported/versions/1/restore");
    expect(restore.status).toBe(200);
    await page.reload();
    page.once("dialog", (d) => d.accept());
    await page.getByRole("button", { name: "Restore version 1" }).click();
    await page.locator("#version-3").waitFor();
    expect((await grid.api("GET", "/api/v1/profiles/imported")).body.currentVersion).toBe(3);

    await page.goto(`${grid.url}/profiles`);
    await screenshots(page, "profiles");
    await page.getByRole("link", { name: "imported-copy" }).click();
    page.once("dialog", (d) => d.accept());
    await page.getByRole("button", { name: "Delete profile" }).click();
    await page.waitForURL(`${grid.url}/profiles`);
    expect(await profileNames()).toEqual(["imported", "shop-login"]);
    expect(problems).toEqual([]);
  }, 60_000);
});

describe("maintenance settings", () => {
  test("switch on → sessions 503 with the message and /readyz 503; off → works; add and delete a window", async () => {
    await page.goto(`${grid.url}/settings`);
    await expect(page.locator("#maintenance-state h2").textContent()).resolves.toBe("Maintenance is off");

    await page.getByLabel("Message", { exact: true }).fill("");
    await page.getByRole("button", { name: "Save maintenance mode" }).click();
    await expect(page.locator("#message-error").textContent()).resolves.toMatch(/message/);
    expect((await grid.api("GET", "/api/v1/maintenance")).body.enabled).toBe(false);

    await page.getByLabel(/Maintenance mode on/).check();
    await page.getByLabel("Message", { exact: true }).fill("Upgrading <the> disks, back at 10:00");
    await page.getByRole("button", { name: "Save maintenance mode" }).click();
    await expect(page.locator("#maintenance-state h2").textContent()).resolves.toBe("Maintenance is ON");
    await expect(page.locator("#maintenance-state blockquote").textContent()).resolves.toBe("Upgrading <the> disks, back at 10:00");
    await screenshots(page, "settings-maintenance-on");
    const refused = await grid.api("POST", "/api/v1/sessions", { keepAlive: true });
    expect(refused.status).toBe(503);
    expect(JSON.stringify(refused.body)).toContain("Upgrading <the> disks, back at 10:00");
    expect((await fetch(`${grid.url}/readyz`)).status).toBe(503);

    await page.getByLabel(/Maintenance mode on/).uncheck();
    await page.getByRole("button", { name: "Save maintenance mode" }).click();
    await expect(page.locator("#maintenance-state h2").textContent()).resolves.toBe("Maintenance is off");
    expect((await fetch(`${grid.url}/readyz`)).status).toBe(200);

    // Windows: an end before the start is refused inline; a good one is listed, then deleted.
    await page.getByLabel("Start (UTC)").fill("2031-01-31T22:00");
    await page.getByLabel("End (UTC)").fill("2031-01-31T21:00");
    await page.getByRole("button", { name: "Add window" }).click();
    await expect(page.locator("#end-error").textContent()).resolves.toMatch(/must end after it starts/);
    expect((await grid.api("GET", "/api/v1/maintenance")).body.windows).toEqual([]);
    await page.getByLabel("End (UTC)").fill("2031-02-01T02:00");
    await page.getByLabel("Message (optional)").fill("Yearly upgrade");
    await page.getByRole("button", { name: "Add window" }).click();
    await page.getByRole("cell", { name: "Yearly upgrade" }).waitFor();
    expect((await grid.api("GET", "/api/v1/maintenance")).body.windows).toEqual([{ start: "2031-01-31T22:00:00.000Z", end: "2031-02-01T02:00:00.000Z", message: "Yearly upgrade" }]);
    await screenshots(page, "settings");
    page.once("dialog", (d) => d.accept());
    await page.getByRole("button", { name: /Delete the window starting/ }).click();
    await page.getByText("No scheduled windows.").waitFor();
    expect((await grid.api("GET", "/api/v1/maintenance")).body.windows).toEqual([]);
    expect(problems).toEqual([]);
  }, 60_000);
});

describe("session artifacts", () => {
  test("the detail page shows an empty state, then a screenshot taken with the button, which downloads", async () => {
    const res = await grid.api("POST", "/api/v1/sessions", { keepAlive: true, profile: { name: "shop-login", persist: true } });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    sessions.push(id);

    await page.goto(`${grid.url}/sessions/${id}`);
    await expect(page.locator("#session-artifacts").getByText("No artifacts yet.").isVisible()).resolves.toBe(true);
    await page.getByRole("button", { name: "Take screenshot" }).click();
    const row = page.locator("#session-artifacts tbody tr").first();
    await row.waitFor({ timeout: 30_000 });
    await expect(row.textContent()).resolves.toMatch(/screenshot.*screenshot-\d+\.png/);
    const listed = (await grid.api("GET", `/api/v1/sessions/${id}/artifacts`)).body.artifacts;
    expect(listed).toHaveLength(1);
    await screenshots(page, "session-artifacts");

    const [download] = await Promise.all([page.waitForEvent("download"), row.getByRole("link", { name: /^Download/ }).click()]);
    const bytes = Buffer.from(await Bun.file((await download.path())!).arrayBuffer());
    expect(bytes.subarray(1, 4).toString()).toBe("PNG");
    expect(bytes.byteLength).toBe(listed[0].size);

    // The session holds shop-login: deleting it is refused with the reason, and nothing goes.
    await page.goto(`${grid.url}/profiles`);
    await expect(page.locator("#profile-shop-login").textContent()).resolves.toContain(id);
    await page.getByRole("link", { name: "shop-login" }).click();
    page.once("dialog", (d) => d.accept());
    await page.getByRole("button", { name: "Delete profile" }).click();
    await expect(page.locator(".notice.bad").textContent()).resolves.toMatch(new RegExp(`in use by persisting session ${id}`));
    await screenshots(page, "profile-held");
    expect(await profileNames()).toContain("shop-login");
    expect(problems).toEqual([]);
  }, 90_000);
});
