// Creating a session, as a pipeline of named steps:
//   prepare (validate, resolve pool, network, profile, config)
//   → capacity/placement (a warm browser claimed at once, or a slot on a worker, queued if need be)
//   → start (the worker's provider starts a browser)
//   → mark running (row, network set-up, timers and client tracking).
// Each step leaves nothing behind when it fails: the slot goes back, the profile lock goes, and a
// row already written ends `failed` with the reason.
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import type { BrowserFlavour, BrowserProvider, StartedBrowser } from "../../providers/provider";
import { BadRequest, DomainError, Unavailable } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { findPoolByName, type Pool } from "../pools/pools.service";
import type { WarmPool } from "../pools/warm-pool";
import { claimWarm, warmKey } from "../pools/warm.store";
import { activeMaintenance } from "../settings/maintenance.service";
import type { Capacity } from "./capacity";
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
  capacity: Capacity;
  warm: WarmPool | null;
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
interface Slot {
  workerId: string;
  /** performance.now() when the slot was handed over (the start time the session records). */
  sinceMs: number;
}

export async function createSession(host: CreateHost, owner: Owner, input: CreateSessionInput, opts: CreateOptions): Promise<SessionRow> {
  const plan = await prepare(host, owner, input, opts);
  const claimed = claimWarmBrowser(host, plan);
  if (claimed) return await markClaimedRunning(host, plan, claimed);
  const slot = await takeSlot(host, plan);
  const abort = new AbortController();
  host.starts.set(plan.id, { since: Date.now(), abort });
  try {
    const { provider, started } = await startBrowser(host, plan, slot, abort.signal);
    return await markRunning(host, plan, slot, provider, started);
  } catch (err) {
    throw failStart(host, plan, slot, err);
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

/** Step 2a: a ready warm browser of the same kind becomes the session (running at once), when nobody queues before it. */
function claimWarmBrowser(host: CreateHost, plan: CreatePlan): SessionRow | null {
  const { input, pool } = plan;
  if (!host.warm || plan.profile || plan.net?.cold || input.userAgent || input.locale || input.timezone || host.capacity.queueDepth(pool.id) !== 0) return null;
  const now = Date.now();
  const row = { ...newRow(plan, null, "starting"), startedAt: now, expiresAt: now + plan.timeoutSec * 1000, connectTokenHash: connectTokenHash(host.installKey, plan.id) };
  return claimWarm(host.db, pool.id, warmKey(plan.config), row, { pool: pool.name });
}

/** Step 2a, continued: a claimed warm browser gets its network, its clock, and the pool refills in the background. */
async function markClaimedRunning(host: CreateHost, plan: CreatePlan, row: SessionRow): Promise<SessionRow> {
  if (plan.net) {
    const provider = host.providerOf(row);
    if (!provider) throw new Unavailable("The warm browser's worker is gone.", "browser_start_failed");
    host.warm?.refillAfterClaim(plan.pool.id);
    await startNetwork(host, plan.net, row, provider);
  }
  host.running(row);
  host.warm?.refillAfterClaim(plan.pool.id);
  return row;
}

/**
 * Step 2b: a slot on a worker (placement by the pool's policy), waiting in the pool's FIFO queue
 * when none is free. The wait ends early when the client leaves (`opts.signal`) or the session
 * is ended while queued (end() aborts `host.waiting`). Leaves the session's row `starting`.
 */
async function takeSlot(host: CreateHost, plan: CreatePlan): Promise<Slot> {
  const { id, pool, opts, profile } = plan;
  let queuedRow: SessionRow | null = null;
  const leave = new AbortController();
  const clientGone = () => leave.abort(new Unavailable("The client closed its connection before a slot was free; nothing was started.", "request_cancelled"));
  if (opts.signal?.aborted) clientGone();
  opts.signal?.addEventListener("abort", clientGone, { once: true });
  host.waiting.set(id, leave);
  const workerId = await host.capacity
    .acquire(pool.id, pool.queueTimeoutSec * 1000, {
      leave: leave.signal,
      onQueued: () => {
        host.warm?.evictFor(pool.id);
        queuedRow = store.insertSession(host.db, newRow(plan, null, "queued"), { type: "queued", detail: { pool: pool.name } });
      },
    })
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

  const sinceMs = performance.now();
  if (opts.signal?.aborted) {
    // The client left between being handed the slot and now: start nothing, pass the slot on.
    host.capacity.release(workerId, pool.id);
    profile?.release();
    if (queuedRow) store.transition(host.db, id, ["queued"], "failed", { endedAt: Date.now(), endReason: CLIENT_LEFT_REASON }, { type: "failed", detail: { reason: CLIENT_LEFT_REASON } });
    throw new Unavailable("The client closed its connection before a slot was free; nothing was started.", "request_cancelled");
  }
  if (queuedRow && !store.transition(host.db, id, ["queued"], "starting", { workerId }, { type: "starting", detail: { worker: workerId } })) {
    // Ended while it waited (DELETE, or its owner lost the right to hold sessions): start nothing.
    host.capacity.release(workerId, pool.id);
    profile?.release();
    throw new Unavailable("The session was stopped while it waited in the queue.", "session_stopped");
  } else if (!queuedRow) store.insertSession(host.db, newRow(plan, workerId, "starting"), { type: "starting", detail: { pool: pool.name, worker: workerId } });
  return { workerId, sinceMs };
}

/** Step 3: the worker's provider starts the browser; resolves once its CDP endpoint answers. */
async function startBrowser(host: CreateHost, plan: CreatePlan, slot: Slot, signal: AbortSignal): Promise<{ provider: BrowserProvider; started: StartedBrowser }> {
  const { input, config, profile } = plan;
  const provider = host.providers.get(slot.workerId);
  if (!provider) throw new Error(`worker ${slot.workerId} has no provider`);
  const spec = {
    sessionId: plan.id,
    poolId: plan.pool.id,
    workerId: slot.workerId,
    flavour: config.browser,
    viewport: config.viewport,
    userAgent: input.userAgent,
    locale: input.locale,
    timezone: input.timezone,
    ...(profile ? { profile: { archive: profile.archive } } : {}),
    ...plan.net?.spec,
  };
  return { provider, started: await provider.start(spec, signal) };
}

/** Step 4: the row becomes `running` with its browser and connect token; network set-up; timers armed. */
async function markRunning(host: CreateHost, plan: CreatePlan, slot: Slot, provider: BrowserProvider, started: StartedBrowser): Promise<SessionRow> {
  const { id, opts } = plan;
  const now = Date.now();
  const row = store.transition(
    host.db,
    id,
    ["starting"],
    "running",
    { containerId: started.handle, cdpEndpoint: formatBrowserEndpoint(started.cdp), connectTokenHash: connectTokenHash(host.installKey, id), startedAt: now, expiresAt: now + plan.timeoutSec * 1000 },
    { type: "running", detail: { startMs: Math.round(performance.now() - slot.sinceMs) } },
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
function failStart(host: CreateHost, plan: CreatePlan, slot: Slot, err: unknown): DomainError {
  const { id } = plan;
  plan.profile?.release();
  const reason = err instanceof DomainError ? err.message : `browser failed to start: ${(err as Error).message}`;
  if (store.transition(host.db, id, ["starting"], "failed", { endedAt: Date.now(), endReason: reason }, { type: "failed", detail: { reason } }))
    host.capacity.release(slot.workerId, plan.pool.id);
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
