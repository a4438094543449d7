// The session lifecycle: reserve a slot → start a browser through the worker's provider →
// running with a connect URL → stop (asked, timed out, idle, client gone) or crash → terminal
// state with a reason → slot freed → the queue moves. The database holds what should exist;
// this service keeps timers and slot counts that follow it.
import type { Logger } from "../../lib/logger";
import { withoutFsync, type Db } from "../../db/client";
import type { BrowserFlavour, BrowserProvider, BrowserSpec } from "../../providers/provider";
import type { ProviderRegistry } from "../../providers/registry";
import { BadRequest, DomainError, Gone, NotFound, Unavailable } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { safeEqual, sha256Hex } from "../../lib/ids";
import { findPoolById, findPoolByName, type Pool } from "../pools/pools.service";
import { listWorkers } from "../workers/workers.service";
import { explicitPoolsByWorker } from "../workers/worker-pools";
import { Capacity, type HeldSlot } from "./capacity";
import { ownerMayHoldSessions, mayControlSession, secretsScopeKey } from "./sessions.access";
import type { Actor } from "../../security/actor";
import { connectTokenHash, toPublicSession, toPublicSessionJson, toPublicSessionsJsonBytes, type PublicSession } from "./sessions.model";
import * as store from "./sessions.store";
import type { SessionRow } from "./sessions.store";
import { SessionTimers } from "./sessions.timers";
import { namesOf, type Names } from "./sessions.names";
import { activeMaintenance } from "../settings/maintenance.service";
import type { WarmPool } from "../pools/warm-pool";
import { claimWarm, listWarm, warmKey } from "../pools/warm.store";
import { browserStartBudgetMs } from "../../providers/engine-deadlines";

export interface CreateSessionInput {
  pool?: string;
  browser?: BrowserFlavour;
  viewport?: { width: number; height: number };
  userAgent?: string;
  locale?: string;
  timezone?: string;
  timeoutSec?: number;
  idleTimeoutSec?: number;
  keepAlive?: boolean;
  metadata?: Record<string, unknown>;
  profile?: unknown;
  proxy?: unknown;
  ruleSets?: unknown[];
}

export interface Owner {
  type: string;
  id: string | null;
}

/** What the service needs from the gateway: closing a session's clients. */
export interface ClientCloser {
  closeSession(sessionId: string, code: number, reason: string): void;
}

/** Profiles and artifacts around a session's life (src/modules/profiles/session-storage.ts). */
export interface SessionStorage {
  /** Resolves `profile` (taking its lock when it persists: 409 when held) and the archive to load. */
  prepareProfile(owner: Owner, sessionId: string, profile: unknown): Promise<{ config: Record<string, unknown>; archive?: Uint8Array; release(): void }>;
  /** Before the session ends: saves a persisting profile on a normal end. Never throws. */
  beforeStop(row: SessionRow, status: "completed" | "failed" | "timed_out" | "crashed", provider: BrowserProvider | undefined): Promise<void>;
  /**
   * Copies the browser's downloads into artifacts; runs after the session has ended and before
   * its container is removed (readers of the session's artifacts wait for it). Never rejects.
   */
  collectFiles(row: SessionRow, provider: BrowserProvider | undefined): Promise<void>;
  /** After the terminal transition: the profile lock goes. */
  afterEnd(sessionId: string): void;
}

/**
 * Network features around a session's life (src/modules/network/session-network.ts): the
 * egress guard's readiness, the session's proxy (through BrowserGrid's proxy relay) and its
 * rule sets (applied through BrowserGrid's own CDP connection).
 */
export interface SessionNetwork {
  /**
   * Validates `proxy` / `ruleSets` of a create request (4xx on bad input) and checks the pool's
   * egress guard (503 when missing: fail closed). Nothing is created yet.
   */
  prepare(owner: Owner, sessionId: string, pool: Pool, input: CreateSessionInput): Promise<PreparedNetwork>;
  /** A live session found after a restart: re-attach its relay registration and rule engine. Never throws. */
  resume(row: SessionRow, provider: BrowserProvider | undefined): Promise<void>;
  /** The session ended (any way): relay registration, byte counters and rule engine go. Never throws. */
  ended(sessionId: string): void;
}

