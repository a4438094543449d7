// Control-plane tests of the session lifecycle with a fake provider (fast). The same paths
// against real Docker and real Chromium are in test/e2e/sessions.e2e.test.ts.
import { beforeEach, describe, expect, test } from "bun:test";
import { openMemoryDatabase, type Db } from "../../db/client";
import { log } from "../../lib/logger";
import { ensureDefaultPool } from "../pools/pools.service";
import { registerWorker, setWorkerStatus } from "../workers/workers.service";
import { ProviderRegistryImpl } from "../../providers/registry";
import { FakeProvider } from "../../../test/helpers/fake-provider";
import { SessionService } from "./sessions.service";
import { reconcileSessions } from "./sessions.reconcile";
import * as store from "./sessions.store";
import { pools } from "../../db/schema";
import { connectToken } from "./sessions.model";
import { Scheduler } from "../../scheduler/scheduler";
import { placementCatalog } from "../workers/placement-catalog";

const key = Buffer.alloc(32, 7);
const owner = { type: "user", id: "usr_1" };

function setup(opts: { capacity?: number; queueTimeoutSec?: number } = {}) {
  const db = openMemoryDatabase();
  const pool = ensureDefaultPool(db);
  // The sessions' owner: a member in good standing (only such owners' tokens open a session).
  db.$client.query("INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES (?, 'o@example.com', 'x', 'member', 0, 0)").run(owner.id);
  if (opts.queueTimeoutSec !== undefined) db.update(pools).set({ queueTimeoutSec: opts.queueTimeoutSec }).run();
  const worker = registerWorker(db, { name: "local", poolId: pool.id, endpoint: "unix:///fake.sock", kind: "docker", capacity: opts.capacity ?? 10 });
  setWorkerStatus(db, worker.id, "online");
  const provider = new FakeProvider(worker.id);
  const providers = new ProviderRegistryImpl();
  providers.set(worker.id, provider);
  const closed: { id: string; code: number; reason: string }[] = [];
  const scheduler = new Scheduler({ db, log, providers, catalog: placementCatalog(db, providers) });
  const sessions = new SessionService({ db, log, publicUrl: "http://grid.test", installKey: key, providers, maxDurationSec: 3600, scheduler, clients: { closeSession: (id, code, reason) => closed.push({ id, code, reason }) } });
  return { db, pool, worker, provider, providers, scheduler, sessions, closed };
}

function events(db: Db, id: string) {
  return store.listEvents(db, id).map((e) => e.type);
}

