// The admin pages in a real browser: API keys (secret shown once, works, revoked, stops
// working), users and roles, the audit log and the connect panel — with bad input shown next
// to its field and nothing stored.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { startGrid, type Grid } from "../helpers/grid";
import { sshdAvailable, startSshd, type Sshd } from "../helpers/sshd";
import { ADMIN, launchUiBrowser, screenshots, signIn, watchConsole } from "../helpers/ui";

let grid: Grid;
let ui: Browser;
let page: Page;
let problems: string[];

beforeAll(async () => {
  grid = await startGrid({ env: { BROWSERGRID_ADMIN_EMAIL: ADMIN.email, BROWSERGRID_ADMIN_PASSWORD: ADMIN.password } });
  ui = await launchUiBrowser();
  page = await (await ui.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  problems = watchConsole(page);
  await signIn(page, grid.url);
}, 60_000);

let sshd: Sshd | undefined;

afterAll(async () => {
  await sshd?.stop();
  await ui?.close();
  await grid?.dispose();
});

const me = (key: string) => fetch(`${grid.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);

describe("API keys", () => {
  test("create in the UI → the secret is shown once and works → revoke → it stops working", async () => {
    await page.goto(`${grid.url}/api-keys`);
    await screenshots(page, "api-keys-empty");

    await page.getByRole("button", { name: "Create key" }).click();
    await expect(page.locator("#name-error").textContent()).resolves.toBe("Give the key a name.");
    await page.getByLabel("Name").fill("bad expiry");
    await page.getByLabel("Expires on (optional)").fill("2001-01-01");
    await page.getByRole("button", { name: "Create key" }).click();
    await expect(page.locator("#expires-error").textContent()).resolves.toBe("Choose a date in the future.");
    await expect(page.getByLabel("Name").inputValue()).resolves.toBe("bad expiry");
    await screenshots(page, "api-keys-error");
    expect((await grid.api("GET", "/api/v1/api-keys?all=true")).body.items).toHaveLength(0);

    await page.getByLabel("Name").fill("nightly <scraper>");
    await page.getByLabel("Expires on (optional)").fill("");
    await page.getByRole("button", { name: "Create key" }).click();
    const key = (await page.locator("#new-key").textContent())!;
    expect(key).toMatch(/^bg_[A-Za-z0-9]+_[A-Za-z0-9_-]+$/);
    await expect(page.getByRole("cell", { name: "nightly <scraper>", exact: true }).count()).resolves.toBe(1);
    await screenshots(page, "api-keys-created");
    expect(await me(key)).toBe(200);

    await page.reload();
    await expect(page.locator("#new-key").count()).resolves.toBe(0);
    page.once("dialog", (d) => d.accept());
    await page.getByRole("button", { name: "Revoke nightly <scraper>" }).click();
    await page.waitForLoadState();
    await expect(page.getByText("No API keys.").isVisible()).resolves.toBe(true);
    // Keys are cached for up to 5 s by the verifier of this process; revocation clears it.
    expect(await me(key)).toBe(401);
    expect(problems).toEqual([]);
  });
});

describe("users, audit, connect", () => {
  test("create a user (bad input inline, nothing stored), change the role; the audit log shows it", async () => {
    await page.goto(`${grid.url}/users`);
    await page.getByLabel("Email").fill("member@example.com");
    await page.getByLabel(/^Password/).fill("short");
    await page.getByRole("button", { name: "Create user" }).click();
    await expect(page.locator("#password-error").textContent()).resolves.toMatch(/Password refused/);
    await screenshots(page, "users-error");
    expect((await grid.api("GET", "/api/v1/users")).body.items).toHaveLength(1);

    await page.getByLabel(/^Password/).fill("a-long-member-password-1");
    await page.getByRole("button", { name: "Create user" }).click();
    await expect(page.getByText("User member@example.com created.").isVisible()).resolves.toBe(true);
    await page.getByLabel("Role of member@example.com").selectOption("viewer");
    await page.locator("tr", { hasText: "member@example.com" }).getByRole("button", { name: "Save" }).click();
    await page.waitForURL(`${grid.url}/users`);
    const users = (await grid.api("GET", "/api/v1/users")).body.items as { email: string; role: string }[];
    expect(users.find((u) => u.email === "member@example.com")!.role).toBe("viewer");

    // The last admin cannot demote themself: the refusal sits next to the user.
    await page.getByLabel(`Role of ${ADMIN.email}`).selectOption("member");
    await page.locator("tr", { hasText: ADMIN.email }).getByRole("button", { name: "Save" }).click();
    await expect(page.locator("tr", { hasText: ADMIN.email }).locator(".error").textContent()).resolves.toMatch(/last admin/);
    await screenshots(page, "users");

    await page.goto(`${grid.url}/audit`);
    await expect(page.getByText("user.updated").count()).resolves.toBeGreaterThanOrEqual(1);
    await expect(page.getByText("api_key.revoked").count()).resolves.toBe(1);
    await screenshots(page, "audit");

    await page.goto(`${grid.url}/quickstart`);
    await expect(page.locator("#snippet-node").textContent()).resolves.toContain(`${grid.url.replace("http", "ws")}/connect?token=`);
    await expect(page.locator("#snippet-python").textContent()).resolves.toContain("connect_over_cdp");
    await expect(page.locator("#snippet-puppeteer").textContent()).resolves.toContain("browserWSEndpoint");
    await screenshots(page, "connect");
    expect(problems).toEqual([]);
  });
});

describe("pools and workers", () => {
  test("edit a pool's capacity and warm size (bad input inline), drain and reopen it", async () => {
    await page.goto(`${grid.url}/pools`);
    await screenshots(page, "pools");
    const card = page.locator("#pool-default");
    await card.getByText("Edit capacity, warm size, timeouts, proxy and allow-list").click();
    await card.getByLabel("Capacity (max sessions)").fill("0");
    await card.getByRole("button", { name: "Save default" }).click();
    await expect(page.locator("#pool-default #edit-default-maxSessions-error").textContent()).resolves.toMatch(/from 1 to 1000/);
    expect((await grid.api("GET", "/api/v1/pools/default")).body.maxSessions).toBe(10);
    await page.locator("#pool-default").getByLabel("Capacity (max sessions)").fill("12");
    await page.locator("#pool-default").getByRole("button", { name: "Save default" }).click();
    await page.waitForURL(/\/pools/);
    expect((await grid.api("GET", "/api/v1/pools/default")).body.maxSessions).toBe(12);

    // Egress allow-list (a bad entry is named inline, nothing saved) and the default proxy.
    expect((await grid.api("POST", "/api/v1/proxies", { name: "office", url: "http://u:pw@127.0.0.1:3128" })).status).toBe(201);
    await page.goto(`${grid.url}/pools`);
    const edit = page.locator("#pool-default");
    await edit.getByText("Edit capacity, warm size, timeouts, proxy and allow-list").click();
    const allowBefore = (await grid.api("GET", "/api/v1/pools/default")).body.egressAllow;
    await edit.getByLabel("Egress allow-list").fill("docker-host\n0x0a000001");
    await edit.getByRole("button", { name: "Save default" }).click();
    await expect(page.locator("#pool-default .error").first().textContent()).resolves.toContain("0x0a000001");
    expect((await grid.api("GET", "/api/v1/pools/default")).body.egressAllow).toEqual(allowBefore);
    await page.locator("#pool-default").getByLabel("Egress allow-list").fill("docker-host\n10.20.0.0/16");
    await page.locator("#pool-default").getByLabel("Default proxy").selectOption("office");
    await page.locator("#pool-default").getByRole("button", { name: "Save default" }).click();
    await page.waitForURL(/\/pools/);
    const saved = (await grid.api("GET", "/api/v1/pools/default")).body;
    expect(saved.egressAllow).toEqual(["docker-host", "10.20.0.0/16"]);
    expect(saved.proxy).toBe("office");
    await page.goto(`${grid.url}/pools`);
    await page.locator("#pool-default").getByText("Edit capacity, warm size, timeouts, proxy and allow-list").click();
    await page.locator("#pool-default").getByLabel("Default proxy").selectOption("");
    await page.locator("#pool-default").getByRole("button", { name: "Save default" }).click();
    await page.waitForURL(/\/pools/);
    expect((await grid.api("GET", "/api/v1/pools/default")).body.proxy).toBeNull();
    expect((await grid.api("DELETE", "/api/v1/proxies/office")).status).toBe(204);

    page.once("dialog", (d) => d.accept());
    await page.locator("#pool-default").getByRole("button", { name: "Drain" }).click();
    await page.locator("#pool-default .badge.draining").waitFor();
    expect((await grid.api("GET", "/api/v1/pools/default")).body.state).toBe("draining");
    await page.locator("#pool-default").getByRole("button", { name: "Reopen" }).click();
    await page.locator("#pool-default .badge.active").waitFor();
    expect(problems).toEqual([]);
  });

  test.skipIf(!sshdAvailable())("add an SSH worker through the form (fingerprint shown), drain it, remove it", async () => {
    sshd = await startSshd();
    await page.goto(`${grid.url}/workers`);
    await screenshots(page, "workers");

    await page.getByLabel("Endpoint").fill("ftp://nowhere");
    await page.getByRole("button", { name: "Check and add" }).click();
    await expect(page.locator("#endpoint-error").textContent()).resolves.toMatch(/Invalid endpoint/);
    const before = (await grid.api("GET", "/api/v1/workers")).body.workers.length;

    await page.getByLabel("Endpoint").fill(sshd.endpoint);
    await page.getByLabel("Name (optional)").fill("remote-1");
    await page.getByLabel(/SSH private key/).fill(sshd.privateKey);
    await page.getByRole("button", { name: "Check and add" }).click();
    await expect(page.locator("#host-key-fingerprint").textContent()).resolves.toBe(sshd.hostKeyFingerprint);
    expect((await grid.api("GET", "/api/v1/workers")).body.workers.length).toBe(before); // nothing stored before the confirmation
    await screenshots(page, "workers-confirm-host-key");
    await page.getByRole("button", { name: /Trust this key/ }).click();
    const row = page.locator("#worker-remote-1");
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain(sshd.hostKeyFingerprint);
    const w = ((await grid.api("GET", "/api/v1/workers")).body.workers as { name: string; hostKeyFingerprint: string; id: string }[]).find((x) => x.name === "remote-1")!;
    expect(w.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);

    await row.getByRole("button", { name: "Drain remote-1" }).click();
    await page.locator("#worker-remote-1 .badge.draining").waitFor();
    expect((await grid.api("GET", `/api/v1/workers/${w.id}`)).body.status).toBe("draining");
    await screenshots(page, "workers-ssh");
    page.once("dialog", (d) => d.accept());
    await page.locator("#worker-remote-1").getByRole("button", { name: "Remove remote-1" }).click();
    await expect(page.getByText("Worker remote-1 removed.").isVisible()).resolves.toBe(true);
    expect((await grid.api("GET", `/api/v1/workers/${w.id}`)).status).toBe(404);
    expect(problems).toEqual([]);
  });
});

test("every admin page has unique element ids (a label points at its own field), with a second pool and its edit form", async () => {
  await grid.api("POST", "/api/v1/pools", { name: "second" });
  const paths = ["/", "/sessions", "/pools", "/workers", "/profiles", "/rule-sets", "/proxies", "/api-keys", "/connect", "/users", "/audit", "/settings", "/quickstart"];
  const duplicates: Record<string, string[]> = {};
  for (const path of paths) {
    await page.goto(`${grid.url}${path}`);
    const dups = await page.evaluate(() => {
      const seen = new Map<string, number>();
      for (const e of Array.from(document.querySelectorAll("[id]"))) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
      return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
    });
    if (dups.length) duplicates[path] = dups;
  }
  expect(duplicates).toEqual({});
  await grid.api("DELETE", "/api/v1/pools/second");
});
