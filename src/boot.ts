// The boot sequence: the one place that builds BrowserGrid's long-lived objects, in dependency
// order, each handed what it needs by constructor. Read top to bottom it is the running system:
//  1. config → logger → database + migrations → install key and id → default pool;
//  2. workers: the provider registry, the local Docker worker, the egress guard, the fleet;
//  3. the services (buildServices, below; tests build theirs through it too): auth state,
//     storage, rule engines, BrowserGrid's CDP links to the browsers, the scheduler (slots,
//     queue, warm pools), the session network (egress guard → proxy → rule sets), the session
//     service, the live hub;
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
import { SessionService, type ClientCloser } from "./modules/sessions/sessions.service";
import { Scheduler } from "./scheduler/scheduler";
import { placementCatalog } from "./modules/workers/placement-catalog";
import { rememberBrowserPath } from "./cdp/upstream";
import type { BrowserProvider, StartedBrowser } from "./providers/provider";
import { reconcileSessions } from "./modules/sessions/sessions.reconcile";
import { endSessionsForShutdown } from "./modules/sessions/sessions.shutdown";
import { createSessionGateway } from "./modules/sessions/sessions.gateway";
import { sessionBrowserAddresses } from "./modules/sessions/sessions.address";
import { SessionLinks } from "./cdp/session-links";
import { bootstrapAdminFromEnv } from "./modules/auth/auth.service";
import { createAuthState } from "./modules/auth/auth.state";
import { createStorage, sessionStorageHooks, storageUpkeep } from "./modules/profiles/session-storage";
import { sessionNetwork, type NetworkPart } from "./modules/network/session-network";
import { EgressGuard } from "./security/egress/guard";
import { egressPart, egressProbe } from "./modules/network/egress-part";
import { guardFleet } from "./modules/workers/guard-fleet";
import { createRuleEngines, ruleSetsNetworkPart, type RuleEngines } from "./modules/rule-sets/session-rules";
import { LiveHub } from "./modules/live/live.hub";
import { createDeployments } from "./modules/deployments/deployments.wiring";
import { ProxyPart } from "./modules/proxies/proxy-part";
import { browserStartBudgetMs } from "./providers/engine-deadlines";
import { browserNetworkGateway } from "./providers/docker-network";
import { RunnerDoor, type RunnerDoorUrls } from "./http/runner-door";
import { getSetting, setSetting } from "./modules/settings/settings.service";
import { findWorkerByEndpoint } from "./modules/workers/workers.service";
import { ScheduleService } from "./modules/schedules/schedules.service";
import { audit } from "./modules/audit/audit.service";
import { realTimers, type ScheduleDeployments, type ScheduleRuns, type ScheduleTimers } from "./modules/schedules/schedules.ports";
import { RunsService } from "./modules/runs/runs.service";
import { sessionRunBrowsers } from "./modules/runs/runs.browsers";
import type { RunClock, RunDeployments, RunRunners } from "./modules/runs/runs.ports";
import { reconcileRuns } from "./modules/runs/runs.reconcile";
import { providerRunRunners } from "./modules/runs/runs.runners";
import type { DeploymentsService } from "./modules/deployments/deployments.service";
import type { ProviderRegistry } from "./providers/registry";

export interface Running {
  deps: AppDeps;
  server: Server<unknown>;
  url: string;
  stop(): Promise<void>;
}

