// The boot sequence: the one place that builds BrowserGrid's long-lived objects, in dependency
// order, each handed what it needs by constructor. Read top to bottom it is the running system:
//  1. config → logger → database + migrations → install key and id → default pool;
//  2. workers: the provider registry, the local Docker worker, the egress guard, the fleet;
//  3. the services (buildServices, below; tests build theirs through it too): auth state,
//     storage, rule engines, slots, warm pool, the session network (egress guard → proxy →
//     rule sets), the session service, the live hub;
//  4. the HTTP app and the CDP gateway (built while Docker answers the first heartbeat and
//     reconciliation), then live sessions adopted and the fleet wired to the services;
//  5. listen → proxy relay and egress guard install, warm pool fill → background loops.
// Returns a handle that shuts everything down in the reverse order (sessions.shutdown.ts says
// which browsers a stop removes and which it keeps).
import type { Server } from "bun";
import { existsSync } from "node:fs";
import type { Config } from "./config";
import { openDatabase, databasePath, type Db } from "./db/client";
import { log, setLogLevel, type Logger } from "./lib/logger";
import { randomId } from "./lib/ids";
import type { AppDeps, ProbeResult } from "./http/context";
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
import type { WorkerFleet } from "./modules/workers/fleet";
import { WarmPool } from "./modules/pools/warm-pool";
import { SessionService, type ClientCloser } from "./modules/sessions/sessions.service";
import { workerCapacity } from "./modules/sessions/sessions.placement";
import { reconcileSessions } from "./modules/sessions/sessions.reconcile";
import { endSessionsForShutdown } from "./modules/sessions/sessions.shutdown";
import { createSessionGateway } from "./modules/sessions/sessions.gateway";
import { bootstrapAdminFromEnv } from "./modules/auth/auth.service";
import { createAuthState } from "./modules/auth/auth.state";
import { createStorage, sessionStorageHooks, storageUpkeep } from "./modules/profiles/session-storage";
import { sessionNetwork, type NetworkPart } from "./modules/network/session-network";
import { EgressGuard } from "./security/egress/guard";
import { egressPart, egressProbe } from "./modules/network/egress-part";
import { guardFleet } from "./modules/workers/guard-fleet";
import { createRuleEngines, ruleSetsNetworkPart, type RuleEngines } from "./modules/rule-sets/session-rules";
import { LiveHub } from "./modules/live/live.hub";
import { ProxyPart } from "./modules/proxies/proxy-part";
import { browserStartBudgetMs } from "./providers/engine-deadlines";
import { RunsService } from "./modules/runs/runs.service";
import { sessionRunBrowsers } from "./modules/runs/runs.browsers";
import type { RunClock, RunDeployments, RunRunners } from "./modules/runs/runs.ports";
import { reconcileRuns } from "./modules/runs/runs.reconcile";

export interface Running {
  deps: AppDeps;
  server: Server<unknown>;
  url: string;
  stop(): Promise<void>;
}

const RECONCILE_EVERY_MS = 60_000;
const WARM_MAINTAIN_EVERY_MS = 15_000;
const STORAGE_UPKEEP_EVERY_MS = 10 * 60_000;

/** What buildServices is given: the base objects boot() (or a test helper) built first. */
export interface ServiceInputs {
  config: Readonly<Config>;
  db: Db;
  log: Logger;
  installKey: Buffer;
  providers: ProviderRegistryImpl;
  startedAt: number;
  version: string;
  /** The app's clock (tests move it); absent: Date.now. */
  now?: () => number;
  readinessProbes?: (() => Promise<ProbeResult>)[];
  fleet?: WorkerFleet;
  egress?: EgressGuard;
  /** Keep warm browsers (boot does; API tests that start no browsers do not). */
  warmPools?: boolean;
  /** A session's network parts, in order, built from the objects given (absent: none). */
  networkParts?: (shared: { db: Db; log: Logger; installKey: Buffer; rules: RuleEngines }) => NetworkPart[];
  /** A browser start still under way after this long is failed; absent: engine-deadlines.ts. */
  startDeadlineMs?: number;
  /** The run lifecycle's ports (deployments, runner containers), built from the shared objects; absent: no runs in this process. */
  runs?: (shared: { db: Db; log: Logger }) => { deployments: RunDeployments; runners: RunRunners; clock?: RunClock };
}

