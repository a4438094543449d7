// A finished download is an artifact at once, end to end: a real BrowserGrid, a real Chromium
// container, real Playwright and Puppeteer clients through the gateway. The page server sends
// files with Content-Disposition: attachment; the client waits for its download, and the file
// is listed and downloadable through the API while the session still runs. After the session
// ends the end-of-session copy adds no duplicate.
//
// Isolation: this grid uses its own Docker network and nftables table.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chromium } from "playwright-core";
import puppeteer from "puppeteer-core";
import { rmSync } from "node:fs";
import { ADMIN_KEY, browserNetwork, containersOfSession, startIsolatedGrid, waitFor, type Grid } from "../helpers/grid";
import { sshdAvailable, startSshd, type Sshd } from "../helpers/sshd";

const TABLE = "bgdownloads_e2e";
const NETWORK = "browsergrid-downloads-e2e";
const MiB = 1024 * 1024;

let grid: Grid;
let sshd: Sshd | undefined;
let files: ReturnType<typeof Bun.serve>;
let base: string;
const created: string[] = [];
/** What /file/<name>?v=<n> serves: bytes that differ per name and version. */
const served = new Map<string, Uint8Array>();

function fileBytes(name: string, version: string, size: number): Uint8Array {
  const key = `${name}:${version}`;
  let bytes = served.get(key);
  if (!bytes) {
    bytes = new Uint8Array(size);
    crypto.getRandomValues(bytes.subarray(0, Math.min(size, 65536)));
    for (let i = 65536; i < size; i++) bytes[i] = (i * 31 + version.length) & 0xff;
    served.set(key, bytes);
  }
  return bytes;
}

interface Artifact {
  id: string;
  kind: string;
  name: string;
  size: number;
  sha256: string;
  url: string;
}

