// Boot order, nothing else: config → logger → database + migrations → install identity →
// workers and providers → sessions (reconciled) → HTTP + CDP gateway → background loops.
// Returns a handle that shuts everything down in the reverse order.
import type { Server } from "bun";
import type { Config } from "./config";
import { openDatabase, databasePath } from "./db/client";
import { log, setLogLevel } from "./lib/logger";
import { randomId } from "./lib/ids";
import type { AppDeps } from "./http/context";
import { createApp } from "./http/app";
import { listen } from "./http/server";
import { loadAssets } from "./modules/assets/assets.routes";
import { VERSION } from "./version";
import { loadInstallKey } from "./security/install-key";
import { getOrCreateSetting } from "./modules/settings/settings.service";
import { ensureDefaultPool } from "./modules/pools/pools.service";
import { ProviderRegistryImpl } from "./providers/registry";
import { attachLocalDocker, heartbeatWorkers } from "./modules/workers/local-worker";
import { SessionService } from "./modules/sessions/sessions.service";
import { reconcileSessions } from "./modules/sessions/sessions.reconcile";
import { createSessionGateway } from "./modules/sessions/sessions.gateway";
import { bootstrapAdminFromEnv } from "./modules/auth/auth.service";

export interface Running {
  deps: AppDeps;
  server: Server<unknown>;
  url: string;
  stop(): Promise<void>;
}

const RECONCILE_EVERY_MS = 60_000;
const HEARTBEAT_EVERY_MS = 10_000;

export async function boot(config: Readonly<Config>): Promise<Running> {
  const startedAt = Date.now();
  setLogLevel(config.logLevel);
  const db = openDatabase(databasePath(config.dataDir));
  const installKey = loadInstallKey(config.dataDir);
  const installId = getOrCreateSetting(db, "install_id", () => randomId(12));
  ensureDefaultPool(db);

  const providers = new ProviderRegistryImpl();
  await attachLocalDocker({ config, db, log, installId }, providers);

  const sessions = new SessionService({ db, log, publicUrl: config.publicUrl, installKey, providers, maxDurationSec: config.sessionMaxDurationSec });
  const deps: AppDeps = { config, db, log, readinessProbes: [], startedAt, version: VERSION, sessions, installKey };
  await bootstrapAdminFromEnv(deps);
  await reconcileSessions({ db, log, providers, sessions }, { atBoot: true });
  sessions.adoptLiveSessions();

  deps.readinessProbes.push(async () => {
    const online = await heartbeatWorkers(db, providers, log);
    return { name: "workers", ok: online > 0, detail: online > 0 ? `${online} reachable` : "no worker is reachable: is Docker running? (browsergrid doctor)" };
  });

  await loadAssets();
  const app = createApp(deps);
  const gateway = createSessionGateway(deps);
  sessions.attachGateway(gateway);
  const server = listen({ host: config.host, port: config.port, app, upgrade: gateway });

  const loops = [
    setInterval(() => void reconcileSessions({ db, log, providers, sessions }, { atBoot: false }).catch((err) => log.error("reconcile failed", { err })), RECONCILE_EVERY_MS),
    setInterval(() => void heartbeatWorkers(db, providers, log).catch((err) => log.error("heartbeat failed", { err })), HEARTBEAT_EVERY_MS),
  ];

  const url = `http://${server.hostname}:${server.port}`;
  log.info("browsergrid ready", { url, publicUrl: config.publicUrl, dataDir: config.dataDir, version: VERSION, bootMs: Date.now() - startedAt });
  return {
    deps,
    server,
    url,
    async stop() {
      for (const l of loops) clearInterval(l);
      // Clients are told (1001) and browsers keep running: the next start re-adopts them.
      gateway.shutdown();
      server.stop(true);
      await sessions.shutdown();
      await providers.closeAll();
      db.$client.close();
    },
  };
}
