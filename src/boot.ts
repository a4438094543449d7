// Boot order, nothing else: config → logger → database + migrations → install identity →
// workers and providers → sessions → HTTP app + CDP gateway (built while Docker answers the
// first heartbeat and reconciliation) → listen → proxy relay and egress guard install, warm
// pool fill → background loops.
// Returns a handle that shuts everything down in the reverse order (sessions.shutdown.ts says
// which browsers a stop removes and which it keeps).
import type { Server } from "bun";
import { existsSync } from "node:fs";
import type { Config } from "./config";
import { openDatabase, databasePath } from "./db/client";
import { log, setLogLevel } from "./lib/logger";
import { randomId } from "./lib/ids";
import type { AppDeps } from "./http/context";
import { createApp } from "./http/app";
import { bodyGateFor } from "./http/body-gate";
import { listen } from "./http/server";
import { fastReads } from "./http/fast-reads";
import { sessionFastReads } from "./modules/sessions/sessions.routes";
import { loadAssets } from "./modules/assets/assets.routes";
import { VERSION } from "./version";
import { loadInstallKey } from "./security/install-key";
import { getOrCreateSetting } from "./modules/settings/settings.service";
import { ensureDefaultPool } from "./modules/pools/pools.service";
import { ProviderRegistryImpl } from "./providers/registry";
import { ensureLocalDockerWorker, pingLocalDocker } from "./modules/workers/local-worker";
import { createFleet, wireFleet, workerProbes } from "./modules/workers/workers.runtime";
import { WarmPool } from "./modules/pools/warm-pool";
import { SessionService } from "./modules/sessions/sessions.service";
import { reconcileSessions } from "./modules/sessions/sessions.reconcile";
import { endSessionsForShutdown } from "./modules/sessions/sessions.shutdown";
import { createSessionGateway } from "./modules/sessions/sessions.gateway";
import { bootstrapAdminFromEnv } from "./modules/auth/auth.service";
import { sessionStorageHooks, storageUpkeep } from "./modules/profiles/session-storage";
import { sessionNetwork, type NetworkPart } from "./modules/network/session-network";
import { EgressGuard } from "./security/egress/guard";
import { egressPart, egressProbe } from "./modules/network/egress-part";
import { guardFleet } from "./modules/workers/guard-fleet";
import { ruleSetsNetworkPart } from "./modules/rule-sets/session-rules";
import { ProxyPart } from "./modules/proxies/proxy-part";
import { browserStartBudgetMs } from "./providers/engine-deadlines";

export interface Running {
  deps: AppDeps;
  server: Server<unknown>;
  url: string;
  stop(): Promise<void>;
}

const RECONCILE_EVERY_MS = 60_000;
const WARM_MAINTAIN_EVERY_MS = 15_000;
const STORAGE_UPKEEP_EVERY_MS = 10 * 60_000;

