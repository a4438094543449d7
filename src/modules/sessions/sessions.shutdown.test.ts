// The shutdown rule with a fake provider: what a stop ends, what it keeps, and that it returns
// (reporting what is left) when a removal hangs. The same with real Docker and Chromium:
// test/e2e/shutdown.e2e.test.ts.
import { expect, test } from "bun:test";
import { openMemoryDatabase } from "../../db/client";
import { log } from "../../lib/logger";
import { ensureDefaultPool } from "../pools/pools.service";
import { registerWorker, setWorkerStatus } from "../workers/workers.service";
import { ProviderRegistryImpl } from "../../providers/registry";
import { FakeProvider } from "../../../test/helpers/fake-provider";
import { SessionService } from "./sessions.service";
import { Scheduler } from "../../scheduler/scheduler";
import { placementCatalog } from "../workers/placement-catalog";
import { endSessionsForShutdown, SHUTDOWN_REASON } from "./sessions.shutdown";
import * as store from "./sessions.store";

const owner = { type: "user", id: "usr_1" };

function setup() {
  const db = openMemoryDatabase();
  const pool = ensureDefaultPool(db);
  db.$client.query("INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES (?, 'o@example.com', 'x', 'member', 0, 0)").run(owner.id);
  const worker = registerWorker(db, { name: "local", poolId: pool.id, endpoint: "unix:///fake.sock", kind: "docker", capacity: 10 });
  setWorkerStatus(db, worker.id, "online");
  const provider = new FakeProvider(worker.id);
  const providers = new ProviderRegistryImpl();
  providers.set(worker.id, provider);
  const closed: { id: string; reason: string }[] = [];
  const scheduler = new Scheduler({ db, log, providers, catalog: placementCatalog(db, providers), warmPools: true });
  const warm = scheduler.warm!;
  const sessions = new SessionService({ db, log, publicUrl: "http://grid.test", installKey: Buffer.alloc(32, 7), providers, maxDurationSec: 3600, scheduler, clients: { closeSession: (id, _code, reason) => closed.push({ id, reason }) } });
  sessions.adoptLiveSessions();
  return { db, log, provider, providers, sessions, warm, closed };
}

test("ends every session that is not keep-alive (clients told why), removes its browser, the orphans and the warm ones; keeps the keep-alive one; refuses new creates", async () => {
  const s = setup();
  const plain = await s.sessions.create(owner, {});
  const kept = await s.sessions.create(owner, { keepAlive: true });
  s.provider.addOrphan("ses_neverexisted");
  s.provider.browsers.set("warm-1", { handle: "warm-1", sessionId: "wrm_1", workerId: s.provider.workerId, running: true, warm: true });

  const report = await endSessionsForShutdown(s);

  expect(report.ended).toEqual([plain.id]);
  expect(report.kept).toEqual([kept.id]);
  expect(report.left).toEqual([]);
  expect([...s.provider.browsers.values()].map((b) => b.sessionId)).toEqual([kept.id]);
  expect(store.getSession(s.db, plain.id)).toMatchObject({ status: "completed", endReason: SHUTDOWN_REASON });
  expect(store.getSession(s.db, kept.id)?.status).toBe("running");
  expect(s.closed).toEqual([{ id: plain.id, reason: `session ended: completed (${SHUTDOWN_REASON})` }]);
  await expect(s.sessions.create(owner, {})).rejects.toMatchObject({ code: "shutting_down" });
});

test("a removal that never finishes does not hold the stop: it returns with the browser reported as left", async () => {
  const s = setup();
  const plain = await s.sessions.create(owner, {});
  s.provider.stop = () => new Promise<void>(() => {});
  const report = await endSessionsForShutdown(s, { graceMs: 20, totalMs: 40 });
  expect(report.left.length).toBeGreaterThan(0);
  expect(store.getSession(s.db, plain.id)?.status).toBe("completed");
});
