// Profiles and artifacts end to end: a real BrowserGrid process, real Docker, real Chromium
// (headless-shell), Playwright through the gateway. The profile travels into and out of the
// containers through the Docker archive API only.
//
// "Another worker": these runs use the one local Docker worker for both sessions (no SSH
// worker is set up here); the transfer path — putArchive before start, getArchive after
// Browser.close — is the same Docker API call an SSH worker's provider makes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chromium, type Browser } from "playwright-core";
import { pack } from "tar-stream";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { containersOfSession, docker, startGrid, startPageServer, waitFor, type Grid } from "../helpers/grid";

let grid: Grid;
let pages: Awaited<ReturnType<typeof startPageServer>>;
const live: string[] = [];

beforeAll(async () => {
  grid = await startGrid();
  pages = await startPageServer();
}, 60_000);

afterAll(async () => {
  for (const id of live) await grid.api("DELETE", `/api/v1/sessions/${id}`).catch(() => {});
  await grid?.dispose();
  pages?.stop();
});

async function session(body: Record<string, unknown>) {
  const res = await grid.api("POST", "/api/v1/sessions", { keepAlive: true, ...body });
  if (res.status === 201) live.push(res.body.id);
  return res;
}

async function ended(id: string) {
  return waitFor(
    `session ${id} ended`,
    async () => {
      const r = await grid.api("GET", `/api/v1/sessions/${id}`);
      return ["completed", "timed_out", "crashed", "failed"].includes(r.body.status) ? r.body : null;
    },
    20_000,
  );
}

async function loginIn(cdpUrl: string, user = "alice"): Promise<Browser> {
  const b = await chromium.connectOverCDP(cdpUrl);
  const page = b.contexts()[0]!.pages()[0] ?? (await b.contexts()[0]!.newPage());
  await page.goto(`${pages.url}/login?user=${user}`);
  expect(await page.textContent("#done")).toBe("logged in");
  return b;
}

async function whoami(cdpUrl: string): Promise<{ cookie: string; ls: string }> {
  const b = await chromium.connectOverCDP(cdpUrl);
  const page = await b.contexts()[0]!.newPage();
  await page.goto(`${pages.url}/whoami`);
  const r = { cookie: (await page.textContent("#cookie")) ?? "", ls: (await page.textContent("#ls")) ?? "" };
  await b.close();
  return r;
}

async function profile(name: string) {
  return (await grid.api("GET", `/api/v1/profiles/${name}`)).body;
}

describe("a profile carries a login from one session to the next", () => {
  test("session 1 logs in with persist: true; session 2 on the same profile is logged in", async () => {
    expect((await grid.api("POST", "/api/v1/profiles", { name: "shop", description: "test shop login" })).status).toBe(201);
    const s1 = await session({ profile: { name: "shop", persist: true } });
    expect(s1.status).toBe(201);
    expect(s1.body.config.profile).toMatchObject({ name: "shop", persist: true, version: null });
    const b = await loginIn(s1.body.cdpUrl);
    await b.close();
    const del = await grid.api("DELETE", `/api/v1/sessions/${s1.body.id}`);
    expect(del.body.status).toBe("completed");
    const events = (await grid.api("GET", `/api/v1/sessions/${s1.body.id}/events`)).body.events;
    const saved = events.find((e: { type: string }) => e.type === "profile_saved");
    if (!saved) console.log(JSON.stringify(events), grid.output().split("\n").filter((l) => /profile|error|warn/i.test(l)).join("\n"));
    expect(saved?.detail).toMatchObject({ profile: "shop", version: 1, cleanExit: true });
    console.log("profile save at session end:", JSON.stringify(saved.detail));
    const p = await profile("shop");
    expect(p).toMatchObject({ currentVersion: 1, versions: 1, lockedBy: null });
    expect(p.size).toBeGreaterThan(0);
    expect(p.lastUsedAt).not.toBeNull();

    const started = performance.now();
    const s2 = await session({ profile: { name: "shop", persist: false } });
    console.log(`create with a ${p.size}-byte profile: ${Math.round(performance.now() - started)} ms`);
    expect(s2.status).toBe(201);
    expect(await whoami(s2.body.cdpUrl)).toEqual({ cookie: "alice", ls: "alice" });
    await grid.api("DELETE", `/api/v1/sessions/${s2.body.id}`);
    expect((await profile("shop")).currentVersion).toBe(1); // a read-only session never writes
  }, 60_000);

  test("BrowserGrid.saveProfile on the gateway saves mid-session", async () => {
    const s = await session({ profile: { name: "shop", persist: true } });
    const b = await chromium.connectOverCDP(s.body.cdpUrl);
    const cdp = await b.newBrowserCDPSession();
    const r = (await cdp.send("BrowserGrid.saveProfile" as never)) as { version?: number; error?: string };
    expect(r.error).toBeUndefined();
    expect(r.version).toBe(2);
    await b.close();
    await grid.api("DELETE", `/api/v1/sessions/${s.body.id}`);
    expect((await profile("shop")).currentVersion).toBe(3);
  }, 60_000);
});

