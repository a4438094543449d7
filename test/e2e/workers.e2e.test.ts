// Workers across hosts, end to end: a real OpenSSH server on 127.0.0.1 in front of this
// machine's Docker engine is a second worker. Sessions placed on it are driven by Playwright
// through BrowserGrid's gateway (CDP through the SSH connection); stopping sshd takes the worker
// offline and new sessions go to the local one; it comes back by itself; a changed host key is
// refused; one endpoint stays one row under concurrency and across a restart; the FIFO queue
// hands a freed slot over at once and times out with 429.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { containersOfSession, startGrid, startPageServer, waitFor, type Grid } from "../helpers/grid";
import { freePort } from "../helpers/binary";
import { startSshd, sshdAvailable, type Sshd } from "../helpers/sshd";

let grid: Grid;
let sshd: Sshd;
let pages: Awaited<ReturnType<typeof startPageServer>>;
let port: number;
const created: string[] = [];

beforeAll(async () => {
  if (!sshdAvailable()) throw new Error("these tests need OpenSSH's sshd (apt-get install openssh-server) and root");
  sshd = await startSshd();
  port = freePort();
  grid = await startGrid({ port });
  pages = await startPageServer();
}, 60_000);

afterAll(async () => {
  for (const id of created) await grid.api("DELETE", `/api/v1/sessions/${id}`).catch(() => {});
  await grid?.dispose();
  await sshd?.stop();
  pages?.stop();
});

async function workers(): Promise<{ id: string; name: string; endpoint: string; status: string; lastError: string | null; kind: string }[]> {
  return (await grid.api("GET", "/api/v1/workers")).body.workers;
}

async function createSession(body: Record<string, unknown> = {}) {
  const res = await grid.api("POST", "/api/v1/sessions", body);
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  created.push(res.body.id);
  return res.body as { id: string; cdpUrl: string; worker: string; status: string };
}

let sshWorker: { id: string; name: string };
let localWorker: { id: string; name: string; status: string };