const RECONCILE_EVERY_MS = 60_000;
const WARM_MAINTAIN_EVERY_MS = 15_000;
const STORAGE_UPKEEP_EVERY_MS = 10 * 60_000;
/** The runner door's port is kept across restarts, like the proxy relay's: running runners were given it. */
const RUNNER_DOOR_PORT_SETTING = "runner_door_port";

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
  networkParts?: (shared: { db: Db; log: Logger; installKey: Buffer; rules: RuleEngines; links: SessionLinks }) => NetworkPart[];
  /** A browser start still under way after this long is failed; absent: engine-deadlines.ts. */
  startDeadlineMs?: number;
  /** What cron schedules trigger and check params with (tests; absent: the runs service and the deployments service); timers default to real ones. */
  schedules?: { runs?: ScheduleRuns; deployments?: ScheduleDeployments; timers?: ScheduleTimers };
  /** The run lifecycle's ports (deployments, runner containers), built from the shared objects; absent: no runs in this process. */
  runs?: (shared: { db: Db; log: Logger; deployments: DeploymentsService; providers: ProviderRegistry }) => { deployments: RunDeployments; runners: RunRunners; clock?: RunClock };
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
  // BrowserGrid's own CDP link to each live session's browser, opened on demand and shared by
  // the live view, rule engines, profile saves and screenshots; the session service closes a
  // session's link when it ends.
  const links = new SessionLinks({ resolve: sessionBrowserAddresses(db, providers), log: log.child({ component: "cdp-links" }) });
  // Where every session's browser comes from: a warm one, or a slot on a worker (the queue).
  // Both kinds of started browser hand their WebSocket path to the gateway's cache here.
  const scheduler = new Scheduler({ db, log, providers, catalog: placementCatalog(db, providers), warmPools: inputs.warmPools, startDeadlineMs, onBrowserReady: rememberStartedBrowser });
  const warm = scheduler.warm ?? undefined;
  const parts = inputs.networkParts?.({ db, log, installKey, rules, links }) ?? [];
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
    scheduler,
    onBrowserStarted: rememberStartedBrowser,
    storage: sessionStorageHooks({ config, db, log, storage, links }),
    network: parts.length ? sessionNetwork(parts, log) : undefined,
    clients,
    links,
  });
  // The live views: one per watched session, reaching its browser through the session service.
  const live = new LiveHub({ sessions, installKey, links, log });
  // Deployments: bundles in the same blob store, manifests checked against pools, profiles, proxies, rule sets.
  const deployments = createDeployments({ config, db, log, installKey, blobs: storage.blobs, now: inputs.now });
  // Deployment runs: each attempt a session owned by the run and a runner container beside it.
  const runPorts = inputs.runs?.({ db, log, deployments, providers });
  const runs = runPorts && new RunsService({ db, log, ...runPorts, browsers: sessionRunBrowsers({ db, log, sessions }), artifacts: storage.artifacts, blobs: storage.blobs });
  // Cron schedules trigger runs; their clock starts in boot() once the server listens.
  const timers = inputs.schedules?.timers ?? realTimers;
  const scheduleRuns = inputs.schedules?.runs ?? runs;
  const schedules =
    scheduleRuns &&
    new ScheduleService({ db, log, runs: scheduleRuns, deployments: inputs.schedules?.deployments ?? deployments, timers, audit: (action, target, detail) => audit({ db, log, now: timers.now }, { type: "system" }, action, target, detail, null) });
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
    scheduler,
    warm,
    egress: inputs.egress,
    auth,
    storage,
    rules,
    live,
    links,
    deployments,
    schedules,
    runs,
    now: inputs.now,
  };
  return { deps, gatewayBuilt: (g) => void (gateway = g) };
}

/** The gateway's path cache learns a started browser's WebSocket path, under the address this process connects to. */
function rememberStartedBrowser(provider: BrowserProvider, started: StartedBrowser): void {
  if (started.browserPath) rememberBrowserPath(provider.reach?.(started.cdp) ?? started.cdp, started.browserPath);
}

/**
 * runnerDoorUrls (AppDeps): the door's base URLs for runners of the local Docker worker, the
 * only one whose bridge the door listens on; null for every other worker (SSH workers' runners
 * are not supported yet) and while the door is not open.
 */