export interface Services {
  deps: AppDeps;
  /** Connects the CDP gateway, once built, to the session service (see `clients` below). */
  gatewayBuilt(gateway: ClientCloser): void;
}

/**
 * The services of one app, each built once, in dependency order. boot() calls it; so do the
 * test helpers, so tests run the same wiring.
 */
export function buildServices(inputs: ServiceInputs): Services {
  const { config, db, log, installKey, providers, startDeadlineMs } = inputs;
  // Sign-in and API-key limits, the verified-key cache, the static keys (auth.state.ts).
  const auth = createAuthState(config, inputs.now ?? Date.now);
  // Profiles, artifacts and their blob store; the rule engines of running sessions.
  const storage = createStorage(config, db, log);
  const rules = createRuleEngines();
  // The slots sessions run in, shared by the session service and the warm pool.
  const capacity = workerCapacity(db, providers);
  const warm = inputs.warmPools ? new WarmPool({ db, log, providers, capacity, startDeadlineMs }) : undefined;
  const parts = inputs.networkParts?.({ db, log, installKey, rules }) ?? [];
  // A real construction cycle: the gateway authorises connects through the session service,
  // and the service closes a session's clients through the gateway when the session ends. The
  // service gets this closer, which reaches the gateway once boot() has built it (until then
  // no client can be connected, so there is nothing to close).
  let gateway: ClientCloser | null = null;
  const clients: ClientCloser = { closeSession: (id, code, reason) => gateway?.closeSession(id, code, reason) };
  const sessions = new SessionService({
    db,
    log,
    publicUrl: config.publicUrl,
    installKey,
    providers,
    maxDurationSec: config.sessionMaxDurationSec,
    startDeadlineMs,
    capacity,
    warm,
    storage: sessionStorageHooks({ config, db, log, storage }),
    network: parts.length ? sessionNetwork(parts, log) : undefined,
    clients,
  });
  // The live views: one per watched session, reaching its browser through the session service.
  const live = new LiveHub({ sessions, installKey, log });
  // Deployment runs: each attempt a session owned by the run and a runner container beside it.
  const runPorts = inputs.runs?.({ db, log });
  const runs = runPorts && new RunsService({ db, log, ...runPorts, browsers: sessionRunBrowsers({ db, log, sessions }), artifacts: storage.artifacts, blobs: storage.blobs });
  const deps: AppDeps = {
    config,
    db,
    log,
    readinessProbes: inputs.readinessProbes ?? [],
    startedAt: inputs.startedAt,
    version: inputs.version,
    sessions,
    installKey,
    fleet: inputs.fleet,
    warm,
    egress: inputs.egress,
    auth,
    storage,
    rules,
    live,
    runs,
    now: inputs.now,
  };
  return { deps, gatewayBuilt: (g) => void (gateway = g) };
}