export interface PreparedNetwork {
  /** Added to the session's stored config (what it runs with: proxy name, rule set versions). */
  config: Record<string, unknown>;
  /** Added to the browser spec (e.g. proxyServer). */
  spec: Partial<BrowserSpec>;
  /** The session cannot take a warm browser (its browser needs start flags). */
  cold: boolean;
  /** The browser answers CDP: register it (relay, rules) before the client gets the URL. Throws to fail the session. */
  started(row: SessionRow, provider: BrowserProvider): Promise<void>;
}

/** Where the gateway connects a client of a running session. */
export interface ConnectTarget {
  sessionId: string;
  cdp: { host: string; port: number };
}

export const CLOSE_CODES = { completed: 4001, timed_out: 4002, crashed: 4003, failed: 4004 } as const;

type EndStatus = "completed" | "failed" | "timed_out" | "crashed";

export class SessionService {
  readonly capacity: Capacity;
  private timers: SessionTimers;
  private gateway: ClientCloser | null = null;
  private clients = new Map<string, { count: number; hadClient: boolean }>();
  private ending = new Map<string, Promise<SessionRow | null>>();
  /** Queued creates by session id: aborting one takes it out of its pool's queue (see create). */
  private waiting = new Map<string, AbortController>();
  private unsubscribers: (() => void)[] = [];
  private warm: WarmPool | null = null;
  private storage: SessionStorage | null = null;
  private network: SessionNetwork | null = null;

  constructor(
    private deps: {
      db: Db;
      log: Logger;
      publicUrl: string;
      installKey: Buffer;
      providers: ProviderRegistry;
      maxDurationSec: number;
      /** A browser start still under way after this long is failed (failStuckStarts); default: engine-deadlines.ts browserStartBudgetMs. */
      startDeadlineMs?: number;
    },
  ) {
    this.capacity = new Capacity(
      () => {
        const explicit = explicitPoolsByWorker(deps.db);
        return listWorkers(deps.db).map((w) => ({
          id: w.id,
          pools: w.allPools ? "all" : (explicit.get(w.id) ?? []),
          capacity: w.capacity,
          online: w.status === "online" && !!deps.providers.get(w.id),
          unhealthy: w.status === "unhealthy" ? `worker "${w.name}" is unhealthy (${w.lastError ?? "its engine misses deadlines"})` : null,
        }));
      },
      (poolId) => findPoolById(deps.db, poolId)?.maxSessions ?? 0,
      (poolId) => findPoolById(deps.db, poolId)?.placement ?? "spread",
    );
    this.timers = new SessionTimers({
      onHardTimeout: (id) => void this.end(id, "timed_out", "maximum duration reached"),
      onIdleTimeout: (id) => void this.end(id, "timed_out", "idle timeout: no client connected"),
    });
    for (const [, provider] of deps.providers.entries()) this.watchProvider(provider);
  }

  /** Follows a worker's provider for browser deaths (called for providers added after start). */
  watchProvider(provider: BrowserProvider): void {
    this.unsubscribers.push(provider.onEvent((e) => e.type === "died" && void this.onBrowserDied(e.handle, e.reason)));
  }

  attachWarmPool(warm: WarmPool): void {
    this.warm = warm;
  }

  attachStorage(storage: SessionStorage): void {
    this.storage = storage;
  }

  attachNetwork(network: SessionNetwork): void {
    this.network = network;
  }

  /** The provider of the worker a session runs on. */
  providerOf(row: SessionRow): BrowserProvider | undefined {
    return row.workerId ? this.deps.providers.get(row.workerId) : undefined;
  }

