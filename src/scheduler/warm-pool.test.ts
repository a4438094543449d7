// Warm pools, the queue and placement on the control plane (fake provider: fast and exact).
// The same paths with real Docker, Chromium and Playwright are in test/e2e/workers.e2e.test.ts.
import { describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { openMemoryDatabase } from "../db/client";
import { log } from "../lib/logger";
import { pools } from "../db/schema";
import { ProviderRegistryImpl } from "../providers/registry";
import { FakeProvider } from "../../test/helpers/fake-provider";
import { SessionService } from "../modules/sessions/sessions.service";
import { reconcileSessions } from "../modules/sessions/sessions.reconcile";
import * as store from "../modules/sessions/sessions.store";
import { registerWorker, setWorkerStatus } from "../modules/workers/workers.service";
import { placementCatalog } from "../modules/workers/placement-catalog";
import { ensureDefaultPool } from "../modules/pools/pools.service";
import { setMaintenance } from "../modules/settings/maintenance.service";
import { browserStartBudgetMs } from "../providers/engine-deadlines";
import { Scheduler } from "./scheduler";
import { REFILL_DEFER_MS } from "./warm-pool";
import { insertWarm, listWarm, markWarmReady, warmCounts } from "./warm.store";

const owner = { type: "user", id: "usr_1" };

function setup(opts: { workers?: number; capacity?: number; minWarm?: number; maxSessions?: number; queueTimeoutSec?: number; placement?: "spread" | "pack" } = {}) {
  const db = openMemoryDatabase();
  const pool = ensureDefaultPool(db);
  db.update(pools)
    .set({ minWarm: opts.minWarm ?? 0, maxSessions: opts.maxSessions ?? 10, queueTimeoutSec: opts.queueTimeoutSec ?? 30, placement: opts.placement ?? "spread" })
    .where(eq(pools.id, pool.id))
    .run();
  const providers = new ProviderRegistryImpl();
  const fakes: FakeProvider[] = [];
  for (let i = 0; i < (opts.workers ?? 1); i++) {
    const w = registerWorker(db, { name: `w${i}`, poolId: pool.id, endpoint: `unix:///fake${i}.sock`, kind: "docker", capacity: opts.capacity ?? 10 });
    setWorkerStatus(db, w.id, "online");
    const f = new FakeProvider(w.id);
    providers.set(w.id, f);
    fakes.push(f);
  }
  const scheduler = new Scheduler({ db, log, providers, catalog: placementCatalog(db, providers), warmPools: true });
  const warm = scheduler.warm!;
  const sessions = new SessionService({ db, log, publicUrl: "http://grid.test", installKey: Buffer.alloc(32, 1), providers, maxDurationSec: 3600, scheduler, clients: { closeSession() {} } });
  return { db, pool, providers, fakes, scheduler, sessions, warm };
}

async function until(what: string, fn: () => boolean, ms = 2000) {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await Bun.sleep(2);
  }
}