export async function boot(config: Readonly<Config>): Promise<Running> {
  const startedAt = Date.now();
  setLogLevel(config.logLevel);
  // Start-up overlaps its waits: on a new install the engine is asked while the database is
  // created (an install whose local worker is registered already is pinged by the first
  // heartbeat instead); Docker answers the first heartbeat while the HTTP app is built. Nothing
  // on the way to ready loads dockerode (src/providers/engine.ts).
  const dbPath = databasePath(config.dataDir);
  const engineAnswers = existsSync(dbPath) ? undefined : pingLocalDocker(config);
  // 1. The database (migrated), the install's key and id, the default pool.
  const db = openDatabase(dbPath);
  const installKey = loadInstallKey(config.dataDir);
  const installId = getOrCreateSetting(db, "install_id", () => randomId(12));
  ensureDefaultPool(db);

  // 2. Workers: their providers, the local Docker worker, the egress guard, the fleet.
  const providers = new ProviderRegistryImpl();
  await ensureLocalDockerWorker({ config, db, log }, engineAnswers);
  const egress = new EgressGuard({ fleet: guardFleet(db), log, config });
  const fleet = createFleet({ config, db, log, installId, installKey, providers, egress });
  // The proxy relay listens on the browser network's gateway; the guard lets browsers reach its
  // port. Built here, started once the API listens (below).
  const proxies = new ProxyPart({ db, log, installKey, installId, dockerSocket: config.dockerSocket, engineTimeoutMs: config.engineTimeoutMs, network: config.dockerNetwork, onListening: (port) => egress.allowHostPort(port), directAllowed: (reg, ip, port) => egress.permitsDirect(reg.workerId ?? "", ip, port) });

  // 3. The services. A session's network, in this order: egress guard (fail closed), proxy, rule sets.
  const { deps, gatewayBuilt } = buildServices({
    config,
    db,
    log,
    installKey,
    providers,
    startedAt,
    version: VERSION,
    readinessProbes: [...workerProbes(db), egressProbe(db, egress)],
    fleet,
    egress,
    warmPools: true,
    networkParts: (shared) => [egressPart(egress), proxies, ruleSetsNetworkPart(shared)],
    startDeadlineMs: browserStartBudgetMs(config.engineTimeoutMs),
  });
  const { sessions } = deps;
  const warm = deps.warm!; // built: warmPools is true

  // 4. The fleet's first heartbeat and reconciliation wait on Docker: they run while the HTTP
  // app and the gateway are built (live sessions are adopted once both are).
  const reconciled = (async () => {
    await bootstrapAdminFromEnv(deps);
    warm.forgetUnfinished();
    await fleet.heartbeat();
    await reconcileSessions({ db, log, providers, sessions, warm }, { atBoot: true });
  })();
  reconciled.catch(() => {}); // not an unhandled rejection meanwhile: `await reconciled` below throws it
  // The relay listens before the guard's first install (its port is part of it). Neither is on
  // the path to ready (they start once the API listens): no browser starts before its worker's
  // guard is verified (fail closed), so a session asked for meanwhile waits for the install, and
  // /readyz counts a first install in flight as ready and a failed one as not (egressProbe).
  const listening = Promise.withResolvers<void>();
  void egress.installAll(listening.promise.then(() => proxies.start()));
  await loadAssets();
  const app = createApp(deps);
  const gateway = createSessionGateway(deps);
  gatewayBuilt(gateway);
  await reconciled;
  sessions.adoptLiveSessions();
  // Runs a restart interrupted are adopted or failed (runs.reconcile.ts), then the queue is dispatched.
  if (deps.runs) await reconcileRuns({ db, log, runs: deps.runs }).catch((err) => log.error("runs reconcile failed", { err })).finally(() => deps.runs!.start());
  const reconcile = () => reconcileSessions({ db, log, providers, sessions, warm }, { atBoot: false });
  wireFleet(fleet, { db, log, sessions, warm, egress, reconcile });
  // 5. Listen; then the relay and the guard's install, the warm pools, the background loops.
  const server = listen({ host: config.host, port: config.port, app, upgrade: gateway, fastRead: fastReads(deps, sessionFastReads(deps)), bodyGate: bodyGateFor(deps) });
  listening.resolve();
  warm.fill(); // each start waits for the guard
  void storageUpkeep(deps, { atBoot: true }).catch((err) => log.error("storage upkeep failed", { err }));

  const loops = [
    setInterval(() => void reconcile().catch((err) => log.error("reconcile failed", { err })), RECONCILE_EVERY_MS),
    setInterval(() => {
      sessions.failStuckStarts();
      warm.failStuckStarts();
      void Promise.all([fleet.heartbeat(), egress.heartbeat()]).catch((err) => log.error("heartbeat failed", { err }));
    }, config.heartbeatMs),
    setInterval(() => void warm.maintain().catch((err) => log.error("warm pool upkeep failed", { err })), WARM_MAINTAIN_EVERY_MS),
    setInterval(() => void storageUpkeep(deps).catch((err) => log.error("storage upkeep failed", { err })), STORAGE_UPKEEP_EVERY_MS),
  ];

  const url = `http://${server.hostname}:${server.port}`;
  log.info("browsergrid ready", { url, publicUrl: config.publicUrl, dataDir: config.dataDir, version: VERSION, bootMs: Date.now() - startedAt });
  return {
    deps,
    server,
    url,
    async stop() {
      for (const l of loops) clearInterval(l);
      deps.runs?.stop(); // no new attempt starts; runners under way are adopted by the next start

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