describe("session lifecycle (fake provider)", () => {
  let s: ReturnType<typeof setup>;
  beforeEach(() => {
    s = setup();
  });

  test("create → running with a scoped token; stop → completed, browser gone, token dead", async () => {
    const row = await s.sessions.create(owner, {});
    expect(row.status).toBe("running");
    expect(s.provider.browsers.size).toBe(1);
    const pub = s.sessions.toPublic(row, true);
    expect(pub.cdpUrl).toStartWith(`ws://grid.test/cdp/${row.id}?token=`);
    const token = connectToken(key, row.id);
    expect(s.sessions.authorizeConnect(row.id, token)).not.toBeNull();
    expect(s.sessions.authorizeConnect(row.id, token + "x")).toBeNull();
    // The stored digest is not the token.
    expect(row.connectTokenHash).not.toContain(token);

    const stopped = await s.sessions.stop(row.id);
    expect(stopped.status).toBe("completed");
    expect(stopped.endedAt).toBeGreaterThan(0);
    expect(s.provider.browsers.size).toBe(0);
    expect(s.sessions.authorizeConnect(row.id, token)).toBeNull();
    expect(s.closed.map((c) => c.id)).toEqual([row.id]);
    expect(events(s.db, row.id)).toEqual(["starting", "running", "stopping", "completed"]);
    expect(s.sessions.toPublic(stopped, true).cdpUrl).toBeNull();
  });

  test("a token of session A does not open session B", async () => {
    const a = await s.sessions.create(owner, {});
    const b = await s.sessions.create(owner, {});
    expect(s.sessions.authorizeConnect(b.id, connectToken(key, a.id))).toBeNull();
  });

  test("crash: a died browser marks the session crashed, closes its clients, frees the slot", async () => {
    const row = await s.sessions.create(owner, {});
    s.provider.kill(row.containerId!);
    await Bun.sleep(5);
    const after = store.getSession(s.db, row.id)!;
    expect(after.status).toBe("crashed");
    expect(s.closed[0]).toMatchObject({ id: row.id, code: 4003 });
    expect(s.scheduler.capacity.loadOf(s.worker.id)).toBe(0);
  });

  test("start failure → failed with a reason, slot freed, nothing left", async () => {
    s.provider.failNextStart = new Error("image missing");
    await expect(s.sessions.create(owner, {})).rejects.toMatchObject({ status: 503 });
    const [row] = store.listSessions(s.db, { limit: 10 });
    expect(row!.status).toBe("failed");
    expect(row!.endReason).toContain("image missing");
    expect(s.scheduler.capacity.loadOf(s.worker.id)).toBe(0);
    expect(s.provider.browsers.size).toBe(0);
  });

  test("unknown pool and unavailable features are refused before any row or browser", async () => {
    await expect(s.sessions.create(owner, { pool: "nope" })).rejects.toMatchObject({ status: 400, code: "unknown_pool" });
    await expect(s.sessions.create(owner, { profile: { name: "x" } })).rejects.toMatchObject({ status: 400 });
    expect(store.listSessions(s.db, { limit: 10 })).toHaveLength(0);
    expect(s.provider.browsers.size).toBe(0);
  });

  test("non-keepAlive session ends when its last client leaves; keepAlive survives until idle timeout", async () => {
    const plain = await s.sessions.create(owner, {});
    s.sessions.onClientsChanged(plain.id, 1);
    s.sessions.onClientsChanged(plain.id, 0);
    await Bun.sleep(5);
    expect(store.getSession(s.db, plain.id)!.status).toBe("completed");

    const kept = await s.sessions.create(owner, { keepAlive: true, idleTimeoutSec: 1 });
    s.sessions.onClientsChanged(kept.id, 1);
    s.sessions.onClientsChanged(kept.id, 0);
    await Bun.sleep(300);
    expect(store.getSession(s.db, kept.id)!.status).toBe("running");
    s.sessions.onClientsChanged(kept.id, 1); // reconnect stops the idle clock
    await Bun.sleep(900);
    expect(store.getSession(s.db, kept.id)!.status).toBe("running");
    s.sessions.onClientsChanged(kept.id, 0);
    await Bun.sleep(1150);
    const ended = store.getSession(s.db, kept.id)!;
    expect(ended.status).toBe("timed_out");
    expect(ended.endReason).toContain("idle");
  });

  test("hard timeout ends a session with a connected client", async () => {
    const row = await s.sessions.create(owner, { timeoutSec: 1 });
    s.sessions.onClientsChanged(row.id, 1);
    await Bun.sleep(1150);
    const ended = store.getSession(s.db, row.id)!;
    expect(ended.status).toBe("timed_out");
    expect(s.closed.find((c) => c.id === row.id)?.reason).toContain("maximum duration");
  });
});

describe("capacity and queue", () => {
  test("a full pool queues FIFO and hands the freed slot to the oldest waiter at once", async () => {
    const s = setup({ capacity: 1, queueTimeoutSec: 5 });
    const first = await s.sessions.create(owner, {});
    const order: string[] = [];
    const second = s.sessions.create(owner, { metadata: { n: 2 } }).then((r) => (order.push("second"), r));
    const third = s.sessions.create(owner, { metadata: { n: 3 } }).then((r) => (order.push("third"), r));
    await Bun.sleep(10);
    expect(s.scheduler.capacity.queueDepth(s.pool.id)).toBe(2);
    expect(store.listSessions(s.db, { limit: 10, status: "queued" })).toHaveLength(2);
    await s.sessions.stop(first.id);
    const r2 = await second;
    expect(r2.status).toBe("running");
    await s.sessions.stop(r2.id);
    await third;
    expect(order).toEqual(["second", "third"]);
  });

  test("queue timeout → 429 with Retry-After, the queued row ends failed", async () => {
    const s = setup({ capacity: 1, queueTimeoutSec: 1 });
    await s.sessions.create(owner, {});
    const err = await s.sessions.create(owner, {}).catch((e) => e);
    expect(err.status).toBe(429);
    expect(Number(err.headers["Retry-After"])).toBeGreaterThan(0);
    const failed = store.listSessions(s.db, { limit: 10, status: "failed" });
    expect(failed[0]?.endReason).toBe("queue timeout");
  });

  test("a queued session ended while it waits starts no browser and frees the slot it is handed", async () => {
    const s = setup({ capacity: 1, queueTimeoutSec: 5 });
    const first = await s.sessions.create(owner, {});
    const waiting = s.sessions.create(owner, {}).catch((e) => e);
    await Bun.sleep(10);
    const [queued] = store.listSessions(s.db, { limit: 10, status: "queued" });
    await s.sessions.end(queued!.id, "completed", "owner's account disabled");
    await s.sessions.stop(first.id);
    expect((await waiting).code).toBe("session_stopped");
    expect(store.getSession(s.db, queued!.id)!.status).toBe("completed");
    expect(s.provider.starts).toBe(1);
    // The slot went back: the next request starts at once instead of queueing.
    const next = await s.sessions.create(owner, {});
    expect(next.status).toBe("running");
  });
});

