// The real HTTP server (createApp + listen with the fast reads and the body gate, exactly as boot.ts wires them) on a real on-disk
// SQLite database, with one worker whose provider is the FakeProvider of the tests: starting a
// browser is a no-op, so what is measured is the control plane alone (routing, auth, schema
// validation, SQLite, JSON). Used by bench/api.ts and bench/density.ts (server RSS).
//
// Not src/boot.ts itself: boot registers the local Docker worker and its loops; the bench
// builds the same dependencies the way test/helpers/app.ts does, plus a file database with
// boot's PRAGMAs (src/db/client.ts) and the production logger at its configured level.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config";
import { openDatabase, databasePath } from "../../src/db/client";
import { log, setLogLevel } from "../../src/lib/logger";
import type { AppDeps } from "../../src/http/context";
import { createApp } from "../../src/http/app";
import { listen } from "../../src/http/server";
import { bodyGateFor } from "../../src/http/body-gate";
import { fastReads } from "../../src/http/fast-reads";
import { sessionFastReads } from "../../src/modules/sessions/sessions.routes";
import { buildServices } from "../../src/boot";
import { ProviderRegistryImpl } from "../../src/providers/registry";
import { ensureDefaultPool, updatePool } from "../../src/modules/pools/pools.service";
import { registerWorker, setWorkerStatus } from "../../src/modules/workers/workers.service";
import { loadInstallKey } from "../../src/security/install-key";
import { loadAssets } from "../../src/modules/assets/assets.routes";
import { FakeProvider } from "../../test/helpers/fake-provider";
import { freePort } from "../../test/helpers/binary";
import type { Server } from "bun";

export const BENCH_KEY = `bg_benchadm0_${"k".repeat(8)}${crypto.randomUUID().replace(/-/g, "")}`;

export interface FakeServer {
  url: string;
  deps: AppDeps;
  server: Server<unknown>;
  stop(): void;
}

export async function startFakeServer(env: Record<string, string> = {}): Promise<FakeServer> {
  const dataDir = env.BROWSERGRID_DATA_DIR ?? mkdtempSync(join(tmpdir(), "bg-bench-api-"));
  const port = freePort();
  const config = loadConfig({
    BROWSERGRID_DATA_DIR: dataDir,
    BROWSERGRID_PORT: String(port),
    BROWSERGRID_API_KEYS: BENCH_KEY,
    BROWSERGRID_API_RATE_LIMIT: "1000000",
    PATH: process.env.PATH ?? "",
    ...env,
  });
  setLogLevel(config.logLevel);
  const db = openDatabase(databasePath(dataDir));
  const installKey = loadInstallKey(dataDir);
  const pool = ensureDefaultPool(db);
  updatePool(db, "default", { maxSessions: 1000 });
  const worker = registerWorker(db, { name: "bench-fake", poolId: pool.id, endpoint: "unix:///bench/fake.sock", kind: "docker", capacity: 500 });
  setWorkerStatus(db, worker.id, "online");
  const providers = new ProviderRegistryImpl();
  providers.set(worker.id, new FakeProvider(worker.id));
  const { deps } = buildServices({ config, db, log, installKey, providers, startedAt: Date.now(), version: "bench" });
  await loadAssets();
  const app = createApp(deps);
  const server = listen({ host: "127.0.0.1", port, app, fastRead: fastReads(deps, sessionFastReads(deps)), bodyGate: bodyGateFor(deps) });
  return {
    url: `http://127.0.0.1:${server.port}`,
    deps,
    server,
    stop: () => {
      server.stop(true);
      void deps.sessions.shutdown();
    },
  };
}