describe("one writer at a time", () => {
  test("a second persisting session gets 409 while the first holds the profile; read-only works; after the first ends it works", async () => {
    const s1 = await session({ profile: { name: "shop", persist: true } });
    expect(s1.status).toBe(201);
    const s2 = await session({ profile: { name: "shop", persist: true } });
    expect(s2.status).toBe(409);
    expect(s2.body.error.code).toBe("profile_locked");
    expect(s2.body.error.message).toContain(s1.body.id);
    expect(s2.body.error.message).toContain("persist: false");
    const ro = await session({ profile: { name: "shop", persist: false } });
    expect(ro.status).toBe(201);
    expect((await profile("shop")).lockedBy).toBe(s1.body.id);
    expect((await grid.api("DELETE", "/api/v1/profiles/shop")).status).toBe(409);
    await grid.api("DELETE", `/api/v1/sessions/${s1.body.id}`);
    const s3 = await session({ profile: { name: "shop", persist: true } });
    expect(s3.status).toBe(201);
    await grid.api("DELETE", `/api/v1/sessions/${s3.body.id}`);
    await grid.api("DELETE", `/api/v1/sessions/${ro.body.id}`);
  }, 60_000);

  test("crash mid-session: the lock is released and the last good version is intact", async () => {
    const before = await profile("shop");
    const versionsBefore = (await grid.api("GET", "/api/v1/profiles/shop/versions")).body.versions;
    const s = await session({ profile: { name: "shop", persist: true } });
    const b = await loginIn(s.body.cdpUrl, "mallory");
    const [c] = await containersOfSession(s.body.id);
    await docker.getContainer(c!.Id).kill();
    await b.close().catch(() => {});
    expect((await ended(s.body.id)).status).toBe("crashed");
    const after = await profile("shop");
    expect(after.currentVersion).toBe(before.currentVersion);
    expect(after.lockedBy).toBeNull();
    expect((await grid.api("GET", "/api/v1/profiles/shop/versions")).body.versions).toEqual(versionsBefore);
    const next = await session({ profile: { name: "shop", persist: true } });
    expect(next.status).toBe(201);
    expect(await whoami(next.body.cdpUrl)).toEqual({ cookie: "alice", ls: "alice" });
    await grid.api("DELETE", `/api/v1/sessions/${next.body.id}`);
  }, 60_000);

  test("a server killed mid-session: after restart the lock dies with the session", async () => {
    const s = await session({ profile: { name: "shop", persist: true } });
    const [c] = await containersOfSession(s.body.id);
    await grid.stop("SIGKILL");
    await docker.getContainer(c!.Id).remove({ force: true, v: true }); // the browser died while the server was down
    grid = await startGrid({ dataDir: grid.dataDir });
    expect((await grid.api("GET", `/api/v1/sessions/${s.body.id}`)).body.status).toBe("crashed");
    expect((await profile("shop")).lockedBy).toBeNull();
    const next = await session({ profile: { name: "shop", persist: true } });
    expect(next.status).toBe(201);
    await grid.api("DELETE", `/api/v1/sessions/${next.body.id}`);
  }, 90_000);
});