  attachGateway(gateway: ClientCloser): void {
    this.gateway = gateway;
  }

  /**
   * Starts a browser and resolves with the session once its CDP endpoint answers. `signal` is
   * the client's request (aborts when it closes its connection): a request no longer wanted
   * leaves the queue at once, its session ends failed, and no browser is started for it. The
   * same holds for a queued session ended by anyone (DELETE, its owner disabled): nothing waits
   * for a slot on behalf of a session that is over.
   */
  async create(owner: Owner, input: CreateSessionInput, opts: { ephemeral?: boolean; signal?: AbortSignal } = {}): Promise<SessionRow> {
    if (this.shuttingDown) throw new Unavailable("BrowserGrid is shutting down; retry once it is back.", "shutting_down");
    if (input.profile !== undefined && !this.storage) throw new BadRequest('"profile" is not available in this process; remove the field.', "feature_unavailable");
    if (!this.network)
      for (const feature of ["proxy", "ruleSets"] as const)
        if (input[feature] !== undefined) throw new BadRequest(`"${feature}" is not available in this process; remove the field.`, "feature_unavailable");
    const pool = this.resolvePool(input.pool);
    const maintenance = activeMaintenance(this.deps.db);
    if (maintenance) throw new Unavailable(maintenance.message, "maintenance");
    if (pool.state !== "active") throw new Unavailable(`Pool "${pool.name}" is ${pool.state} and takes no new sessions.`, "pool_not_active");
    const timeoutSec = Math.min(input.timeoutSec ?? pool.maxDurationSec, pool.maxDurationSec, this.deps.maxDurationSec);
    const idleTimeoutSec = input.idleTimeoutSec ?? pool.idleTimeoutSec;
    const id = newId("ses");
    // Network first: it only validates, so a bad proxy or rule set leaves nothing behind.
    const net = this.network ? await this.network.prepare(owner, id, pool, input) : null;
    // A profile must be in place before Chromium starts, so such a session never takes a warm browser.
    const profile = input.profile !== undefined ? await this.storage!.prepareProfile(owner, id, input.profile) : null;
    const config = {
      browser: input.browser ?? pool.flavour,
      viewport: input.viewport ?? { width: pool.viewportWidth, height: pool.viewportHeight },
      ...(input.userAgent ? { userAgent: input.userAgent } : {}),
      ...(input.locale ? { locale: input.locale } : {}),
      ...(input.timezone ? { timezone: input.timezone } : {}),
      ...(profile ? { profile: profile.config } : {}),
      ...net?.config,
    };
    if (this.warm && !profile && !net?.cold && !input.userAgent && !input.locale && !input.timezone && this.capacity.queueDepth(pool.id) === 0) {
      const now = Date.now();
      const row = { ...this.newRow(id, owner, pool, null, "starting", config, input, timeoutSec, idleTimeoutSec, opts.ephemeral), startedAt: now, expiresAt: now + timeoutSec * 1000, connectTokenHash: connectTokenHash(this.deps.installKey, id) };
      const claimed = claimWarm(this.deps.db, pool.id, warmKey(config), row, { pool: pool.name });
      if (claimed) return this.claimed(claimed, pool.id, net);
    }
    let queuedRow: SessionRow | null = null;
    const leave = new AbortController();
    const clientGone = () => leave.abort(new Unavailable("The client closed its connection before a slot was free; nothing was started.", "request_cancelled"));
    if (opts.signal?.aborted) clientGone();
    opts.signal?.addEventListener("abort", clientGone, { once: true });
    this.waiting.set(id, leave);
    const workerId = await this.capacity
      .acquire(pool.id, pool.queueTimeoutSec * 1000, {
        leave: leave.signal,
        onQueued: () => {
          this.warm?.evictFor(pool.id);
          queuedRow = store.insertSession(
            this.deps.db,
            this.newRow(id, owner, pool, null, "queued", config, input, timeoutSec, idleTimeoutSec, opts.ephemeral),
            { type: "queued", detail: { pool: pool.name } },
          );
        },
      })
      .catch((err) => {
        profile?.release();
        // A session ended while queued already has its end state (end()); the others end failed here.
        const code = err instanceof DomainError ? err.code : "";
        const reason = code === "session_stopped" ? null : code === "request_cancelled" ? CLIENT_LEFT_REASON : code === "capacity_exhausted" ? "queue timeout" : (err as Error).message;
        if (queuedRow && reason) store.transition(this.deps.db, id, ["queued"], "failed", { endedAt: Date.now(), endReason: reason }, { type: "failed", detail: { reason } });
        throw err;
      })
      .finally(() => {
        this.waiting.delete(id);
        opts.signal?.removeEventListener("abort", clientGone);
      });

    const startedAtMs = performance.now();
    if (opts.signal?.aborted) {
      // The client left between being handed the slot and now: start nothing, pass the slot on.
      this.capacity.release(workerId, pool.id);
      profile?.release();
      if (queuedRow) store.transition(this.deps.db, id, ["queued"], "failed", { endedAt: Date.now(), endReason: CLIENT_LEFT_REASON }, { type: "failed", detail: { reason: CLIENT_LEFT_REASON } });
      throw new Unavailable("The client closed its connection before a slot was free; nothing was started.", "request_cancelled");
    }
    if (queuedRow && !store.transition(this.deps.db, id, ["queued"], "starting", { workerId }, { type: "starting", detail: { worker: workerId } })) {
      // Ended while it waited (DELETE, or its owner lost the right to hold sessions): start nothing.
      this.capacity.release(workerId, pool.id);
      profile?.release();
      throw new Unavailable("The session was stopped while it waited in the queue.", "session_stopped");
    } else if (!queuedRow)
      store.insertSession(this.deps.db, this.newRow(id, owner, pool, workerId, "starting", config, input, timeoutSec, idleTimeoutSec, opts.ephemeral), {
        type: "starting",
        detail: { pool: pool.name, worker: workerId },
      });

    const provider = this.deps.providers.get(workerId);
    const start = new AbortController();
    this.starts.set(id, { since: Date.now(), abort: start });
    try {
      if (!provider) throw new Error(`worker ${workerId} has no provider`);
      const started = await provider.start({
        sessionId: id,
        poolId: pool.id,
        workerId,
        flavour: config.browser,
        viewport: config.viewport,
        userAgent: input.userAgent,
        locale: input.locale,
        timezone: input.timezone,
        ...(profile ? { profile: { archive: profile.archive } } : {}),
        ...net?.spec,
      }, start.signal);
      const now = Date.now();
      const row = store.transition(
        this.deps.db,
        id,
        ["starting"],
        "running",
        {
          containerId: started.handle,
          cdpEndpoint: `${started.cdp.host}:${started.cdp.port}`,
          connectTokenHash: connectTokenHash(this.deps.installKey, id),
          startedAt: now,
          expiresAt: now + timeoutSec * 1000,
        },
        { type: "running", detail: { startMs: Math.round(performance.now() - startedAtMs) } },
      );
      if (!row) {
        // Stopped while starting (DELETE or shutdown): do not leave the browser behind.
        await provider.stop(started.handle).catch(() => {});
        throw new Unavailable("The session was stopped while its browser was starting.", "session_stopped");
      }
      if (net) await this.startNetwork(net, row, provider);
      if (opts.signal?.aborted) {
        // The client left while its browser started: nobody will connect, so it must not hold the slot.
        await this.end(id, "failed", CLIENT_LEFT_REASON);
        throw new Unavailable("The client closed its connection before the session was ready; it was ended.", "request_cancelled");
      }
      this.clients.set(id, { count: 0, hadClient: false });
      this.timers.arm(row);
      return row;
    } catch (err) {
      profile?.release();
      const reason = err instanceof DomainError ? err.message : `browser failed to start: ${(err as Error).message}`;
      if (store.transition(this.deps.db, id, ["starting"], "failed", { endedAt: Date.now(), endReason: reason }, { type: "failed", detail: { reason } }))
        this.capacity.release(workerId, pool.id);
      if (!(err instanceof DomainError && err.code === "request_cancelled")) this.deps.log.error("session start failed", { sessionId: id, err });
      if (err instanceof DomainError) throw err;
      throw new Unavailable("The browser could not be started; the server log has the details.", "browser_start_failed");
    } finally {
      this.starts.delete(id);
    }
  }

