// The wiring boot.ts does (buildServices), with a fake provider: each app gets its own services,
// built once and shared by every module that uses them, and a session that ends closes its
// clients through the gateway boot hands over after building it, and its CDP link.
import { afterEach, describe, expect, test } from "bun:test";
import { makeTestApp, type TestApp } from "../test/helpers/app";
import { FakeProvider } from "../test/helpers/fake-provider";
import { fakeCdpBrowser, until } from "../test/helpers/fake-cdp-browser";
import { DomainError } from "./lib/errors";
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
import { pools } from "./db/schema";
import { browserPath } from "./cdp/upstream";
import { parseBrowserEndpoint } from "./modules/sessions/sessions.address";
import { listWarm } from "./scheduler/warm.store";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fake provider whose browsers report their WebSocket path, each at an address of its own. */
class PathReportingProvider extends FakeProvider {
  private port = 20_000 + Math.floor(Math.random() * 20_000);
  override async start(...args: Parameters<FakeProvider["start"]>) {
    const started = await super.start(...args);
    return { ...started, cdp: { host: "127.0.0.1", port: this.port++ }, browserPath: `/devtools/browser/${crypto.randomUUID()}` };
  }
}

function servicesWithOneWorker(opts: { provider?: (workerId: string) => FakeProvider; warmPools?: boolean; minWarm?: number; reach?: (cdp: { host: string; port: number }) => { host: string; port: number } } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "bg-boot-test-"));
  dirs.push(dataDir);
  const config = loadConfig({ BROWSERGRID_DATA_DIR: dataDir });
  const db = openMemoryDatabase();
  const pool = ensureDefaultPool(db);
  db.$client.query("INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES ('usr_1', 'o@example.com', 'x', 'member', 0, 0)").run();
  if (opts.minWarm) db.update(pools).set({ minWarm: opts.minWarm }).run();
  const worker = registerWorker(db, { name: "local", poolId: pool.id, endpoint: "unix:///fake.sock", kind: "docker", capacity: 2 });
  setWorkerStatus(db, worker.id, "online");
  const providers = new ProviderRegistryImpl();
  const provider = opts.provider?.(worker.id) ?? new FakeProvider(worker.id);
  if (opts.reach) Object.assign(provider, { reach: opts.reach });
  providers.set(worker.id, provider);
  return buildServices({ config, db, log, installKey: Buffer.alloc(32, 3), providers, startedAt: Date.now(), version: "test", warmPools: opts.warmPools });
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

  test("each app has its own CDP link registry, the one its live hub uses", async () => {
    const a: TestApp = await makeTestApp({ withUsers: false });
    const b: TestApp = await makeTestApp({ withUsers: false });
    expect(a.deps.links).toBeDefined();
    expect(a.deps.links).not.toBe(b.deps.links);
    expect((a.deps.live as unknown as { deps: { links: unknown } }).deps.links).toBe(a.deps.links);
  });

  test("a session's CDP link reaches its browser through the worker's reach and closes when the session ends", async () => {
    const browser = fakeCdpBrowser();
    try {
      const reached: string[] = [];
      const { deps } = servicesWithOneWorker({ reach: (cdp) => (reached.push(`${cdp.host}:${cdp.port}`), browser.address) });
      const row = await deps.sessions.create({ type: "user", id: "usr_1" }, {});
      const lease = await deps.links.link(row.id);
      const closes: string[] = [];
      lease.onClose((reason) => closes.push(reason));
      expect(reached).toEqual(["127.0.0.1:9"]); // the address the provider's start gave
      expect(browser.connections).toBe(1);
      await deps.sessions.end(row.id, "completed", "stopped by test");
      expect(closes).toEqual(["the session ended"]);
      await until(() => browser.open === 0);
      const err = (await deps.links.link(row.id).catch((e) => e)) as DomainError;
      expect(`${err.status} ${err.code}`).toBe("409 session_not_running");
      expect(browser.connections).toBe(1);
      await deps.sessions.shutdown();
    } finally {
      browser.stop();
    }
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

  test("the WebSocket path a started browser reported reaches the gateway's cache: a session's and a warm browser's first client skips /json/version", async () => {
    const { deps } = servicesWithOneWorker({ provider: (id) => new PathReportingProvider(id), warmPools: true, minWarm: 1 });
    const owner = { type: "user", id: "usr_1" };
    // Nothing listens at these addresses: only a remembered path answers without a fetch.
    const cold = await deps.sessions.create(owner, { viewport: { width: 1000, height: 700 } });
    expect(await browserPath(parseBrowserEndpoint(cold.cdpEndpoint)!, 200)).toMatchObject({ cached: true, path: expect.stringMatching(/^\/devtools\/browser\//) });
    deps.warm!.fill();
    const deadline = Date.now() + 2_000;
    while (!listWarm(deps.db).some((w) => w.status === "ready") && Date.now() < deadline) await Bun.sleep(2);
    const [warm] = listWarm(deps.db);
    expect(warm?.status).toBe("ready");
    expect(await browserPath(parseBrowserEndpoint(warm!.cdpEndpoint)!, 200)).toMatchObject({ cached: true });
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
