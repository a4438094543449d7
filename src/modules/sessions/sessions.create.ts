// Creating a session, as a pipeline of named steps:
//   prepare (validate, resolve pool, network, profile, config)
//   → scheduler (a warm browser claimed at once, or a slot on a worker, queued if need be)
//   → start (the worker's provider starts a browser; a claimed warm browser is running already)
//   → mark running (row, network set-up, timers and client tracking).
// The scheduler (src/scheduler/) decides; every write to the sessions table is this module's
// (sessions.store.ts), the claimed warm browser's session row included.
// Each step leaves nothing behind when it fails: the slot goes back, the profile lock goes, and a
// row already written ends `failed` with the reason.
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import type { BrowserFlavour, BrowserProvider, StartedBrowser } from "../../providers/provider";
import type { Scheduler, Slot } from "../../scheduler/scheduler";
import { warmKey } from "../../scheduler/warm.store";
import { BadRequest, DomainError, Unavailable } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { findPoolByName, type Pool } from "../pools/pools.service";
import { activeMaintenance } from "../settings/maintenance.service";
import { formatBrowserEndpoint } from "./sessions.address";
import { CLIENT_LEFT_REASON, type CreateSessionInput, type EndStatus, type Owner, type PreparedNetwork, type PreparedProfile, type ProviderRegistry, type SessionNetwork, type SessionStorage } from "./sessions.contracts";
import { connectTokenHash } from "./sessions.model";
import * as store from "./sessions.store";
import type { SessionRow } from "./sessions.store";

/** What the pipeline uses of the session service (sessions.service.ts). */
export interface CreateHost {
  db: Db;
  log: Logger;
  installKey: Buffer;
  maxDurationSec: number;
  providers: ProviderRegistry;
  /** Warm browsers, slots and the queue. */
  scheduler: Scheduler;
  storage: SessionStorage | null;
  network: SessionNetwork | null;
  /** Queued creates by session id: aborting one takes it out of its pool's queue (end() does). */
  waiting: Map<string, AbortController>;
  /** Browser starts under way: when each began, and how to abort it (failStuckStarts). */
  starts: Map<string, { since: number; abort: AbortController }>;
  providerOf(row: SessionRow): BrowserProvider | undefined;
  end(id: string, status: EndStatus, reason: string): Promise<SessionRow | null>;
  /** The session is running: arm its timers, follow its clients. */
  running(row: SessionRow): void;
  /** A browser started for a session: what its provider returned (its browser path goes to the gateway's cache). */
  browserStarted(provider: BrowserProvider, started: StartedBrowser): void;
}

export interface CreateOptions {
  ephemeral?: boolean;
  signal?: AbortSignal;
}

/** A create request checked and resolved; nothing exists yet but the profile lock. */
interface CreatePlan {
  id: string;
  owner: Owner;
  pool: Pool;
  input: CreateSessionInput;
  opts: CreateOptions;
  timeoutSec: number;
  idleTimeoutSec: number;
  config: Record<string, unknown> & { browser: BrowserFlavour; viewport: { width: number; height: number } };
  net: PreparedNetwork | null;
  profile: PreparedProfile | null;
}

/** A slot on a worker, held for the plan's session, whose row is now `starting`. */
interface Placed {
  slot: Slot;
  /** performance.now() when the slot was handed over (the start time the session records). */
  sinceMs: number;
}

export async function createSession(host: CreateHost, owner: Owner, input: CreateSessionInput, opts: CreateOptions): Promise<SessionRow> {
  const plan = await prepare(host, owner, input, opts);
  const acquired = await acquireBrowser(host, plan);
  if (acquired.kind === "warm") return await markClaimedRunning(host, plan, acquired.adopted);
  const { placed } = acquired;
  const abort = new AbortController();
  host.starts.set(plan.id, { since: Date.now(), abort });
  try {
    const { provider, started } = await startBrowser(host, plan, placed, abort.signal);
    return await markRunning(host, plan, placed, provider, started);
  } catch (err) {
    throw failStart(host, plan, placed, err);
  } finally {
    host.starts.delete(plan.id);
  }
}

function resolvePool(db: Db, name: string | undefined): Pool {
  const pool = findPoolByName(db, name ?? "default");
  if (!pool) throw new BadRequest(`Unknown pool "${name}": use GET /api/v1/pools for the pool names.`, "unknown_pool");
  return pool;
}