  /** Browser starts under way: when each began, and how to abort it (failStuckStarts). */
  private readonly starts = new Map<string, { since: number; abort: AbortController }>();

  /**
   * Safety net behind the engine deadlines (run on every heartbeat): a session whose browser is
   * still starting past the start deadline is failed and its start aborted, so nothing stays
   * `starting` forever whatever the start waits on. A container it leaves is removed by
   * reconciliation once the engine answers. Returns the ids failed.
   */
  failStuckStarts(now = Date.now()): string[] {
    const limitMs = this.deps.startDeadlineMs ?? browserStartBudgetMs();
    const failed: string[] = [];
    for (const [id, start] of this.starts) {
      if (now - start.since < limitMs) continue;
      const reason = `the browser did not start within ${limitMs / 1000} s (its worker's engine does not answer)`;
      this.starts.delete(id);
      start.abort.abort(new Unavailable(`The session was failed: ${reason}.`, "browser_start_failed"));
      void this.end(id, "failed", reason);
      failed.push(id);
    }
    return failed;
  }

  /** Runs the network's start step; a failure ends the session (browser removed) and is rethrown as the create's error. */
  private async startNetwork(net: PreparedNetwork, row: SessionRow, provider: BrowserProvider): Promise<void> {
    try {
      await net.started(row, provider);
    } catch (err) {
      const reason = `network set-up failed: ${(err as Error).message}`;
      this.deps.log.warn("session network set-up failed", { sessionId: row.id, err });
      await this.end(row.id, "failed", reason);
      throw err instanceof DomainError ? err : new Unavailable(`The session's network could not be set up: ${(err as Error).message}`, "network_setup_failed");
    }
  }

