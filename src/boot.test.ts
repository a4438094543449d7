// The wiring boot.ts does (buildServices), with a fake provider: each app gets its own services,
// built once and shared by every module that uses them, and a session that ends closes its
// clients through the gateway boot hands over after building it.
import { afterEach, describe, expect, test } from "bun:test";
import { makeTestApp, type TestApp } from "../test/helpers/app";
import { FakeProvider } from "../test/helpers/fake-provider";
import { buildServices, runnerDoorUrlsOf } from "./boot";
import { loadConfig } from "./config";
import { openMemoryDatabase } from "./db/client";
import { log } from "./lib/logger";
import { ProviderRegistryImpl } from "./providers/registry";
import { ensureDefaultPool } from "./modules/pools/pools.service";
import { registerWorker, setWorkerStatus } from "./modules/workers/workers.service";
import { authState } from "./modules/auth/auth.state";
import { storageOf } from "./modules/profiles/session-storage";
import * as store from "./modules/sessions/sessions.store";
import { CLOSE_CODES } from "./modules/sessions/sessions.service";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function servicesWithOneWorker() {
  const dataDir = mkdtempSync(join(tmpdir(), "bg-boot-test-"));
  dirs.push(dataDir);
  const config = loadConfig({ BROWSERGRID_DATA_DIR: dataDir });
  const db = openMemoryDatabase();
  const pool = ensureDefaultPool(db);
  db.$client.query("INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES ('usr_1', 'o@example.com', 'x', 'member', 0, 0)").run();
  const worker = registerWorker(db, { name: "local", poolId: pool.id, endpoint: "unix:///fake.sock", kind: "docker", capacity: 2 });
  setWorkerStatus(db, worker.id, "online");
  const providers = new ProviderRegistryImpl();
  providers.set(worker.id, new FakeProvider(worker.id));
  return buildServices({ config, db, log, installKey: Buffer.alloc(32, 3), providers, startedAt: Date.now(), version: "test" });
}

describe("buildServices", () => {
  test("each app has its own auth state, storage, rule engines and live hub; the modules reach those very objects", async () => {
    const a: TestApp = await makeTestApp({ withUsers: false });
    const b: TestApp = await makeTestApp({ withUsers: false });
    for (const part of ["auth", "storage", "rules", "live"] as const) {
      expect(a.deps[part]).toBeDefined();
      expect(a.deps[part]).not.toBe(b.deps[part]);
    }
    expect(authState(a.deps)).toBe(a.deps.auth);
    expect(storageOf(a.deps)).toBe(a.deps.storage);
    // The live hub reaches browsers through this app's session service, not another's.
    expect((a.deps.live as unknown as { deps: { sessions: unknown } }).deps.sessions).toBe(a.deps.sessions);
  });

  test("a session that ends closes its clients through the gateway handed over after the build", async () => {
    const { deps, gatewayBuilt } = servicesWithOneWorker();
    const owner = { type: "user", id: "usr_1" };
    // Before the gateway exists, ending a session has no client to close and does not fail.
    const early = await deps.sessions.create(owner, {});
    expect((await deps.sessions.end(early.id, "completed", "stopped by test"))?.status).toBe("completed");

    const closed: { id: string; code: number }[] = [];
    gatewayBuilt({ closeSession: (id, code) => void closed.push({ id, code }) });
    const row = await deps.sessions.create(owner, {});
    await deps.sessions.end(row.id, "completed", "stopped by test");
    expect(closed).toEqual([{ id: row.id, code: CLOSE_CODES.completed }]);
    expect(store.getSession(deps.db, row.id)?.status).toBe("completed");
    await deps.sessions.shutdown();
  });
});

describe("runnerDoorUrls", () => {
  test("the door's URLs for the local Docker worker only; null for an SSH worker and while the door is closed", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "bg-boot-test-"));
    dirs.push(dataDir);
    const config = loadConfig({ BROWSERGRID_DATA_DIR: dataDir, BROWSERGRID_DOCKER_SOCKET: "/run/test-docker.sock" });
    const db = openMemoryDatabase();
    const local = registerWorker(db, { name: "local", endpoint: "unix:///run/test-docker.sock", kind: "docker" });
    const remote = registerWorker(db, { name: "remote", endpoint: "ssh://runner@10.0.0.5:22", kind: "ssh" });
    let open: { http: string; ws: string } | null = { http: "http://172.18.0.1:7171", ws: "ws://172.18.0.1:7171" };
    const urls = runnerDoorUrlsOf(db, config, { urls: () => open });
    expect(urls(local.id)).toEqual({ http: "http://172.18.0.1:7171", ws: "ws://172.18.0.1:7171" });
    expect(urls(remote.id)).toBeNull();
    expect(urls("no-such-worker")).toBeNull();
    open = null;
    expect(urls(local.id)).toBeNull();
  });
});
