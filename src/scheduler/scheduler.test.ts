// The scheduler's one entry point and its claim (fake provider): a warm claim refills the pool
// once, whatever path the create takes; the claim and the session row commit together or not at
// all; a claimed warm browser's slot is the session's from the claim to its end, and is counted
// once when the counts are rebuilt.
import { expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { openMemoryDatabase } from "../db/client";
import { log } from "../lib/logger";
import { pools } from "../db/schema";
import { ProviderRegistryImpl } from "../providers/registry";
import { FakeProvider } from "../../test/helpers/fake-provider";
import { SessionService, type SessionNetwork } from "../modules/sessions/sessions.service";
import * as store from "../modules/sessions/sessions.store";
import { registerWorker, setWorkerStatus } from "../modules/workers/workers.service";
import { placementCatalog } from "../modules/workers/placement-catalog";
import { ensureDefaultPool } from "../modules/pools/pools.service";
import { Scheduler } from "./scheduler";
import { listWarm, warmCounts, warmKey } from "./warm.store";

const owner = { type: "user", id: "usr_1" };

/** A session network that only records its start step (what a proxy or rule set would do). */
function recordingNetwork(started: string[]): SessionNetwork {
  return {
    prepare: async () => ({ config: {}, spec: {}, cold: false, started: async (row) => void started.push(row.id) }),
    resume: async () => {},
    ended: () => {},
  };
}

function setup(opts: { minWarm: number; network?: SessionNetwork }) {
  const db = openMemoryDatabase();
  const pool = ensureDefaultPool(db);
  db.update(pools).set({ minWarm: opts.minWarm, maxSessions: 10 }).where(eq(pools.id, pool.id)).run();
  const worker = registerWorker(db, { name: "w", poolId: pool.id, endpoint: "unix:///fake.sock", kind: "docker", capacity: 10 });
  setWorkerStatus(db, worker.id, "online");
  const fake = new FakeProvider(worker.id);
  const providers = new ProviderRegistryImpl();
  providers.set(worker.id, fake);
  const scheduler = new Scheduler({ db, log, providers, catalog: placementCatalog(db, providers), warmPools: true });
  const sessions = new SessionService({ db, log, publicUrl: "http://grid.test", installKey: Buffer.alloc(32, 1), providers, maxDurationSec: 3600, scheduler, network: opts.network, clients: { closeSession() {} } });
  const refills: string[] = [];
  const refill = scheduler.warm!.refillAfterClaim.bind(scheduler.warm!);
  scheduler.warm!.refillAfterClaim = (poolId) => (refills.push(poolId), refill(poolId));
  return { db, pool, worker, fake, scheduler, sessions, refills };
}

async function until(what: string, fn: () => boolean, ms = 2000) {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await Bun.sleep(2);
  }
}

const DEFAULT_KEY = warmKey({ browser: "headless-shell", viewport: { width: 1280, height: 720 } });

test("a warm claim refills its pool exactly once, with a session network as without", async () => {
  const networkStarted: string[] = [];
  for (const network of [undefined, recordingNetwork(networkStarted)]) {
    const s = setup({ minWarm: 2, network });
    s.scheduler.warm!.fill();
    await until("2 warm ready", () => warmCounts(s.db, s.pool.id).ready === 2);
    const row = await s.sessions.create(owner, {});
    expect(store.listEvents(s.db, row.id).map((e) => e.type)).toEqual(["starting", "running"]); // a claim
    expect(s.refills).toEqual([s.pool.id]);
    const cold = await s.sessions.create(owner, { locale: "de-DE" }); // not a claim: no refill
    expect(cold.status).toBe("running");
    expect(s.refills).toEqual([s.pool.id]);
    s.scheduler.close(new Error("test over"));
  }
  expect(networkStarted).toHaveLength(2); // the claimed session's network was set up (and the cold one's)
});