  /** A warm browser became this session: set its clock, then refill the pool in the background. */
  private async claimed(row: SessionRow, poolId: string, net: PreparedNetwork | null): Promise<SessionRow> {
    if (net) {
      const provider = this.providerOf(row);
      if (!provider) throw new Unavailable("The warm browser's worker is gone.", "browser_start_failed");
      this.warm?.refillAfterClaim(poolId);
      await this.startNetwork(net, row, provider);
    }
    this.clients.set(row.id, { count: 0, hadClient: false });
    this.timers.arm(row);
    this.warm?.refillAfterClaim(poolId);
    return row;
  }

  /** Stops a session on request (DELETE). Terminal sessions are left as they are. */
  async stop(id: string, reason = "stopped by user"): Promise<SessionRow> {
    const row = store.getSession(this.deps.db, id);
    if (!row) throw new NotFound(`Session ${id}`);
    if (store.isTerminal(row.status)) return row;
    return (await (this.ending.get(id) ?? this.end(id, "completed", reason))) ?? store.getSession(this.deps.db, id)!;
  }

  /**
   * Ends a session: stopping → provider stop → terminal status; frees the slot once. A second
   * call while the first is under way waits for it and gets the same result.
   */
  end(id: string, status: EndStatus, reason: string): Promise<SessionRow | null> {
    const inFlight = this.ending.get(id);
    if (inFlight) return inFlight;
    // "stopping" is a waypoint, committed without waiting for the disk: a power cut that loses it
    // also ends the browser, and reconciliation ends a "running" row whose container is gone. The
    // end state below is durable (it carries this commit to the disk too).
    const stopping = withoutFsync(this.deps.db, () => store.transition(this.deps.db, id, ["queued", "starting", "running", "paused"], "stopping", {}, { type: "stopping", detail: { reason } }));
    if (!stopping) return Promise.resolve(null);
    this.waiting.get(id)?.abort(new Unavailable("The session was stopped while it waited in the queue.", "session_stopped"));
    const done = this.finishEnd(stopping, status, reason).finally(() => this.ending.delete(id));
    this.ending.set(id, done);
    return done;
  }

