// The admin UI in a real browser: Debian's Chromium driven by playwright-core, screenshots of
// every page at a laptop and a phone width into test-results/screenshots/, and the sign-in
// steps the UI tests share.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { startChromium } from "./chromium";

export const SCREENSHOTS = join(import.meta.dir, "../../test-results/screenshots");
export const ADMIN = { email: "admin@example.com", password: "a-long-admin-password-1" };

/**
 * Debian's Chromium, driven over a CDP WebSocket rather than Playwright's own launch (a pipe to
 * the child process): under Bun, that pipe now and then stopped delivering replies after a
 * form submission — the server had answered, yet every page call hung until its timeout.
 */
export async function launchUiBrowser(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const host = await startChromium({ extraArgs: ["--password-store=basic", "--use-mock-keychain", "--hide-scrollbars", "--mute-audio"] });
  const browser = await chromium.connectOverCDP(`http://127.0.0.1:${host.port}`);
  const disconnect = browser.close.bind(browser);
  browser.close = async () => {
    await disconnect().catch(() => {});
    await host.stop();
  };
  return browser;
}

/** Full-page screenshots at 1280 px and 390 px wide; the page is left at 1280. */
export async function screenshots(page: Page, name: string): Promise<void> {
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-1280.png`), fullPage: true, caret: "initial" });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-390.png`), fullPage: true, caret: "initial" });
  await page.setViewportSize({ width: 1280, height: 800 });
}

/** Collects CSP violations and page errors: a page that needs an inline script fails its test. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  return problems;
}

export async function signIn(page: Page, baseUrl: string, who = ADMIN): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${baseUrl}/`);
}