describe("an SSH worker", () => {
  test("added three times at once → one worker, host key pinned and shown", async () => {
    const body = { endpoint: sshd.endpoint, name: "remote-1", capacity: 4, sshPrivateKey: sshd.privateKey };
    const results = await Promise.all([1, 2, 3].map(() => grid.api("POST", "/api/v1/workers", body)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const w = results.find((r) => r.status === 201)!.body;
    expect(w).toMatchObject({ kind: "ssh", status: "online", hostKeyFingerprint: sshd.hostKeyFingerprint, endpoint: sshd.endpoint });
    expect(JSON.stringify(w)).not.toContain("PRIVATE KEY");
    const all = await workers();
    expect(all.filter((x) => x.endpoint === sshd.endpoint)).toHaveLength(1);
    sshWorker = w;
    localWorker = all.find((x) => x.kind === "docker")!;
    expect(localWorker.status).toBe("online");
    // The key is encrypted at rest.
    const db = new Database(join(grid.dataDir, "browsergrid.db"), { readonly: true });
    const stored = db.query("SELECT ssh_key_encrypted AS k FROM workers WHERE id = ?").get(w.id) as { k: string };
    db.close();
    expect(stored.k).toStartWith("v1.");
    expect(stored.k).not.toContain("PRIVATE");
  });

  test("a session on it is driven by Playwright through BrowserGrid, CDP through the SSH connection", async () => {
    expect((await grid.api("POST", `/api/v1/workers/${localWorker.id}/drain`)).body.status).toBe("draining");
    const s = await createSession({ keepAlive: true });
    expect(s.worker).toBe("remote-1");
    const [c] = await containersOfSession(s.id);
    expect(c!.Ports.filter((p) => p.PublicPort)).toEqual([]); // no browser port published anywhere
    const browser = await chromium.connectOverCDP(s.cdpUrl);
    const page = await browser.contexts()[0]!.newPage();
    await page.goto(`${pages.url}/over-ssh`);
    expect(await page.textContent("#h")).toBe("Hello /over-ssh");
    expect(await page.evaluate(() => (window as unknown as { answer: number }).answer)).toBe(42);
    await browser.close();
    const del = await grid.api("DELETE", `/api/v1/sessions/${s.id}`);
    expect(del.body.status).toBe("completed");
    await waitFor("container removed", async () => (await containersOfSession(s.id)).length === 0, 5000);
    await grid.api("POST", `/api/v1/workers/${localWorker.id}/resume`);
    await waitFor("local online", async () => (await workers()).find((w) => w.id === localWorker.id)?.status === "online", 10_000);
  });

  test("sshd stops → offline within 15 s, new sessions go to the local worker; sshd back → online by itself", async () => {
    const running = await createSession({ keepAlive: true, metadata: { on: "either" } });
    const stoppedAt = Date.now();
    await sshd.stop();
    await waitFor("ssh worker offline", async () => (await workers()).find((w) => w.id === sshWorker.id)?.status === "offline", 15_000, 100);
    const offlineAfterMs = Date.now() - stoppedAt;
    console.log(`ssh worker offline ${offlineAfterMs} ms after sshd stopped`);
    expect(offlineAfterMs).toBeLessThan(15_000);
    for (let i = 0; i < 2; i++) expect((await createSession()).worker).toBe(localWorker.name);
    if (running.worker === "remote-1") {
      const events = (await grid.api("GET", `/api/v1/sessions/${running.id}/events`)).body.events.map((e: { type: string }) => e.type);
      expect(events).toContain("worker_offline");
    }
    await sshd.start();
    await waitFor("ssh worker online again", async () => (await workers()).find((w) => w.id === sshWorker.id)?.status === "online", 30_000, 200);
  }, 60_000);

  test("a changed host key is refused with a clear error, fail closed", async () => {
    await sshd.stop();
    await sshd.rotateHostKey();
    await sshd.start();
    const w = await waitFor(
      "worker refuses the new key",
      async () => {
        const x = (await workers()).find((w) => w.id === sshWorker.id)!;
        return x.status === "offline" && x.lastError?.includes("host key") ? x : null;
      },
      30_000,
      200,
    );
    expect(w.lastError).toContain("changed");
    // Adding with an expected fingerprint that does not match is refused, nothing stored.
    const other = await grid.api("POST", "/api/v1/workers", {
      endpoint: sshd.endpoint.replace("127.0.0.1", "localhost"),
      sshPrivateKey: sshd.privateKey,
      hostKeyFingerprint: "SHA256:" + "A".repeat(43),
    });
    expect(other.status).toBe(400);
    expect(other.body.error.code).toBe("host_key_mismatch");
    expect(other.body.error.message).toContain("changed");
    expect((await workers()).some((x) => x.endpoint.includes("localhost"))).toBe(false);
  }, 60_000);

  test("across a restart the endpoint is still one worker; adding it again returns it", async () => {
    await grid.stop();
    grid = await startGrid({ port, dataDir: grid.dataDir });
    const again = await grid.api("POST", "/api/v1/workers", { endpoint: sshd.endpoint, sshPrivateKey: sshd.privateKey });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(sshWorker.id);
    const db = new Database(join(grid.dataDir, "browsergrid.db"), { readonly: true });
    const rows = db.query("SELECT endpoint, count(*) AS n FROM workers GROUP BY endpoint").all() as { n: number }[];
    db.close();
    expect(rows.every((r) => r.n === 1)).toBe(true);
    expect(rows).toHaveLength(2);
  }, 60_000);
});

describe("the FIFO queue with real browsers", () => {
  test("capacity 1: the second create starts the moment the first is deleted; the third gets 429 after the queue timeout", async () => {
    for (const id of created.splice(0)) await grid.api("DELETE", `/api/v1/sessions/${id}`);
    expect((await grid.api("PATCH", "/api/v1/pools/default", { maxSessions: 1, queueTimeoutSec: 3 })).status).toBe(200);
    try {
      const first = await createSession({ keepAlive: true });
      const second = grid.api("POST", "/api/v1/sessions", { keepAlive: true });
      await Bun.sleep(100);
      const third = grid.api("POST", "/api/v1/sessions", { keepAlive: true });
      await Bun.sleep(100);
      const pool = (await grid.api("GET", "/api/v1/pools/default")).body;
      expect(pool.stats.queued).toBe(2);
      await grid.api("DELETE", `/api/v1/sessions/${first.id}`);
      const s2 = await second;
      expect(s2.status).toBe(201);
      created.push(s2.body.id);
      const ev1 = (await grid.api("GET", `/api/v1/sessions/${first.id}/events`)).body.events;
      const ev2 = (await grid.api("GET", `/api/v1/sessions/${s2.body.id}/events`)).body.events;
      const freedAt = Date.parse(ev1.find((e: { type: string }) => e.type === "completed").at);
      const startedAt = Date.parse(ev2.find((e: { type: string }) => e.type === "starting").at);
      console.log(`queue hand-over: ${startedAt - freedAt} ms from slot freed to next start`);
      // The queued request started on the freed slot (its speed: bench/lifecycle.ts).
      expect(startedAt).toBeGreaterThanOrEqual(freedAt);
      const s3 = await third;
      expect(s3.status).toBe(429);
      expect(Number(s3.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(s3.body.error.code).toBe("capacity_exhausted");
    } finally {
      await grid.api("PATCH", "/api/v1/pools/default", { maxSessions: 10, queueTimeoutSec: 30 });
    }
  }, 60_000);
});