describe("export and import", () => {
  test("export → delete → import → the login still works", async () => {
    const exp = await fetch(`${grid.url}/api/v1/profiles/shop/export`, { headers: { authorization: `Bearer ${(await import("../helpers/grid")).ADMIN_KEY}` } });
    expect(exp.status).toBe(200);
    expect(exp.headers.get("content-type")).toBe("application/gzip");
    const archive = new Uint8Array(await exp.arrayBuffer());
    const id = (await profile("shop")).id;
    expect((await grid.api("DELETE", "/api/v1/profiles/shop")).status).toBe(204);
    expect((await grid.api("GET", "/api/v1/profiles/shop")).status).toBe(404);
    expect(existsSync(join(grid.dataDir, "storage", "profiles", id))).toBe(false);
    const imp = await fetch(`${grid.url}/api/v1/profiles/import?name=shop-restored`, {
      method: "POST",
      headers: { authorization: `Bearer ${(await import("../helpers/grid")).ADMIN_KEY}`, "content-type": "application/gzip" },
      body: Buffer.from(archive),
    });
    expect(imp.status).toBe(201);
    expect((await imp.json()).currentVersion).toBe(1);
    const s = await session({ profile: { name: "shop-restored" } });
    expect(s.status).toBe(201);
    expect(await whoami(s.body.cdpUrl)).toEqual({ cookie: "alice", ls: "alice" });
    await grid.api("DELETE", `/api/v1/sessions/${s.body.id}`);
  }, 60_000);

  async function tarOf(entries: { name: string; type?: "file" | "symlink"; body?: string; size?: number; linkname?: string }[]): Promise<Uint8Array> {
    const p = pack();
    const chunks: Buffer[] = [];
    p.on("data", (c: unknown) => void chunks.push(c as Buffer));
    const done = new Promise<void>((r) => p.on("end", () => r()));
    for (const e of entries)
      await new Promise<void>((res, rej) => {
        const cb = (err?: Error | null) => (err ? rej(err) : res());
        if (e.type === "symlink") p.entry({ name: e.name, type: "symlink", linkname: e.linkname }, cb);
        else p.entry({ name: e.name }, e.body ?? "", cb);
      });
    p.finalize();
    await done;
    return Bun.gzipSync(Buffer.concat(chunks));
  }

  /** A tar whose one file says it is 300 MiB long (only its first MiB is sent: refused at the header). */
  async function hugeFileTar(): Promise<Uint8Array> {
    const p = pack();
    const chunks: Buffer[] = [];
    p.on("data", (c: unknown) => void chunks.push(c as Buffer));
    p.entry({ name: "Default/huge", size: 300 * 1024 * 1024 }).write(Buffer.alloc(1024 * 1024));
    await Bun.sleep(50);
    return Bun.gzipSync(Buffer.concat(chunks));
  }

  const evil: [string, () => Promise<Uint8Array>][] = [
    ["a ../ entry", () => tarOf([{ name: "Default/Cookies", body: "x" }, { name: "../../escape", body: "x" }])],
    ["an absolute path", () => tarOf([{ name: "/etc/cron.d/evil", body: "x" }])],
    ["a symlink", () => tarOf([{ name: "Default", type: "symlink", linkname: "/root" }])],
    ["a huge file (300 MiB, over the 256 MiB per-file limit)", hugeFileTar],
  ];
  for (const [what, build] of evil)
    test(`an archive with ${what} is refused and leaves nothing on disk`, async () => {
      const storage = join(grid.dataDir, "storage", "profiles");
      const dirsBefore = existsSync(storage) ? readdirSync(storage).sort() : [];
      const res = await fetch(`${grid.url}/api/v1/profiles/import?name=evil`, {
        method: "POST",
        headers: { authorization: `Bearer ${(await import("../helpers/grid")).ADMIN_KEY}`, "content-type": "application/gzip" },
        body: Buffer.from(await build()),
      });
      const body = await res.json();
      expect(res.status).toBe(400);
      expect(body.error.code).toBe("archive_rejected");
      expect((await grid.api("GET", "/api/v1/profiles/evil")).status).toBe(404);
      expect(existsSync(storage) ? readdirSync(storage).sort() : []).toEqual(dirsBefore);
    }, 60_000);
});

describe("artifacts", () => {
  test("a download made in the browser and a screenshot through the API show up as artifacts", async () => {
    const s = await session({});
    const b = await chromium.connectOverCDP(s.body.cdpUrl);
    const page = await b.contexts()[0]!.newPage();
    await page.goto(`${pages.url}/download`);
    const download = page.waitForEvent("download");
    await page.click("#dl");
    expect((await download).suggestedFilename()).toBe("report.txt");
    const shot = await grid.api("POST", `/api/v1/sessions/${s.body.id}/screenshot`, {});
    expect(shot.status).toBe(201);
    expect(shot.body).toMatchObject({ kind: "screenshot", contentType: "image/png" });
    await Bun.sleep(300); // the download is a few bytes; let Chromium finish writing it
    await b.close();
    await grid.api("DELETE", `/api/v1/sessions/${s.body.id}`);
    const list = (await grid.api("GET", `/api/v1/sessions/${s.body.id}/artifacts`)).body.artifacts;
    const dl = list.find((a: { kind: string }) => a.kind === "download");
    expect(dl).toMatchObject({ name: "report.txt", size: 18, contentType: "text/plain" });
    const file = await fetch(`${grid.url}${dl.url}`, { headers: { authorization: `Bearer ${(await import("../helpers/grid")).ADMIN_KEY}` } });
    expect(file.headers.get("content-disposition")).toContain("attachment");
    expect(await file.text()).toBe("quarterly numbers\n");
    const png = await fetch(`${grid.url}${shot.body.url}`, { headers: { authorization: `Bearer ${(await import("../helpers/grid")).ADMIN_KEY}` } });
    expect(Buffer.from(await png.arrayBuffer()).subarray(1, 4).toString()).toBe("PNG");
    // The listing waited for the downloads to be copied out; the container goes right after that.
    await waitFor("container removed", async () => (await containersOfSession(s.body.id)).length === 0, 5000);
  }, 60_000);
});
