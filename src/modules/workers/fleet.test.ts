// Worker status from health checks (fake provider: exact and fast): a worker that cannot be
// reached is offline; one whose engine answers but misses a deadline (or whose check never
// answers) is unhealthy with the reason; both come back online by themselves, and every
// transition reaches the hooks. The same with a real engine: test/e2e/engine-stuck.e2e.test.ts.
import { expect, test } from "bun:test";
import { openMemoryDatabase } from "../../db/client";
import { log } from "../../lib/logger";
import { ProviderRegistryImpl } from "../../providers/registry";
import { FakeProvider } from "../../../test/helpers/fake-provider";
import { ensureDefaultPool } from "../pools/pools.service";
import { WorkerFleet } from "./fleet";
import { getWorker, registerWorker } from "./workers.service";

function setup() {
  const db = openMemoryDatabase();
  const pool = ensureDefaultPool(db);
  const worker = registerWorker(db, { name: "local", poolId: pool.id, endpoint: "unix:///fake.sock", kind: "docker" });
  const provider = new FakeProvider(worker.id);
  const providers = new ProviderRegistryImpl();
  const changes: string[] = [];
  const fleet = new WorkerFleet(
    { db, log, providers, build: () => provider, healthTimeoutMs: 100 },
    { onProviderAdded() {}, onStatusChange: (w, from, to) => void changes.push(`${w.name}: ${from} → ${to}`) },
  );
  fleet.sync();
  return { db, worker, provider, fleet, changes };
}

test("online → unhealthy (missed deadline, with the reason) → online; offline stays for what cannot be reached", async () => {
  const { db, worker, provider, fleet, changes } = setup();
  expect(await fleet.check(worker.id)).toBe(true);
  expect(getWorker(db, worker.id).status).toBe("online");

  provider.healthAnswer = { ok: false, missedDeadline: true, detail: "Docker engine stuck: no answer to network x inspect within 1 s" };
  expect(await fleet.check(worker.id)).toBe(false);
  expect(getWorker(db, worker.id)).toMatchObject({ status: "unhealthy", lastError: "Docker engine stuck: no answer to network x inspect within 1 s" });

  provider.healthAnswer = { ok: false, detail: "Docker engine unreachable: cannot connect" };
  await fleet.check(worker.id);
  expect(getWorker(db, worker.id)).toMatchObject({ status: "offline", lastError: "Docker engine unreachable: cannot connect" });

  provider.healthAnswer = { ok: true };
  await fleet.check(worker.id);
  expect(getWorker(db, worker.id)).toMatchObject({ status: "online", lastError: null });
  expect(changes).toEqual(["local: offline → online", "local: online → unhealthy", "local: unhealthy → offline", "local: offline → online"]);
});

test("a health check that never answers counts as a missed deadline: unhealthy, not waited on", async () => {
  const { db, worker, provider, fleet } = setup();
  await fleet.check(worker.id);
  provider.healthAnswer = null;
  const t0 = performance.now();
  expect(await fleet.check(worker.id)).toBe(false);
  expect(performance.now() - t0).toBeLessThan(1_000);
  expect(getWorker(db, worker.id)).toMatchObject({ status: "unhealthy", lastError: "the health check got no answer within 0.1 s" });
});

test("a draining worker stays draining whatever its engine answers", async () => {
  const { db, worker, provider, fleet } = setup();
  db.$client.query("UPDATE workers SET status = 'draining' WHERE id = ?").run(worker.id);
  provider.healthAnswer = { ok: false, missedDeadline: true, detail: "stuck" };
  await fleet.check(worker.id);
  expect(getWorker(db, worker.id)).toMatchObject({ status: "draining", lastError: "stuck" });
});