describe("a worker whose engine stopped answering", () => {
  const unhealthy = (s: ReturnType<typeof setup>) => setWorkerStatus(s.db, s.worker.id, "unhealthy", "Docker engine stuck: no answer to network inspect within 10 s");

  test("the pool's only worker is unhealthy: 503 worker_unhealthy with the reason at once, nothing stored, nothing started", async () => {
    const s = setup({ queueTimeoutSec: 30 });
    unhealthy(s);
    const t0 = performance.now();
    const err = await s.sessions.create(owner, {}).catch((e) => e);
    expect(performance.now() - t0).toBeLessThan(1_000); // not queued until the queue timeout
    expect(err).toMatchObject({ status: 503, code: "worker_unhealthy" });
    expect(err.message).toBe('No worker can start a browser now: worker "local" is unhealthy (Docker engine stuck: no answer to network inspect within 10 s)');
    expect(store.listSessions(s.db, { limit: 10 })).toHaveLength(0);
    expect(s.provider.starts).toBe(0);
  });

  test("an offline worker still queues (it may come back); requests queued when the last worker turns unhealthy get the 503", async () => {
    const s = setup({ capacity: 1, queueTimeoutSec: 30 });
    await s.sessions.create(owner, {});
    const waiting = s.sessions.create(owner, {}).catch((e) => e);
    await Bun.sleep(10);
    expect(s.scheduler.capacity.queueDepth(s.pool.id)).toBe(1);
    unhealthy(s);
    s.scheduler.capacity.refuseWaitersIfUnplaceable();
    const err = await waiting;
    expect(err).toMatchObject({ status: 503, code: "worker_unhealthy" });
    const [failed] = store.listSessions(s.db, { limit: 10, status: "failed" });
    expect(failed!.endReason).toContain('worker "local" is unhealthy');
  });

  test("a browser start that never returns is failed by the sweep past the start deadline: start aborted, slot freed, nothing left starting", async () => {
    const s = setup();
    const scheduler = new Scheduler({ db: s.db, log, providers: s.providers, catalog: placementCatalog(s.db, s.providers) });
    const sessions = new SessionService({ db: s.db, log, publicUrl: "http://grid.test", installKey: key, providers: s.providers, maxDurationSec: 3600, startDeadlineMs: 50, scheduler, clients: { closeSession() {} } });
    s.provider.hangStarts = true;
    const creating = sessions.create(owner, {}).catch((e) => e);
    await Bun.sleep(10);
    expect(sessions.failStuckStarts()).toEqual([]); // not yet past the deadline
    const [starting] = store.listSessions(s.db, { limit: 10, status: "starting" });
    expect(starting).toBeDefined();
    await Bun.sleep(60);
    expect(sessions.failStuckStarts()).toEqual([starting!.id]);
    const err = await creating;
    expect(err).toMatchObject({ status: 503, code: "browser_start_failed" });
    expect(err.message).toContain("did not start within");
    await Bun.sleep(5);
    expect(store.getSession(s.db, starting!.id)).toMatchObject({ status: "failed" });
    expect(store.getSession(s.db, starting!.id)!.endReason).toContain("the browser did not start within 0.05 s");
    expect(scheduler.capacity.loadOf(s.worker.id)).toBe(0);
    expect(sessions.failStuckStarts()).toEqual([]); // once
  });
});