  private async finishEnd(stopping: SessionRow, status: EndStatus, reason: string): Promise<SessionRow | null> {
    const id = stopping.id;
    this.timers.clear(id);
    this.gateway?.closeSession(id, CLOSE_CODES[status], `session ended: ${status} (${reason})`);
    const provider = this.providerOf(stopping);
    if (this.storage && stopping.containerId) await this.storage.beforeStop(stopping, status, provider);
    // The session is over once its clients are gone and a persisting profile is saved. Copying
    // its downloads out (one Docker archive call, 60–160 ms even when empty) and then removing
    // the container (SIGKILL + rm, ≈ 300 ms) finish after the answer; whoever reads the
    // session's artifacts waits for the copy. The slot goes to the next queued request at once
    // (the old browser is already being killed). A removal that fails or is cut short by a
    // restart is finished by reconciliation (an orphan container).
    if (stopping.containerId) {
      const containerId = stopping.containerId;
      const files = this.storage?.collectFiles(stopping, provider);
      if (provider) {
        const removal = Promise.resolve(files)
          .then(() => provider.stop(containerId))
          .catch((err) => this.deps.log.warn("browser stop failed; reconciliation will retry", { sessionId: id, err }))
          .finally(() => this.removals.delete(removal));
        this.removals.add(removal);
      }
    }
    const ended = store.transition(this.deps.db, id, ["stopping"], status, { endedAt: Date.now(), endReason: reason }, { type: status, detail: { reason } });
    this.storage?.afterEnd(id);
    this.network?.ended(id);
    this.clients.delete(id);
    if (stopping.workerId) this.capacity.release(stopping.workerId, stopping.poolId);
    this.deps.log.info("session ended", { sessionId: id, status, reason });
    return ended;
  }

  private async onBrowserDied(handle: string, reason: string): Promise<void> {
    const row = store.findLiveByContainer(this.deps.db, handle);
    if (!row) return this.warm?.onBrowserDied(handle);
    if (row.status === "stopping") return;
    await this.end(row.id, "crashed", `browser exited: ${reason}`);
  }

  // ---- gateway hooks -------------------------------------------------------------------

  /**
   * The target for /cdp/<id>?token=…, or null when the token is wrong, the session is not
   * running or its owner may no longer hold sessions (sessions.access.ts). One answer for all of
   * these, an unknown id included, reached by the same work (the digest is compared even when
   * there is no row), so a caller without the token cannot tell which session ids exist.
   */
  authorizeConnect(sessionId: string, token: string): ConnectTarget | null {
    const check = this.checkConnect(sessionId, token);
    return "target" in check ? check.target : null;
  }

  /**
   * authorizeConnect for a CDP client, who is told what happened to a session that is over:
   * throws Gone (410 session_ended, with the end status, reason and time) when the token is the
   * session's own, the session has ended or is ending, and its owner may still hold sessions.
   * Only a holder of the session's token learns this, and it learns nothing the owner could not
   * read with GET /api/v1/sessions/:id; everyone else gets the uniform null (401).
   */
  authorizeConnectForClient(sessionId: string, token: string): ConnectTarget | null {
    const check = this.checkConnect(sessionId, token);
    if ("ended" in check) {
      const row = check.ended;
      throw new Gone(
        store.isTerminal(row.status)
          ? `Session ${row.id} ended (${row.status}: ${row.endReason ?? "no reason recorded"}) at ${new Date(row.endedAt ?? Date.now()).toISOString()}; create a new session.`
          : `Session ${row.id} is being stopped; create a new session.`,
        "session_ended",
      );
    }
    return "target" in check ? check.target : null;
  }