export function runnerDoorUrlsOf(db: Db, config: Readonly<Config>, door: Pick<RunnerDoor, "urls">): (workerId: string) => RunnerDoorUrls | null {
  const localEndpoint = `unix://${config.dockerSocket}`;
  return (workerId) => (findWorkerByEndpoint(db, localEndpoint)?.id === workerId ? door.urls() : null);
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
    // Runs: code beside a browser, in a runner container on the browser's worker, reaching
    // BrowserGrid through the runner door (built below, so its URLs are looked up per attempt).
    runs: (shared) => ({ deployments: shared.deployments, runners: providerRunRunners(shared.providers, (workerId) => deps.runnerDoorUrls?.(workerId) ?? null) }),
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
  void egress.installAll(listening.promise.then(() => Promise.all([proxies.start(), door.start()])));
  await loadAssets();
  const app = createApp(deps);
  const gateway = createSessionGateway(deps);
  gatewayBuilt(gateway);
  // The runner door: the API and the gateway's session paths on the browser network's gateway,
  // its port opened in the egress guard like the relay's. Opens once the API listens (below).
  const door = new RunnerDoor({
    address: async () => (await browserNetworkGateway({ socketPath: config.dockerSocket, network: config.dockerNetwork, installId, engineTimeoutMs: config.engineTimeoutMs })).gateway,
    port: config.runnerPort || undefined,
    remembered: getSetting<number>(db, RUNNER_DOOR_PORT_SETTING),
    onListening: async (port) => {
      if (getSetting<number>(db, RUNNER_DOOR_PORT_SETTING) !== port) setSetting(db, RUNNER_DOOR_PORT_SETTING, port);
      await egress.allowHostPort(port);
    },
    app,
    upgrade: gateway,
    fastRead: fastReads(deps, sessionFastReads(deps)),
    bodyGate: bodyGateFor(deps),
    publicUrl: config.publicUrl,
    log,
  });
  deps.runnerDoorUrls = runnerDoorUrlsOf(db, config, door);
  await reconciled;
  sessions.adoptLiveSessions();
  // Runs a restart interrupted are adopted or failed (runs.reconcile.ts), then the queue is dispatched.
  if (deps.runs) await reconcileRuns({ db, log, runs: deps.runs }).catch((err) => log.error("runs reconcile failed", { err })).finally(() => deps.runs!.start());
  const reconcile = () => reconcileSessions({ db, log, providers, sessions, warm }, { atBoot: false });
  wireFleet(fleet, { db, log, sessions, scheduler: deps.scheduler, warm, egress, reconcile });
  // 5. Listen; then the relay and the guard's install, the warm pools, the background loops.
  const server = listen({ host: config.host, port: config.port, app, upgrade: gateway, fastRead: fastReads(deps, sessionFastReads(deps)), bodyGate: bodyGateFor(deps) });
  listening.resolve();
  warm.fill(); // each start waits for the guard
  void storageUpkeep(deps, { atBoot: true }).catch((err) => log.error("storage upkeep failed", { err }));
  // Schedules: ticks missed while the server was down are caught up or recorded, then each is armed.
  void deps.schedules?.clock.start().then((r) => r.schedules && log.info("schedules armed", r)).catch((err) => log.error("schedule clock start failed", { err }));

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
      deps.schedules?.clock.stop();
      deps.runs?.stop(); // no new attempt starts; runners under way are adopted by the next start
      // No new connection; sessions that are not keep-alive end (clients told why, profiles
      // saved, downloads copied, containers removed) and warm browsers go, in bounded time.
      // Keep-alive sessions keep running for the next start to adopt (sessions.shutdown.ts).
      void server.stop(false);
      await endSessionsForShutdown({ db, log, providers, sessions, warm });
      deps.links.closeAll(); // the kept sessions' links; their browsers keep running
      proxies.stop();
      door.stop();
      // The kept sessions' clients are told (1001) and reconnect after the next start.
      gateway.shutdown();
      server.stop(true);
      await providers.closeAll();
      db.$client.close();
    },
  };
}