/** Step 1: refuses what cannot be served (4xx/503), then resolves network, profile and config. */
async function prepare(host: CreateHost, owner: Owner, input: CreateSessionInput, opts: CreateOptions): Promise<CreatePlan> {
  if (input.profile !== undefined && !host.storage) throw new BadRequest('"profile" is not available in this process; remove the field.', "feature_unavailable");
  if (!host.network)
    for (const feature of ["proxy", "ruleSets"] as const)
      if (input[feature] !== undefined) throw new BadRequest(`"${feature}" is not available in this process; remove the field.`, "feature_unavailable");
  const pool = resolvePool(host.db, input.pool);
  const maintenance = activeMaintenance(host.db);
  if (maintenance) throw new Unavailable(maintenance.message, "maintenance");
  if (pool.state !== "active") throw new Unavailable(`Pool "${pool.name}" is ${pool.state} and takes no new sessions.`, "pool_not_active");
  const timeoutSec = Math.min(input.timeoutSec ?? pool.maxDurationSec, pool.maxDurationSec, host.maxDurationSec);
  const idleTimeoutSec = input.idleTimeoutSec ?? pool.idleTimeoutSec;
  const id = newId("ses");
  // Network first: it only validates, so a bad proxy or rule set leaves nothing behind.
  const net = host.network ? await host.network.prepare(owner, id, pool, input) : null;
  // A profile must be in place before Chromium starts, so such a session never takes a warm browser.
  const profile = input.profile !== undefined ? await host.storage!.prepareProfile(owner, id, input.profile) : null;
  const config = {
    browser: input.browser ?? pool.flavour,
    viewport: input.viewport ?? { width: pool.viewportWidth, height: pool.viewportHeight },
    ...(input.userAgent ? { userAgent: input.userAgent } : {}),
    ...(input.locale ? { locale: input.locale } : {}),
    ...(input.timezone ? { timezone: input.timezone } : {}),
    ...(profile ? { profile: profile.config } : {}),
    ...net?.config,
  };
  return { id, owner, pool, input, opts, timeoutSec, idleTimeoutSec, config, net, profile };
}

/** A warm browser may serve the plan: the pool's defaults, nothing that must be in place before Chromium starts. */
function warmKeyOf(plan: CreatePlan): string | null {
  const { input } = plan;
  // A profile must be in place before Chromium starts, so such a session never takes a warm browser.
  if (plan.profile || plan.net?.cold || input.userAgent || input.locale || input.timezone) return null;
  return warmKey(plan.config);
}

/**
 * Step 2: the scheduler gives the session a browser — a claimed warm one (its row inserted
 * `running` in the claim's transaction), or a slot on a worker, waiting in the pool's FIFO
 * queue when none is free. The wait ends early when the client leaves (`opts.signal`) or the
 * session is ended while queued (end() aborts `host.waiting`). A slot leaves the row `starting`.
 */
async function acquireBrowser(host: CreateHost, plan: CreatePlan): Promise<{ kind: "warm"; adopted: SessionRow } | { kind: "cold"; placed: Placed }> {
  const { id, pool, opts, profile } = plan;
  let queuedRow: SessionRow | null = null;
  const leave = new AbortController();
  const clientGone = () => leave.abort(new Unavailable("The client closed its connection before a slot was free; nothing was started.", "request_cancelled"));
  if (opts.signal?.aborted) clientGone();
  opts.signal?.addEventListener("abort", clientGone, { once: true });
  host.waiting.set(id, leave);
  const acquired = await host.scheduler
    .acquire(
      {
        poolId: pool.id,
        warmKey: warmKeyOf(plan),
        adoptWarm: (warm) => {
          const now = Date.now();
          const row = { ...newRow(plan, null, "starting"), startedAt: now, expiresAt: now + plan.timeoutSec * 1000, connectTokenHash: connectTokenHash(host.installKey, plan.id) };
          return store.insertClaimedSession(host.db, row, warm, { pool: pool.name });
        },
        queueTimeoutMs: pool.queueTimeoutSec * 1000,
        onQueued: () => {
          queuedRow = store.insertSession(host.db, newRow(plan, null, "queued"), { type: "queued", detail: { pool: pool.name } });
        },
      },
      leave.signal,
    )
    .catch((err) => {
      profile?.release();
      // A session ended while queued already has its end state (end()); the others end failed here.
      const code = err instanceof DomainError ? err.code : "";
      const reason = code === "session_stopped" ? null : code === "request_cancelled" ? CLIENT_LEFT_REASON : code === "capacity_exhausted" ? "queue timeout" : (err as Error).message;
      if (queuedRow && reason) store.transition(host.db, id, ["queued"], "failed", { endedAt: Date.now(), endReason: reason }, { type: "failed", detail: { reason } });
      throw err;
    })
    .finally(() => {
      host.waiting.delete(id);
      opts.signal?.removeEventListener("abort", clientGone);
    });
  if (acquired.kind === "warm") return { kind: "warm", adopted: acquired.adopted };

  const { slot } = acquired;
  const sinceMs = performance.now();
  if (opts.signal?.aborted) {
    // The client left between being handed the slot and now: start nothing, pass the slot on.
    host.scheduler.release(slot);
    profile?.release();
    if (queuedRow) store.transition(host.db, id, ["queued"], "failed", { endedAt: Date.now(), endReason: CLIENT_LEFT_REASON }, { type: "failed", detail: { reason: CLIENT_LEFT_REASON } });
    throw new Unavailable("The client closed its connection before a slot was free; nothing was started.", "request_cancelled");
  }
  if (queuedRow && !store.transition(host.db, id, ["queued"], "starting", { workerId: slot.workerId }, { type: "starting", detail: { worker: slot.workerId } })) {
    // Ended while it waited (DELETE, or its owner lost the right to hold sessions): start nothing.
    host.scheduler.release(slot);
    profile?.release();
    throw new Unavailable("The session was stopped while it waited in the queue.", "session_stopped");
  } else if (!queuedRow) store.insertSession(host.db, newRow(plan, slot.workerId, "starting"), { type: "starting", detail: { pool: pool.name, worker: slot.workerId } });
  return { kind: "cold", placed: { slot, sinceMs } };
}