test("claim and session insert are one transaction: a failing insert leaves the warm browser in the pool, ready for the next claim", async () => {
  const s = setup({ minWarm: 1 });
  s.scheduler.warm!.fill();
  await until("1 warm ready", () => warmCounts(s.db, s.pool.id).ready === 1);
  const [warm] = listWarm(s.db);
  const taken = await s.sessions.create(owner, { viewport: { width: 900, height: 900 } }); // cold: a session id to collide with
  const loadBefore = s.scheduler.capacity.loadOf(s.worker.id);
  // The sessions store refuses the row (its id exists): the claim is rolled back with it.
  const duplicate = { id: taken.id, poolId: s.pool.id, ownerType: "user", ownerId: "usr_1", status: "starting" as const, config: {}, metadata: {}, timeoutSec: 60, idleTimeoutSec: 60 };
  expect(() => s.scheduler.claimWarm(s.pool.id, DEFAULT_KEY, (w) => store.insertClaimedSession(s.db, duplicate, w, {}))).toThrow();
  expect(listWarm(s.db)).toEqual([warm!]);
  expect(store.listSessions(s.db, { limit: 10 }).map((r) => r.id)).toEqual([taken.id]);
  expect(s.scheduler.capacity.loadOf(s.worker.id)).toBe(loadBefore);
  expect(s.refills).toEqual([]); // no claim happened
  // The next claim gets that very browser.
  const claimed = await s.sessions.create(owner, {});
  expect(claimed.containerId).toBe(warm!.containerId);
  expect(listWarm(s.db).map((w) => w.id)).not.toContain(warm!.id);
  s.scheduler.close(new Error("test over"));
});

test("acquire: a claimed warm browser's slot becomes the session's (counts unchanged), releasing it frees it, and a rebuild counts it once", async () => {
  const s = setup({ minWarm: 1 });
  s.scheduler.warm!.fill();
  await until("1 warm ready", () => warmCounts(s.db, s.pool.id).ready === 1);
  s.scheduler.close(new Error("no refill")); // keep the counts to the one browser
  const before = [s.scheduler.capacity.loadOf(s.worker.id), s.scheduler.capacity.poolLoadOf(s.pool.id)];
  expect(before).toEqual([1, 1]);
  const row = { id: "ses_claim", poolId: s.pool.id, ownerType: "user", ownerId: "usr_1", status: "starting" as const, config: {}, metadata: {}, timeoutSec: 60, idleTimeoutSec: 60 };
  const got = await s.scheduler.acquire({ poolId: s.pool.id, warmKey: DEFAULT_KEY, adoptWarm: (w) => store.insertClaimedSession(s.db, row, w, {}), queueTimeoutMs: 1000 });
  expect(got.kind).toBe("warm");
  if (got.kind !== "warm") return;
  expect(got.slot).toEqual({ workerId: s.worker.id, poolId: s.pool.id });
  expect(got.adopted.containerId).toBe(got.warm.containerId);
  expect([s.scheduler.capacity.loadOf(s.worker.id), s.scheduler.capacity.poolLoadOf(s.pool.id)]).toEqual([1, 1]);
  // After a restart: the claimed session and no warm row hold one slot.
  s.scheduler.rebuildSlots(store.liveSessions(s.db).map((r) => ({ workerId: r.workerId!, poolId: r.poolId })));
  expect(s.scheduler.capacity.loadOf(s.worker.id)).toBe(1);
  s.scheduler.release(got.slot);
  expect([s.scheduler.capacity.loadOf(s.worker.id), s.scheduler.capacity.poolLoadOf(s.pool.id)]).toEqual([0, 0]);
});

test("acquire: a request a warm browser cannot serve gets a slot on a worker; releasing it frees it", async () => {
  const s = setup({ minWarm: 1 });
  s.scheduler.warm!.fill();
  await until("1 warm ready", () => warmCounts(s.db, s.pool.id).ready === 1);
  const got = await s.scheduler.acquire({ poolId: s.pool.id, warmKey: null, adoptWarm: () => expect.unreachable(), queueTimeoutMs: 1000 });
  expect(got).toEqual({ kind: "cold", slot: { workerId: s.worker.id, poolId: s.pool.id } });
  expect(warmCounts(s.db, s.pool.id).ready).toBe(1); // the warm browser was not touched
  expect(s.scheduler.capacity.loadOf(s.worker.id)).toBe(2);
  s.scheduler.release(got.slot);
  expect(s.scheduler.capacity.loadOf(s.worker.id)).toBe(1);
  s.scheduler.close(new Error("test over"));
});