describe("warm pool", () => {
  test("fills minWarm ahead; a default request claims one without starting anything; the pool refills", async () => {
    const s = setup({ minWarm: 2 });
    s.warm.fill();
    await until("2 warm ready", () => warmCounts(s.db, s.pool.id).ready === 2);
    const startsBefore = s.fakes[0]!.starts;
    const t0 = performance.now();
    const row = await s.sessions.create(owner, {});
    const ms = performance.now() - t0;
    expect(row.status).toBe("running");
    expect(s.fakes[0]!.starts).toBe(startsBefore); // no browser started on the request path
    expect(row.containerId).toStartWith("fake-");
    await until("refilled once", () => warmCounts(s.db, s.pool.id).ready === 2);
    const t1 = performance.now();
    const second = await s.sessions.create(owner, {});
    const ms2 = performance.now() - t1;
    console.log(`claim: first ${ms.toFixed(2)} ms, second ${ms2.toFixed(2)} ms`);
    expect(store.listEvents(s.db, second.id).map((e) => e.type)).toEqual(["starting", "running"]); // a claim: no queue, no start of its own
    await s.sessions.stop(second.id);
    expect(store.listEvents(s.db, row.id).map((e) => e.type)).toEqual(["starting", "running"]);
    // A warm browser is not a session.
    expect(store.listSessions(s.db, { limit: 50 }).map((r) => r.id).sort()).toEqual([row.id, second.id].sort());
    await until("refilled", () => warmCounts(s.db, s.pool.id).ready === 2);
    expect(s.scheduler.capacity.loadOf(s.fakes[0]!.workerId)).toBe(3);
    await s.sessions.stop(row.id);
    expect(s.scheduler.capacity.loadOf(s.fakes[0]!.workerId)).toBe(2);
  });

  test("after a claim the refill waits while a ready browser is left, and starts at once when none is", async () => {
    const s = setup({ minWarm: 2 });
    s.warm.fill();
    await until("2 warm ready", () => warmCounts(s.db, s.pool.id).ready === 2);
    const starts = s.fakes[0]!.starts;
    await s.sessions.create(owner, {}); // one ready browser is left: the refill is deferred
    await Bun.sleep(REFILL_DEFER_MS / 5);
    expect(s.fakes[0]!.starts).toBe(starts);
    await s.sessions.create(owner, {}); // none left: the refill starts now
    await until("refill started", () => s.fakes[0]!.starts > starts, REFILL_DEFER_MS / 2);
    await until("refilled", () => warmCounts(s.db, s.pool.id).ready === 2);
    s.warm.close();
  });

  test("a request with other settings starts cold; a warm browser that dies is replaced", async () => {
    const s = setup({ minWarm: 1 });
    s.warm.fill();
    await until("warm", () => warmCounts(s.db, s.pool.id).ready === 1);
    const starts = s.fakes[0]!.starts;
    const cold = await s.sessions.create(owner, { viewport: { width: 1000, height: 700 } });
    expect(s.fakes[0]!.starts).toBe(starts + 1);
    expect(warmCounts(s.db, s.pool.id).ready).toBe(1);
    const cold2 = await s.sessions.create(owner, { locale: "de-DE" });
    expect(s.fakes[0]!.starts).toBe(starts + 2);
    const w = listWarm(s.db)[0]!;
    s.fakes[0]!.kill(w.containerId!);
    await until("replaced", () => listWarm(s.db).length === 1 && listWarm(s.db)[0]!.id !== w.id && listWarm(s.db)[0]!.status === "ready");
    expect(store.getSession(s.db, cold.id)!.status).toBe("running");
    expect(store.getSession(s.db, cold2.id)!.status).toBe("running");
  });

  test("a warm browser still starting past the start deadline is given up (slot freed); its late browser is stopped", async () => {
    const s = setup({ minWarm: 1 });
    s.fakes[0]!.startDelayMs = 150;
    s.warm.fill();
    expect(warmCounts(s.db, s.pool.id).starting).toBe(1);
    expect(s.warm.failStuckStarts()).toEqual([]); // within its deadline
    const [stuck] = listWarm(s.db);
    expect(s.warm.failStuckStarts(Date.now() + browserStartBudgetMs())).toEqual([stuck!.id]);
    expect(listWarm(s.db)).toHaveLength(0);
    expect(s.scheduler.capacity.loadOf(s.fakes[0]!.workerId)).toBe(0);
    s.fakes[0]!.startDelayMs = 0;
    // The late start finds its row gone and stops its browser; the pool refills with a new one.
    await until("refilled", () => listWarm(s.db).some((w) => w.status === "ready" && w.id !== stuck!.id), 3_000);
    expect([...s.fakes[0]!.browsers.values()].map((b) => b.sessionId)).toEqual([listWarm(s.db)[0]!.id]);
  });

  test("reconciliation keeps warm browsers and the container of a claimed one; removes stale warm containers", async () => {
    const s = setup({ minWarm: 2 });
    s.warm.fill();
    await until("warm", () => warmCounts(s.db, s.pool.id).ready === 2);
    const claimed = await s.sessions.create(owner, {});
    const stale = s.fakes[0]!.addOrphan("wrm_gone");
    s.fakes[0]!.browsers.get(stale)!.warm = true;
    const report = await reconcileSessions({ db: s.db, log, providers: s.providers, sessions: s.sessions, warm: s.warm }, { atBoot: false });
    expect(report.removedContainers).toEqual([stale]);
    expect(report.endedSessions).toEqual([]);
    expect(s.fakes[0]!.browsers.has(claimed.containerId!)).toBe(true);
    expect(store.getSession(s.db, claimed.id)!.status).toBe("running");
  });

  test("concurrent claims never share a browser", async () => {
    const s = setup({ minWarm: 5 });
    s.warm.fill();
    await until("warm", () => warmCounts(s.db, s.pool.id).ready === 5);
    const rows = await Promise.all(Array.from({ length: 5 }, () => s.sessions.create(owner, {})));
    expect(new Set(rows.map((r) => r.containerId)).size).toBe(5);
  });

  test("a queued request evicts an idle warm browser instead of waiting behind it", async () => {
    const s = setup({ minWarm: 1, capacity: 1, maxSessions: 1 });
    s.warm.fill();
    await until("warm", () => warmCounts(s.db, s.pool.id).ready === 1);
    const row = await s.sessions.create(owner, { viewport: { width: 900, height: 900 } });
    expect(row.status).toBe("running");
    expect(warmCounts(s.db, s.pool.id).ready).toBe(0);
  });
});