  /**
   * The id of the live session whose connect token this is, or null. For the root
   * `/json/version?token=<session token>` that chromedp asks when given a cdpUrl (it keeps only
   * the query): the token alone names its session. It tells a caller nothing it did not hold:
   * finding the id needs the token, which is a 256-bit HMAC; the gateway then applies the same
   * connect rule as `/cdp/<id>` (authorizeConnectForClient).
   */
  sessionIdForConnectToken(token: string): string | null {
    return store.findLiveByConnectTokenHash(this.deps.db, sha256Hex(token))?.id ?? null;
  }

  /** The one connect rule behind both answers above. */
  private checkConnect(sessionId: string, token: string): { target: ConnectTarget } | { ended: SessionRow } | { refused: true } {
    const row = store.getSession(this.deps.db, sessionId);
    const tokenMatches = safeEqual(sha256Hex(token), row?.connectTokenHash ?? NO_SESSION_DIGEST);
    if (!row || !tokenMatches || !ownerMayHoldSessions(this.deps.db, row)) return { refused: true };
    if (row.status === "stopping" || store.isTerminal(row.status)) return { ended: row };
    if (row.status !== "running" || !row.cdpEndpoint) return { refused: true };
    const i = row.cdpEndpoint.lastIndexOf(":");
    const cdp = { host: row.cdpEndpoint.slice(0, i), port: Number(row.cdpEndpoint.slice(i + 1)) };
    const provider = row.workerId ? this.deps.providers.get(row.workerId) : undefined;
    return { target: { sessionId, cdp: provider?.reach ? provider.reach(cdp) : cdp } };
  }

  onClientsChanged(sessionId: string, count: number): void {
    const c = this.clients.get(sessionId);
    if (!c) return;
    const before = c.count;
    c.count = count;
    if (count > 0) {
      c.hadClient = true;
      this.timers.clearIdle(sessionId);
      if (before === 0) store.appendNote(this.deps.db, sessionId, "client_connected", { clients: count });
      return;
    }
    store.appendNote(this.deps.db, sessionId, "client_disconnected", {});
    const row = store.getSession(this.deps.db, sessionId);
    if (!row || row.status !== "running") return;
    if (!row.keepAlive) void this.end(sessionId, "completed", "last client disconnected");
    else this.timers.armIdle(row);
  }

  setKeepAlive(sessionId: string, keepAlive: boolean): SessionRow | undefined {
    this.deps.db.$client.query("UPDATE sessions SET keep_alive = ? WHERE id = ? AND status = 'running'").run(keepAlive ? 1 : 0, sessionId);
    store.appendEvent(this.deps.db, sessionId, "keep_alive", { keepAlive });
    return store.getSession(this.deps.db, sessionId);
  }

  // ---- reads ---------------------------------------------------------------------------

  /** The session as `reader` may see it: with connect secrets only for its owner and admins (sessions.access.ts). */
  toPublicFor(reader: Actor, row: SessionRow): PublicSession {
    return this.toPublic(row, mayControlSession(reader, row));
  }

  /** The session with its connect secrets (`withSecrets`) or without; prefer toPublicFor where there is a reader. */
  toPublic(row: SessionRow, withSecrets: boolean): PublicSession {
    return toPublicSession(row, this.publicContext(row, namesOf(this.deps.db)), withSecrets);
  }

  /** JSON.stringify(toPublicFor(reader, row)), from text remembered per row (sessions.model.ts). */
  toPublicJson(reader: Actor, row: SessionRow): string {
    return toPublicSessionJson(row, this.publicContext(row, namesOf(this.deps.db)), mayControlSession(reader, row));
  }