export async function boot(config: Readonly<Config>): Promise<Running> {
  const startedAt = Date.now();
  setLogLevel(config.logLevel);
  // Start-up overlaps its waits: on a new install the engine is asked while the database is
  // created (an install whose local worker is registered already is pinged by the first
  // heartbeat instead); Docker answers the first heartbeat while the HTTP app is built. Nothing
  // on the way to ready loads dockerode (src/providers/engine.ts).
  const dbPath = databasePath(config.dataDir);
  const engineAnswers = existsSync(dbPath) ? undefined : pingLocalDocker(config);
  const db = openDatabase(dbPath);
  const installKey = loadInstallKey(config.dataDir);
  const installId = getOrCreateSetting(db, "install_id", () => randomId(12));
  ensureDefaultPool(db);

  const providers = new ProviderRegistryImpl();
  await ensureLocalDockerWorker({ config, db, log }, engineAnswers);
  const egress = new EgressGuard({ fleet: guardFleet(db), log, config });
  const fleet = createFleet({ config, db, log, installId, installKey, providers, egress });

  const startDeadlineMs = browserStartBudgetMs(config.engineTimeoutMs);
  const sessions = new SessionService({ db, log, publicUrl: config.publicUrl, installKey, providers, maxDurationSec: config.sessionMaxDurationSec, startDeadlineMs });
  const warm = new WarmPool({ db, log, providers, capacity: sessions.capacity, startDeadlineMs });
  sessions.attachWarmPool(warm);
  sessions.attachStorage(sessionStorageHooks({ config, db, log }, sessions));
  const deps: AppDeps = { config, db, log, readinessProbes: [...workerProbes(db), egressProbe(db, egress)], startedAt, version: VERSION, sessions, installKey, fleet, warm, egress };
  // The fleet's first heartbeat and reconciliation wait on Docker: they run while the HTTP app
  // is built (live sessions are adopted once the network parts are attached, below).
  const reconciled = (async () => {
    await bootstrapAdminFromEnv(deps);
    warm.forgetUnfinished();
    await fleet.heartbeat();
    await reconcileSessions({ db, log, providers, sessions, warm }, { atBoot: true });
  })();
  reconciled.catch(() => {}); // not an unhandled rejection meanwhile: `await reconciled` below throws it
  // A session's network, in this order: egress guard (fail closed), proxy, rule sets.
  const networkParts: NetworkPart[] = [egressPart(egress)];
  // The proxy relay listens on the browser network's gateway; the guard lets browsers reach its port.
  const proxies = new ProxyPart({ db, log, installKey, installId, dockerSocket: config.dockerSocket, engineTimeoutMs: config.engineTimeoutMs, network: config.dockerNetwork, onListening: (port) => egress.allowHostPort(port), directAllowed: (reg, ip, port) => egress.permitsDirect(reg.workerId ?? "", ip, port) });
  // The relay listens before the guard's first install (its port is part of it). Neither is on
  // the path to ready (they start once the API listens): no browser starts before its worker's
  // guard is verified (fail closed), so a session asked for meanwhile waits for the install, and
  // /readyz counts a first install in flight as ready and a failed one as not (egressProbe).
  const listening = Promise.withResolvers<void>();
  void egress.installAll(listening.promise.then(() => proxies.start()));
  networkParts.push(proxies);
  networkParts.push(ruleSetsNetworkPart({ db, log }));
  sessions.attachNetwork(sessionNetwork(networkParts, log));
  await loadAssets();
  const app = createApp(deps);
  const gateway = createSessionGateway(deps);
  sessions.attachGateway(gateway);
  await reconciled;
  sessions.adoptLiveSessions();
  const reconcile = () => reconcileSessions({ db, log, providers, sessions, warm }, { atBoot: false });
  wireFleet(fleet, { db, log, sessions, warm, egress, reconcile });
  const server = listen({ host: config.host, port: config.port, app, upgrade: gateway, fastRead: fastReads(deps, sessionFastReads(deps)), bodyGate: bodyGateFor(deps) });
  listening.resolve();
  warm.fill(); // each start waits for the guard
  void storageUpkeep({ config, db, log }, { atBoot: true }).catch((err) => log.error("storage upkeep failed", { err }));

  const loops = [
    setInterval(() => void reconcile().catch((err) => log.error("reconcile failed", { err })), RECONCILE_EVERY_MS),
    setInterval(() => {
      sessions.failStuckStarts();
      warm.failStuckStarts();
      void Promise.all([fleet.heartbeat(), egress.heartbeat()]).catch((err) => log.error("heartbeat failed", { err }));
    }, config.heartbeatMs),
    setInterval(() => void warm.maintain().catch((err) => log.error("warm pool upkeep failed", { err })), WARM_MAINTAIN_EVERY_MS),
    setInterval(() => void storageUpkeep({ config, db, log }).catch((err) => log.error("storage upkeep failed", { err })), STORAGE_UPKEEP_EVERY_MS),
  ];

  const url = `http://${server.hostname}:${server.port}`;
  log.info("browsergrid ready", { url, publicUrl: config.publicUrl, dataDir: config.dataDir, version: VERSION, bootMs: Date.now() - startedAt });
  return {
    deps,
    server,
    url,
    async stop() {
      for (const l of loops) clearInterval(l);
      // No new connection; sessions that are not keep-alive end (clients told why, profiles
      // saved, downloads copied, containers removed) and warm browsers go, in bounded time.
      // Keep-alive sessions keep running for the next start to adopt (sessions.shutdown.ts).
      void server.stop(false);
      await endSessionsForShutdown({ db, log, providers, sessions, warm });
      proxies.stop();
      // The kept sessions' clients are told (1001) and reconnect after the next start.
      gateway.shutdown();
      server.stop(true);
      await providers.closeAll();
      db.$client.close();
    },
  };
}
