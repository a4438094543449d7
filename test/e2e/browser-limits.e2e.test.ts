// A browser's limits, end to end through a real grid and real Chromium: the pool's CPU limit on
// the container, a download bigger than the pool's storage cap stopping at the cap in memory
// (nothing on the host's disk, the session and the server still fine), and a file uploaded
// through the API reaching a page's <input type=file> by DOM.setFileInputFiles.
// BROWSERGRID_TEST_BROWSER_IMAGE picks an image prefix other than browsergrid/browser.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statfsSync } from "node:fs";
import { chromium } from "playwright-core";
import { browserNetwork, containersOfSession, docker, ADMIN_KEY, startGrid, type Grid } from "../helpers/grid";

const MiB = 1024 * 1024;
const BIG_BYTES = 256 * MiB;
let grid: Grid;
let site: ReturnType<typeof Bun.serve>;
let siteUrl: string;

beforeAll(async () => {
  grid = await startGrid();
  site = Bun.serve({
    hostname: "0.0.0.0",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/big.bin") {
        let sent = 0;
        const chunk = new Uint8Array(MiB).fill(7);
        const body = new ReadableStream({
          pull(c) {
            if (sent >= BIG_BYTES) return c.close();
            sent += chunk.byteLength;
            c.enqueue(chunk);
          },
        });
        return new Response(body, { headers: { "content-type": "application/octet-stream", "content-length": String(BIG_BYTES), "content-disposition": 'attachment; filename="big.bin"' } });
      }
      return new Response(`<!doctype html><title>t</title><a id="dl" href="/big.bin" download>big</a><p id="p">page ${path}</p>`, { headers: { "content-type": "text/html" } });
    },
  });
  const net = await browserNetwork("browsergrid-default");
  siteUrl = `http://${net.IPAM?.Config?.[0]?.Gateway}:${site.port}`;
}, 60_000);

afterAll(async () => {
  site?.stop(true);
  await grid?.dispose();
});

async function containerOf(sessionId: string) {
  const [c] = await containersOfSession(sessionId);
  return docker.getContainer(c!.Id).inspect();
}

async function execIn(id: string, cmd: string[]): Promise<string> {
  const run = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, User: "1000" });
  const stream = await run.start({});
  const chunks: Buffer[] = [];
  stream.on("data", (b: Buffer) => chunks.push(b));
  await new Promise((resolve) => stream.on("end", resolve));
  // Docker multiplexes the output into frames: [stream, 0, 0, 0, size (4 bytes, big-endian)]
  // then `size` bytes. Read the frames: stripping "control characters" instead left a size
  // byte that happened to be printable ("!" for 33) in front of the output.
  const all = Buffer.concat(chunks);
  let text = "";
  for (let at = 0; at + 8 <= all.length; ) {
    const size = all.readUInt32BE(at + 4);
    text += all.subarray(at + 8, at + 8 + size).toString("utf8");
    at += 8 + size;
  }
  return text;
}

const freeDiskBytes = () => {
  const s = statfsSync("/var/lib/docker");
  return s.bavail * s.bsize;
};

describe("pool limits on a real browser", () => {
  test("the container runs with the pool's CPU limit; a download past the storage cap stops there, off the host's disk", async () => {
    const patched = await grid.api("PATCH", "/api/v1/pools/default", { cpus: 0.5, storageMb: 16 });
    expect(patched.status).toBe(200);
    const res = await grid.api("POST", "/api/v1/sessions", { keepAlive: true });
    expect(res.status).toBe(201);
    const info = await containerOf(res.body.id);
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);

    // The downloads volume is memory on the host too, not a directory on its disk.
    const downloads = info.Mounts.find((m) => m.Destination === "/home/browser/downloads");
    expect(downloads?.Type).toBe("volume");
    const hostMount = readFileSync("/proc/mounts", "utf8").split("\n").find((l) => l.split(" ")[1] === downloads!.Source);
    expect(hostMount?.split(" ")[2]).toBe("tmpfs");

    const freeBefore = freeDiskBytes();
    const browser = await chromium.connectOverCDP(res.body.cdpUrl);
    const page = await browser.contexts()[0]!.newPage();
    await page.goto(`${siteUrl}/start`);
    const download = page.waitForEvent("download");
    await page.click("#dl");
    const failure = await (await download).failure();
    expect(failure).toBeTruthy(); // Chromium gave the download up (no space) and removed its partial file

    const used = await execIn(info.Id, ["du", "-sb", "/home/browser/downloads"]);
    expect(Number(used.split(/\s/)[0])).toBeLessThanOrEqual(16 * MiB);
    // Other tests share this disk: a generous margin, far below the 256 MiB the page sent.
    expect(freeBefore - freeDiskBytes()).toBeLessThan(128 * MiB);

    // The session and the server carry on.
    await page.goto(`${siteUrl}/after`);
    expect(await page.textContent("#p")).toBe("page /after");
    expect((await fetch(`${grid.url}/healthz`)).status).toBe(200);
    await browser.close();
    await grid.api("DELETE", `/api/v1/sessions/${res.body.id}`);
    await grid.api("PATCH", "/api/v1/pools/default", { cpus: 1, storageMb: 256 });
  }, 120_000);

  test("a file uploaded through the API reaches a page's <input type=file> through DOM.setFileInputFiles", async () => {
    const res = await grid.api("POST", "/api/v1/sessions", { keepAlive: true });
    expect(res.status).toBe(201);
    const content = "name,amount\nalice,3\n";
    const up = await fetch(`${grid.url}/api/v1/sessions/${res.body.id}/uploads?name=data.csv`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "text/csv" },
      body: content,
    });
    expect(up.status).toBe(201);
    const file = (await up.json()) as { name: string; path: string; size: number };
    expect(file).toEqual({ name: "data.csv", path: "/home/browser/uploads/data.csv", size: content.length });

    const browser = await chromium.connectOverCDP(res.body.cdpUrl);
    const page = await browser.contexts()[0]!.newPage();
    await page.setContent(`<input type="file" id="f"><pre id="out"></pre>
<script>document.getElementById("f").onchange = async (e) => { const f = e.target.files[0]; document.getElementById("out").textContent = f.name + ":" + await f.text(); };</script>`);
    const cdp = await page.context().newCDPSession(page);
    const { root } = await cdp.send("DOM.getDocument");
    const { nodeId } = await cdp.send("DOM.querySelector", { nodeId: root.nodeId, selector: "#f" });
    await cdp.send("DOM.setFileInputFiles", { nodeId, files: [file.path] });
    await page.waitForFunction(() => document.getElementById("out")!.textContent !== "");
    expect(await page.textContent("#out")).toBe(`data.csv:${content}`);
    await browser.close();

    // A second file past the cap is refused and leaves nothing.
    const big = await fetch(`${grid.url}/api/v1/sessions/${res.body.id}/uploads?name=big.bin`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      body: new Uint8Array(257 * MiB),
    });
    expect(big.status).toBe(413);
    const info = await containerOf(res.body.id);
    expect((await execIn(info.Id, ["ls", "/home/browser/uploads"])).trim()).toBe("data.csv");
    await grid.api("DELETE", `/api/v1/sessions/${res.body.id}`);
  }, 120_000);
});
