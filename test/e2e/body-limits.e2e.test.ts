// Memory under abuse, on a real BrowserGrid started from source: anonymous 250 MiB chunked
// bodies and authenticated zip-bomb profile imports must not grow the server by their size.
// Margins are generous (the probe that found this saw 4.5 GB from four bodies, 1.55 GB from
// one import); no latency is asserted — bench/abuse.ts measures /healthz under the same load.
//
// Isolation: its own Docker network and nftables table, removed at the end.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ADMIN_KEY, startIsolatedGrid, type Grid } from "../helpers/grid";
import { zeroBomb } from "../helpers/archives";

const MiB = 1024 * 1024;
const TABLE = "bglimits_e2e";
const NETWORK = "browsergrid-limits-e2e";
let grid: Grid;

beforeAll(async () => {
  grid = await startIsolatedGrid({ network: NETWORK, table: TABLE }, { env: { BROWSERGRID_LOG_LEVEL: "warn" } });
}, 90_000);

afterAll(async () => {
  await grid?.dispose();
}, 60_000);

function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
}

/** The server's peak RSS above its level before `work`, sampled every 20 ms. */
async function serverGrowth(work: () => Promise<unknown>): Promise<{ growth: number; result: unknown }> {
  const before = rssOf(grid.proc.pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(grid.proc.pid))), 20);
  try {
    const result = await work();
    return { growth: Math.max(peak, rssOf(grid.proc.pid)) - before, result };
  } finally {
    clearInterval(sampler);
  }
}

/** 250 MiB of JSON-ish bytes without a Content-Length. */
function hugeChunkedBody(total = 250 * MiB): ReadableStream<Uint8Array> {
  const piece = new Uint8Array(MiB).fill(0x20);
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= total) return c.close();
      sent += piece.byteLength;
      c.enqueue(piece);
    },
  });
}

async function statusOf(path: string, init: RequestInit): Promise<number | string> {
  try {
    const res = await fetch(grid.url + path, { ...init, duplex: "half" } as RequestInit);
    await res.arrayBuffer();
    return res.status;
  } catch (err) {
    return `connection closed: ${(err as Error).message}`;
  }
}

test("two anonymous 250 MiB chunked logins: 413, the server does not grow by their size", async () => {
  const { growth, result } = await serverGrowth(() =>
    Promise.all([0, 1].map(() => statusOf("/api/v1/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: hugeChunkedBody() }))),
  );
  console.log(`server RSS growth, two 250 MiB chunked logins: ${Math.round(growth / MiB)} MiB`);
  expect(result).toEqual([413, 413]);
  expect(growth).toBeLessThan(200 * MiB);
}, 120_000);

test("two zip-bomb profile imports (4 × 125 MiB of zeros each) stream: stored, the server does not grow by their size", async () => {
  const bomb = await zeroBomb(4, 125 * MiB);
  expect(bomb.byteLength).toBeLessThan(2 * MiB);
  const { growth, result } = await serverGrowth(() =>
    Promise.all([0, 1].map((i) => statusOf(`/api/v1/profiles/import?name=bomb-${i}`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_KEY}` }, body: Buffer.from(bomb) }))),
  );
  console.log(`server RSS growth, two zip-bomb imports: ${Math.round(growth / MiB)} MiB`);
  expect(result).toEqual([201, 201]);
  expect(growth).toBeLessThan(400 * MiB); // holding the two unpacked archives would take 1000 MiB
  const stored = await grid.api("GET", "/api/v1/profiles/bomb-0");
  expect(stored.body).toMatchObject({ contentBytes: 500 * MiB, currentVersion: 1 });
}, 180_000);