const artifactsOf = async (id: string): Promise<Artifact[]> => (await grid.api("GET", `/api/v1/sessions/${id}/artifacts`)).body.artifacts;
const statusOf = async (id: string): Promise<string> => (await grid.api("GET", `/api/v1/sessions/${id}`)).body.status;
const bytesOf = async (a: Artifact) => new Uint8Array(await (await fetch(`${grid.url}${a.url}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).arrayBuffer());

/** The Playwright flow: click, wait for the download; returns what Playwright saw. */
async function downloadWithPlaywright(cdpUrl: string, href: string) {
  const browser = await chromium.connectOverCDP(cdpUrl);
  const page = await browser.contexts()[0]!.newPage();
  await page.goto(`${base}/?href=${encodeURIComponent(href)}`);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#dl")]);
  expect(await download.failure()).toBeNull(); // resolves once Chromium finished the file
  return { browser, name: download.suggestedFilename() };
}

async function createSession() {
  const res = await grid.api("POST", "/api/v1/sessions", { keepAlive: true });
  expect(res.status).toBe(201);
  created.push(res.body.id);
  return res.body as { id: string; cdpUrl: string };
}

async function endSession(id: string) {
  expect((await grid.api("DELETE", `/api/v1/sessions/${id}`)).status).toBe(200);
  await waitFor(`session ${id} ended`, async () => (await statusOf(id)) === "completed", 20_000);
}

beforeAll(async () => {
  grid = await startIsolatedGrid({ network: NETWORK, table: TABLE });
  files = Bun.serve({
    hostname: "0.0.0.0",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      const m = /^\/file\/([A-Za-z0-9._-]+)$/.exec(url.pathname);
      if (m) {
        const bytes = fileBytes(m[1]!, url.searchParams.get("v") ?? "1", Number(url.searchParams.get("size") ?? 1000));
        return new Response(Buffer.from(bytes), { headers: { "content-type": "application/octet-stream", "content-disposition": `attachment; filename="${m[1]}"` } });
      }
      const href = url.searchParams.get("href") ?? "/file/report.bin";
      return new Response(`<!doctype html><title>downloads</title><a id="dl" href="${href}">download</a>`, { headers: { "content-type": "text/html" } });
    },
  });
  // The Docker host as the browsers of this grid's network reach it (BROWSERGRID_EGRESS_ALLOW=docker-host).
  const gateway = (await browserNetwork(NETWORK)).IPAM!.Config![0]!.Gateway!;
  base = `http://${gateway}:${files.port}`;
}, 90_000);

afterAll(async () => {
  for (const id of created) await grid?.api("DELETE", `/api/v1/sessions/${id}`).catch(() => {});
  await grid?.dispose();
  if (grid) rmSync(grid.dataDir, { recursive: true, force: true });
  await sshd?.dispose();
  files?.stop(true);
}, 60_000);

describe("a finished download is an artifact while the session runs", () => {
  test("Playwright: wait for the download, then list and fetch it through the API; after the end there is exactly one", async () => {
    const s = await createSession();
    const { browser, name } = await downloadWithPlaywright(s.cdpUrl, `/file/report.bin?size=${3 * MiB}`);
    expect(name).toBe("report.bin");

    // No waiting: the gateway queued the copy before Playwright heard of the completion, and
    // the listing waits for copies under way.
    const list = await artifactsOf(s.id);
    expect(await statusOf(s.id)).toBe("running");
    expect(list.map((a) => [a.kind, a.name, a.size])).toEqual([["download", "report.bin", 3 * MiB]]);
    const expected = fileBytes("report.bin", "1", 3 * MiB);
    const got = await bytesOf(list[0]!);
    expect(got.length).toBe(expected.length);
    expect(Buffer.compare(Buffer.from(got), Buffer.from(expected))).toBe(0);
    expect(list[0]!.sha256).toBe(new Bun.CryptoHasher("sha256").update(expected).digest("hex"));
    expect(await statusOf(s.id)).toBe("running");

    const events = (await grid.api("GET", `/api/v1/sessions/${s.id}/events`)).body.events as { type: string; detail: Record<string, unknown> }[];
    const stored = events.filter((e) => e.type === "download_stored");
    expect(stored.map((e) => e.detail)).toEqual([{ artifact: list[0]!.id, name: "report.bin", size: 3 * MiB, ms: expect.any(Number) }]);
    console.log(`copy of a finished 3 MiB download: ${stored[0]!.detail.ms} ms`);

    await browser.close();
    await endSession(s.id);
    const after = await artifactsOf(s.id);
    expect(after.map((a) => [a.kind, a.name, a.id])).toEqual([["download", "report.bin", list[0]!.id]]);
    await waitFor("container removed", async () => (await containersOfSession(s.id)).length === 0, 10_000);
  }, 90_000);

  test("Puppeteer (no download events asked for): each finished download shows up while running; a re-download of the same name with new bytes is a second artifact", async () => {
    const s = await createSession();
    // Puppeteer sends Browser.setDownloadBehavior without eventsEnabled; the gateway pins the path.
    const browser = await puppeteer.connect({ browserWSEndpoint: s.cdpUrl, defaultViewport: null, downloadBehavior: { policy: "allow", downloadPath: "/tmp/ignored" } });
    const page = await browser.newPage();
    // The events the gateway turned on for itself never reach this client (its root connection).
    const seen: string[] = [];
    const root = (await page.createCDPSession()).connection()!;
    for (const e of ["Browser.downloadWillBegin", "Browser.downloadProgress"]) root.on(e, () => seen.push(e));

    for (const v of ["1", "2"]) {
      await page.goto(`${base}/?href=${encodeURIComponent(`/file/data.csv?v=${v}&size=5000`)}`);
      await page.click("#dl");
      // Puppeteer has no download event: poll the artifacts API, as a script would.
      const a = await waitFor(`download v${v} listed`, async () => (await artifactsOf(s.id)).filter((x) => x.kind === "download")[Number(v) - 1], 20_000, 100);
      expect(await statusOf(s.id)).toBe("running");
      expect(a.name).toBe("data.csv");
      expect(Buffer.compare(Buffer.from(await bytesOf(a)), Buffer.from(fileBytes("data.csv", v, 5000)))).toBe(0);
    }
    expect(seen).toEqual([]);

    await browser.disconnect();
    await endSession(s.id);
    const after = await artifactsOf(s.id);
    // The directory held only the second data.csv at the end: already stored, so not stored again.
    expect(after.map((a) => a.name)).toEqual(["data.csv", "data.csv"]);
    expect(new Set(after.map((a) => a.sha256)).size).toBe(2);
  }, 90_000);

  test("Page.setDownloadBehavior (the deprecated per-page call): the Page domain's events name the file", async () => {
    const s = await createSession();
    const browser = await puppeteer.connect({ browserWSEndpoint: s.cdpUrl, defaultViewport: null });
    const page = await browser.newPage();
    await (await page.createCDPSession()).send("Page.setDownloadBehavior", { behavior: "allow", downloadPath: "/tmp/ignored" });
    await page.goto(`${base}/?href=${encodeURIComponent("/file/page.txt?size=777")}`);
    await page.click("#dl");
    const a = await waitFor("download listed", async () => (await artifactsOf(s.id))[0], 20_000, 100);
    expect(await statusOf(s.id)).toBe("running");
    expect([a.name, a.size]).toEqual(["page.txt", 777]);
    const events = (await grid.api("GET", `/api/v1/sessions/${s.id}/events`)).body.events as { type: string }[];
    expect(events.filter((e) => e.type === "download_stored")).toHaveLength(1);
    await browser.disconnect();
    await endSession(s.id);
    expect((await artifactsOf(s.id)).map((x) => x.id)).toEqual([a.id]);
  }, 90_000);

  test("on an SSH worker: the file comes out through the provider over SSH while the session runs", async () => {
    if (!sshdAvailable()) throw new Error("this test needs OpenSSH's sshd (apt-get install openssh-server) and root");
    sshd = await startSshd();
    const added = await grid.api("POST", "/api/v1/workers", { endpoint: sshd.endpoint, name: "remote-dl", capacity: 2, sshPrivateKey: sshd.privateKey });
    expect(added.status).toBe(201);
    const local = ((await grid.api("GET", "/api/v1/workers")).body.workers as { id: string; kind: string }[]).find((w) => w.kind === "docker")!;
    expect((await grid.api("POST", `/api/v1/workers/${local.id}/drain`)).status).toBe(200);
    let s: { id: string; cdpUrl: string };
    try {
      s = await createSession();
    } finally {
      expect((await grid.api("POST", `/api/v1/workers/${local.id}/resume`)).status).toBe(200);
    }
    expect((await grid.api("GET", `/api/v1/sessions/${s.id}`)).body.worker).toBe("remote-dl");
    const { browser } = await downloadWithPlaywright(s.cdpUrl, "/file/remote.bin?size=200000");
    const list = await artifactsOf(s.id);
    expect(await statusOf(s.id)).toBe("running");
    expect(list.map((a) => [a.name, a.size])).toEqual([["remote.bin", 200000]]);
    expect(Buffer.compare(Buffer.from(await bytesOf(list[0]!)), Buffer.from(fileBytes("remote.bin", "1", 200000)))).toBe(0);
    await browser.close();
    await endSession(s.id);
    expect((await artifactsOf(s.id)).map((a) => a.id)).toEqual([list[0]!.id]);
  }, 120_000);
});