describe("queue and placement", () => {
  test("capacity 1: the second request waits and starts when the first ends; a third times out with 429", async () => {
    const s = setup({ capacity: 1, queueTimeoutSec: 1 });
    const first = await s.sessions.create(owner, {});
    const second = s.sessions.create(owner, {});
    await Bun.sleep(20);
    expect(s.scheduler.capacity.queueDepth(s.pool.id)).toBe(1);
    const third = s.sessions.create(owner, {}).catch((e) => e);
    await Bun.sleep(50);
    await s.sessions.stop(first.id);
    const row = await second;
    expect(row.status).toBe("running");
    const err = await third;
    expect(err.status).toBe(429);
    expect(Number(err.headers["Retry-After"])).toBeGreaterThanOrEqual(1);
  });

  test("spread puts sessions on the least-loaded worker; pack fills one first; offline and draining workers get none", async () => {
    const spread = setup({ workers: 2 });
    const a = await spread.sessions.create(owner, {});
    const b = await spread.sessions.create(owner, {});
    expect(a.workerId).not.toBe(b.workerId);
    const pack = setup({ workers: 2, placement: "pack" });
    const c = await pack.sessions.create(owner, {});
    const d = await pack.sessions.create(owner, {});
    expect(c.workerId).toBe(d.workerId);
    setWorkerStatus(pack.db, c.workerId!, "offline");
    expect((await pack.sessions.create(owner, {})).workerId).not.toBe(c.workerId);
    setWorkerStatus(pack.db, c.workerId!, "draining");
    expect((await pack.sessions.create(owner, {})).workerId).not.toBe(c.workerId);
  });

  test("maintenance: new sessions get 503 with the message; scheduled windows too", async () => {
    const s = setup();
    const running = await s.sessions.create(owner, {});
    setMaintenance(s.db, { enabled: true, message: "upgrading to 2.0" });
    const err = await s.sessions.create(owner, {}).catch((e) => e);
    expect(err.status).toBe(503);
    expect(err.message).toBe("upgrading to 2.0");
    expect(store.getSession(s.db, running.id)!.status).toBe("running");
    setMaintenance(s.db, { enabled: false, windows: [{ start: new Date(Date.now() - 1000).toISOString(), end: new Date(Date.now() + 60_000).toISOString(), message: "window" }] });
    expect((await s.sessions.create(owner, {}).catch((e) => e)).message).toBe("window");
    setMaintenance(s.db, { windows: [{ start: new Date(Date.now() + 60_000).toISOString(), end: new Date(Date.now() + 120_000).toISOString() }] });
    expect((await s.sessions.create(owner, {})).status).toBe("running");
  });
});

test("a claim skips the fsync only in a pool whose workers are all on this machine", () => {
  const db = openMemoryDatabase();
  const pool = ensureDefaultPool(db);
  const local = registerWorker(db, { name: "here", poolId: pool.id, endpoint: "unix:///fake.sock", kind: "docker", capacity: 10 });
  setWorkerStatus(db, local.id, "online");
  const pragmas: string[] = [];
  const exec = db.$client.exec.bind(db.$client);
  db.$client.exec = ((sql: string) => (sql.startsWith("PRAGMA synchronous") && pragmas.push(sql), exec(sql))) as typeof db.$client.exec;
  const providers = new ProviderRegistryImpl();
  const scheduler = new Scheduler({ db, log, providers, catalog: placementCatalog(db, providers) });
  const claimOne = () => {
    const id = `wrm_${pragmas.length}_${Math.random().toString(36).slice(2, 8)}`;
    insertWarm(db, { id, poolId: pool.id, workerId: local.id, key: "k" });
    markWarmReady(db, id, `c_${id}`, "10.0.0.2:9222");
    pragmas.length = 0;
    const now = Date.now();
    const row = scheduler.claimWarm(pool.id, "k", (w) => store.insertClaimedSession(db, { id: `ses_${id}`, poolId: pool.id, ownerType: "user", ownerId: "usr_1", status: "starting", config: {}, metadata: {}, timeoutSec: 60, idleTimeoutSec: 60, startedAt: now }, w, { pool: "default" }))?.adopted;
    expect(row?.containerId).toBe(`c_${id}`);
    return [...pragmas];
  };
  expect(claimOne()).toEqual(["PRAGMA synchronous = NORMAL", "PRAGMA synchronous = FULL"]);
  // A browser on another machine outlives this one's power cut: its claim must be on disk first.
  registerWorker(db, { name: "there", poolId: pool.id, endpoint: "ssh://bg@10.0.0.9:22", kind: "docker", capacity: 10 });
  expect(claimOne()).toEqual([]);
});

describe("warm browsers and the pool's limits", () => {
  test("a warm browser started under other CPU or storage limits is replaced by one with the pool's new limits", async () => {
    const s = setup({ minWarm: 1 });
    const limitsSeen: unknown[] = [];
    const start = s.fakes[0]!.start.bind(s.fakes[0]!);
    s.fakes[0]!.start = (spec) => (limitsSeen.push(s.db.select().from(pools).get()!.cpuMillis), start(spec));
    s.warm.fill();
    await until("1 warm ready", () => warmCounts(s.db, s.pool.id).ready === 1);
    const [before] = listWarm(s.db, s.pool.id);
    s.db.update(pools).set({ cpuMillis: 2000 }).where(eq(pools.id, s.pool.id)).run();
    await s.warm.maintain();
    await until("replaced", () => listWarm(s.db, s.pool.id).some((w) => w.status === "ready" && w.id !== before!.id));
    expect(listWarm(s.db, s.pool.id).map((w) => w.id)).not.toContain(before!.id);
    expect(limitsSeen).toEqual([1000, 2000]);
  });
});