/** Step 4 for a claimed warm browser (running since the claim): its network, its clock and clients. */
async function markClaimedRunning(host: CreateHost, plan: CreatePlan, row: SessionRow): Promise<SessionRow> {
  if (plan.net) {
    const provider = host.providerOf(row);
    if (!provider) throw new Unavailable("The warm browser's worker is gone.", "browser_start_failed");
    await startNetwork(host, plan.net, row, provider);
  }
  host.running(row);
  return row;
}

/** Step 3: the worker's provider starts the browser; resolves once its CDP endpoint answers. */
async function startBrowser(host: CreateHost, plan: CreatePlan, placed: Placed, signal: AbortSignal): Promise<{ provider: BrowserProvider; started: StartedBrowser }> {
  const { input, config, profile } = plan;
  const { workerId } = placed.slot;
  const provider = host.providers.get(workerId);
  if (!provider) throw new Error(`worker ${workerId} has no provider`);
  const spec = {
    sessionId: plan.id,
    poolId: plan.pool.id,
    workerId,
    flavour: config.browser,
    viewport: config.viewport,
    userAgent: input.userAgent,
    locale: input.locale,
    timezone: input.timezone,
    ...(profile ? { profile: { archive: profile.archive } } : {}),
    ...plan.net?.spec,
  };
  const started = await provider.start(spec, signal);
  host.browserStarted(provider, started);
  return { provider, started };
}

/** Step 4: the row becomes `running` with its browser and connect token; network set-up; timers armed. */
async function markRunning(host: CreateHost, plan: CreatePlan, placed: Placed, provider: BrowserProvider, started: StartedBrowser): Promise<SessionRow> {
  const { id, opts } = plan;
  const now = Date.now();
  const row = store.transition(
    host.db,
    id,
    ["starting"],
    "running",
    { containerId: started.handle, cdpEndpoint: formatBrowserEndpoint(started.cdp), connectTokenHash: connectTokenHash(host.installKey, id), startedAt: now, expiresAt: now + plan.timeoutSec * 1000 },
    { type: "running", detail: { startMs: Math.round(performance.now() - placed.sinceMs) } },
  );
  if (!row) {
    // Stopped while starting (DELETE or shutdown): do not leave the browser behind.
    await provider.stop(started.handle).catch(() => {});
    throw new Unavailable("The session was stopped while its browser was starting.", "session_stopped");
  }
  if (plan.net) await startNetwork(host, plan.net, row, provider);
  if (opts.signal?.aborted) {
    // The client left while its browser started: nobody will connect, so it must not hold the slot.
    await host.end(id, "failed", CLIENT_LEFT_REASON);
    throw new Unavailable("The client closed its connection before the session was ready; it was ended.", "request_cancelled");
  }
  host.running(row);
  return row;
}

/** A start or mark-running step failed: the row ends failed (the slot goes back once), the error the client gets. */
function failStart(host: CreateHost, plan: CreatePlan, placed: Placed, err: unknown): DomainError {
  const { id } = plan;
  plan.profile?.release();
  const reason = err instanceof DomainError ? err.message : `browser failed to start: ${(err as Error).message}`;
  if (store.transition(host.db, id, ["starting"], "failed", { endedAt: Date.now(), endReason: reason }, { type: "failed", detail: { reason } }))
    host.scheduler.release(placed.slot);
  if (!(err instanceof DomainError && err.code === "request_cancelled")) host.log.error("session start failed", { sessionId: id, err });
  if (err instanceof DomainError) return err;
  return new Unavailable("The browser could not be started; the server log has the details.", "browser_start_failed");
}

/** Runs the network's start step; a failure ends the session (browser removed) and is rethrown as the create's error. */
async function startNetwork(host: CreateHost, net: PreparedNetwork, row: SessionRow, provider: BrowserProvider): Promise<void> {
  try {
    await net.started(row, provider);
  } catch (err) {
    const reason = `network set-up failed: ${(err as Error).message}`;
    host.log.warn("session network set-up failed", { sessionId: row.id, err });
    await host.end(row.id, "failed", reason);
    throw err instanceof DomainError ? err : new Unavailable(`The session's network could not be set up: ${(err as Error).message}`, "network_setup_failed");
  }
}

function newRow(plan: CreatePlan, workerId: string | null, status: "queued" | "starting"): store.NewSessionRow {
  const { id, owner, pool, input } = plan;
  return {
    id,
    poolId: pool.id,
    workerId,
    ownerType: owner.type,
    ownerId: owner.id,
    status,
    config: plan.config,
    metadata: input.metadata ?? {},
    keepAlive: input.keepAlive ?? false,
    ephemeral: plan.opts.ephemeral ?? false,
    timeoutSec: plan.timeoutSec,
    idleTimeoutSec: plan.idleTimeoutSec,
  };
}