  /**
   * The UTF-8 JSON of `${prefix}[toPublic(row), …]${suffix}`: a page of the list API, as a Blob
   * (a Response takes a Blob's bytes as they are; it copies a Uint8Array's). The last page is
   * remembered for the millisecond it was built in: a request in the same millisecond for the
   * same rows (the same shared row objects, so nothing changed) gets the same bytes a rebuild
   * would give, running durations included. Under load many requests share each one.
   */
  toPublicJsonPage(reader: Actor, rows: readonly SessionRow[], prefix: string, suffix: string): Blob {
    const names = namesOf(this.deps.db);
    const now = Date.now();
    const scope = secretsScopeKey(reader);
    const last = this.lastPage;
    if (last && last.now === now && last.names === names && last.scope === scope && last.prefix === prefix && last.suffix === suffix && sameItems(last.rows, rows)) return last.page;
    const page = new Blob([toPublicSessionsJsonBytes(rows, (r) => this.publicContext(r, names), (r) => mayControlSession(reader, r), prefix, suffix, now)]);
    this.lastPage = { now, names, scope, prefix, suffix, rows, page };
    return page;
  }

  private lastPage: { now: number; names: Names; scope: string; prefix: string; suffix: string; rows: readonly SessionRow[]; page: Blob } | null = null;

  private publicContext(row: SessionRow, names: Names) {
    return { publicUrl: this.deps.publicUrl, installKey: this.deps.installKey, poolName: names.pool(row.poolId), workerName: names.worker(row.workerId) };
  }

  resolvePool(name: string | undefined): Pool {
    const pool = findPoolByName(this.deps.db, name ?? "default");
    if (!pool) throw new BadRequest(`Unknown pool "${name}": use GET /api/v1/pools for the pool names.`, "unknown_pool");
    return pool;
  }

  /** Re-arms timers and slot counts for sessions that survived a restart (after reconcile). */
  adoptLiveSessions(): void {
    const slots: HeldSlot[] = [];
    for (const row of store.liveSessions(this.deps.db)) {
      if (row.workerId) slots.push({ workerId: row.workerId, poolId: row.poolId });
      if (row.status === "running") {
        this.clients.set(row.id, { count: 0, hadClient: false });
        this.timers.arm(row);
        void this.network?.resume(row, this.providerOf(row));
      }
    }
    for (const w of listWarm(this.deps.db)) slots.push({ workerId: w.workerId, poolId: w.poolId });
    this.capacity.reset(slots);
  }

  /** Resolves once every container removal started by an end so far has finished (or failed). */
  async removalsSettled(): Promise<void> {
    await Promise.all([...this.removals]);
  }

  private readonly removals = new Set<Promise<void>>();

  private shuttingDown = false;

  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    this.timers.clearAll();
    this.warm?.close();
    this.capacity.rejectAll(new Unavailable("BrowserGrid is shutting down.", "shutting_down"));
    for (const u of this.unsubscribers) u();
  }

  private newRow(
    id: string,
    owner: Owner,
    pool: Pool,
    workerId: string | null,
    status: "queued" | "starting",
    config: Record<string, unknown>,
    input: CreateSessionInput,
    timeoutSec: number,
    idleTimeoutSec: number,
    ephemeral = false,
  ): store.NewSessionRow {
    return {
      id,
      poolId: pool.id,
      workerId,
      ownerType: owner.type,
      ownerId: owner.id,
      status,
      config,
      metadata: input.metadata ?? {},
      keepAlive: input.keepAlive ?? false,
      ephemeral,
      timeoutSec,
      idleTimeoutSec,
    };
  }
}

/** The end reason of a session whose client gave up before it was ready (queued or starting). */
const CLIENT_LEFT_REASON = "cancelled: the client gave up (closed its connection) before the session was ready";

/** Compared against when a session id has no row, so an unknown id costs what a wrong token does. */
const NO_SESSION_DIGEST = sha256Hex("no such session");

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
