// Warm browsers on a worker shared by pools (fake provider): each pool keeps its own warm
// browsers there, started with its own flavour and counted against the worker's capacity; a
// warm browser of one pool is never claimed for another; a worker that stops serving a pool
// gives that pool's warm browsers back; a queued request takes back a slot another pool's warm
// browser holds.
import { expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { openMemoryDatabase } from "../db/client";
import { log } from "../lib/logger";
import { pools } from "../db/schema";
import { ProviderRegistryImpl } from "../providers/registry";
import type { BrowserSpec } from "../providers/provider";
import { FakeProvider } from "../../test/helpers/fake-provider";
import { SessionService } from "../modules/sessions/sessions.service";
import { registerWorker, setWorkerStatus, updateWorker } from "../modules/workers/workers.service";
import { placementCatalog } from "../modules/workers/placement-catalog";
import { createPool, ensureDefaultPool } from "../modules/pools/pools.service";
import { insertClaimedSession } from "../modules/sessions/sessions.store";
import { Scheduler } from "./scheduler";
import { listWarm, warmCounts } from "./warm.store";

const owner = { type: "user", id: "usr_1" };

function setup(opts: { capacity: number; defaultWarm?: number; otherWarm?: number }) {
  const db = openMemoryDatabase();
  const main = ensureDefaultPool(db);
  db.update(pools).set({ minWarm: opts.defaultWarm ?? 0, queueTimeoutSec: 5 }).where(eq(pools.id, main.id)).run();
  const other = createPool(db, "other", { flavour: "chromium", minWarm: opts.otherWarm ?? 0, queueTimeoutSec: 5 });
  const providers = new ProviderRegistryImpl();
  const w = registerWorker(db, { name: "shared", pools: "all", endpoint: "unix:///fake.sock", kind: "docker", capacity: opts.capacity });
  setWorkerStatus(db, w.id, "online");
  const fake = new FakeProvider(w.id);
  const specs: BrowserSpec[] = [];
  const start = fake.start.bind(fake);
  fake.start = (spec) => (specs.push(spec), start(spec));
  providers.set(w.id, fake);
  const scheduler = new Scheduler({ db, log, providers, catalog: placementCatalog(db, providers), warmPools: true });
  const warm = scheduler.warm!;
  const sessions = new SessionService({ db, log, publicUrl: "http://grid.test", installKey: Buffer.alloc(32, 1), providers, maxDurationSec: 3600, scheduler, clients: { closeSession() {} } });
  return { db, main, other, worker: w, fake, specs, scheduler, sessions, warm };
}

async function until(what: string, fn: () => boolean, ms = 2000) {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await Bun.sleep(2);
  }
}

test("each pool keeps its own warm browsers on the shared worker, with its own flavour, within the worker's capacity", async () => {
  const s = setup({ capacity: 3, defaultWarm: 1, otherWarm: 2 });
  s.warm.fill();
  await until("1 + 2 warm", () => warmCounts(s.db, s.main.id).ready === 1 && warmCounts(s.db, s.other.id).ready === 2);
  expect(s.specs.map((x) => `${x.poolId === s.other.id ? "other" : "default"}:${x.flavour}`).sort()).toEqual(["default:headless-shell", "other:chromium", "other:chromium"]);
  expect(s.scheduler.capacity.loadOf(s.worker.id)).toBe(3);
  expect([s.scheduler.capacity.poolLoadOf(s.main.id), s.scheduler.capacity.poolLoadOf(s.other.id)]).toEqual([1, 2]);
});

test("a warm browser of one pool is never claimed for another", async () => {
  const s = setup({ capacity: 5, otherWarm: 2 });
  s.warm.fill();
  await until("2 warm in other", () => warmCounts(s.db, s.other.id).ready === 2);
  const starts = s.fake.starts;
  const row = await s.sessions.create(owner, {}); // the default pool: nothing warm of its own
  expect(s.fake.starts).toBe(starts + 1); // started cold
  expect(row.poolId).toBe(s.main.id);
  expect(warmCounts(s.db, s.other.id).ready).toBe(2); // other's warm browsers untouched
  expect((row.config as { browser: string }).browser).toBe("headless-shell");
  const claimed = await s.sessions.create(owner, { pool: "other" });
  expect(s.fake.starts).toBe(starts + 1); // a claim
  expect((claimed.config as { browser: string }).browser).toBe("chromium");
});

test("a worker narrowed away from a pool: its warm browsers there are no longer claimable, and are given back", async () => {
  const s = setup({ capacity: 5, otherWarm: 1 });
  s.warm.fill();
  await until("1 warm in other", () => warmCounts(s.db, s.other.id).ready === 1);
  updateWorker(s.db, s.worker.id, { pools: [s.main.id] });
  const row = { id: "ses_x", poolId: s.other.id, workerId: null, ownerType: "user", ownerId: "usr_1", status: "starting" as const, config: {}, metadata: {}, timeoutSec: 60, idleTimeoutSec: 60 };
  expect(s.scheduler.claimWarm(s.other.id, "chromium:1280x720", (w) => insertClaimedSession(s.db, row, w, {}))).toBeNull();
  await s.warm.maintain();
  expect(listWarm(s.db)).toHaveLength(0);
  expect(s.fake.browsers.size).toBe(0);
  expect(s.scheduler.capacity.loadOf(s.worker.id)).toBe(0);
});

test("a queued request takes back the slot another pool's idle warm browser holds on a worker it can use", async () => {
  const s = setup({ capacity: 2, otherWarm: 2 });
  s.warm.fill();
  await until("worker full of other's warm browsers", () => warmCounts(s.db, s.other.id).ready === 2);
  const row = await s.sessions.create(owner, {});
  expect(row.status).toBe("running");
  expect(row.poolId).toBe(s.main.id);
  expect(warmCounts(s.db, s.other.id).ready).toBe(1);
  expect(s.scheduler.capacity.loadOf(s.worker.id)).toBe(2);
});