describe("requests no longer wanted leave the queue at once", () => {
  test("a queued create whose client gave up (its signal aborts): failed with a reason, out of the queue, no browser, the slot never taken", async () => {
    const s = setup({ capacity: 1, queueTimeoutSec: 30 });
    const first = await s.sessions.create(owner, {});
    const client = new AbortController();
    const waiting = s.sessions.create(owner, {}, { signal: client.signal }).catch((e) => e);
    await Bun.sleep(10);
    const [queued] = store.listSessions(s.db, { limit: 10, status: "queued" });
    client.abort();
    expect((await waiting).code).toBe("request_cancelled");
    expect(s.scheduler.capacity.queueDepth(s.pool.id)).toBe(0);
    const ended = store.getSession(s.db, queued!.id)!;
    expect(ended.status).toBe("failed");
    expect(ended.endReason).toContain("client gave up");
    expect(events(s.db, queued!.id)).toEqual(["queued", "failed"]);
    await s.sessions.stop(first.id);
    expect(s.provider.starts).toBe(1);
    expect(s.scheduler.capacity.loadOf(s.worker.id)).toBe(0);
    expect((await s.sessions.create(owner, {})).status).toBe("running");
  });

  test("a create whose client is already gone when a slot is handed to it starts nothing", async () => {
    const s = setup({ capacity: 1, queueTimeoutSec: 30 });
    const client = new AbortController();
    client.abort();
    await expect(s.sessions.create(owner, {}, { signal: client.signal })).rejects.toMatchObject({ code: "request_cancelled" });
    expect(s.provider.starts).toBe(0);
    expect(s.scheduler.capacity.loadOf(s.worker.id)).toBe(0);
  });

  test("a create whose client gives up while its browser starts: the browser is stopped once started, the session ends failed, the slot is freed", async () => {
    const s = setup({ capacity: 1, queueTimeoutSec: 30 });
    s.provider.startDelayMs = 50;
    const client = new AbortController();
    const creating = s.sessions.create(owner, {}, { signal: client.signal }).catch((e) => e);
    await Bun.sleep(10);
    client.abort();
    expect((await creating).code).toBe("request_cancelled");
    const [row] = store.listSessions(s.db, { limit: 10 });
    expect(row!.status).toBe("failed");
    expect(row!.endReason).toContain("client gave up");
    await Bun.sleep(5);
    expect(s.provider.browsers.size).toBe(0);
    expect(s.scheduler.capacity.loadOf(s.worker.id)).toBe(0);
  });

  test("a queued session that is ended (DELETE, owner disabled) leaves the queue at once, not when a slot frees", async () => {
    const s = setup({ capacity: 1, queueTimeoutSec: 30 });
    await s.sessions.create(owner, {});
    const waiting = s.sessions.create(owner, {}).catch((e) => e);
    await Bun.sleep(10);
    const [queued] = store.listSessions(s.db, { limit: 10, status: "queued" });
    await s.sessions.stop(queued!.id);
    expect(s.scheduler.capacity.queueDepth(s.pool.id)).toBe(0);
    expect((await waiting).code).toBe("session_stopped");
    expect(store.getSession(s.db, queued!.id)!.status).toBe("completed");
    expect(s.provider.starts).toBe(1);
  });
});

describe("connecting to an ended session", () => {
  test("its own token learns how it ended (410); a wrong token, an unknown id or a disabled owner get the uniform refusal", async () => {
    const s = setup();
    const row = await s.sessions.create(owner, {});
    const token = connectToken(key, row.id);
    await s.sessions.stop(row.id, "stopped by DELETE");
    expect(s.sessions.authorizeConnect(row.id, token)).toBeNull();
    const err = (() => {
      try {
        s.sessions.authorizeConnectForClient(row.id, token);
      } catch (e) {
        return e as { status: number; code: string; message: string };
      }
    })();
    expect(err).toMatchObject({ status: 410, code: "session_ended" });
    expect(err!.message).toContain(`Session ${row.id} ended (completed: stopped by DELETE) at `);
    expect(s.sessions.authorizeConnectForClient(row.id, token + "x")).toBeNull();
    expect(s.sessions.authorizeConnectForClient("ses_doesnotexist", token)).toBeNull();
    s.db.$client.query("UPDATE users SET disabled_at = 1 WHERE id = ?").run(owner.id);
    expect(s.sessions.authorizeConnectForClient(row.id, token)).toBeNull();
  });

  test("a running session: the same target as authorizeConnect", async () => {
    const s = setup();
    const row = await s.sessions.create(owner, {});
    const token = connectToken(key, row.id);
    expect(s.sessions.authorizeConnectForClient(row.id, token)).toEqual(s.sessions.authorizeConnect(row.id, token)!);
  });
});

describe("reconciliation", () => {
  test("removes orphans, crashes sessions whose browser is gone, and is a no-op the second time", async () => {
    const s = setup();
    const alive = await s.sessions.create(owner, {});
    const lost = await s.sessions.create(owner, {});
    s.provider.browsers.delete(lost.containerId!); // container vanished while we were down
    const orphan = s.provider.addOrphan("ses_gone");

    const deps = { db: s.db, log, providers: s.providers, sessions: s.sessions };
    const first = await reconcileSessions(deps, { atBoot: true });
    expect(first.removedContainers).toEqual([orphan]);
    expect(first.endedSessions.map((e) => [e.id, e.status])).toEqual([[lost.id, "crashed"]]);
    expect(store.getSession(s.db, alive.id)!.status).toBe("running");

    const second = await reconcileSessions(deps, { atBoot: true });
    expect(second).toEqual({ removedContainers: [], endedSessions: [], unreachableWorkers: [] });
    expect(store.listSessions(s.db, { limit: 10 })).toHaveLength(2);
  });
});
