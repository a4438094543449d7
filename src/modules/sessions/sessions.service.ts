// The session lifecycle: reserve a slot → start a browser through the worker's provider →
// running with a connect URL → stop (asked, timed out, idle, client gone) or crash → terminal
// state with a reason → slot freed (the scheduler's) → the queue moves. The database holds what
// should exist; this service keeps the timers that follow it.
//
// Its parts: the create pipeline (sessions.create.ts), which asks the scheduler (src/scheduler/)
// for a warm browser or a slot, the gateway's side of a session (sessions.connect.ts: connect
// authorisation, client counts) and the read models (sessions.views.ts). This class is the one object the rest of BrowserGrid holds.
import type { Logger } from "../../lib/logger";
import { withoutFsync, type Db } from "../../db/client";
import type { BrowserProvider, StartedBrowser } from "../../providers/provider";
import type { Scheduler } from "../../scheduler/scheduler";
import { NotFound, Unavailable } from "../../lib/errors";
import type { Actor } from "../../security/actor";
import { browserStartBudgetMs } from "../../providers/engine-deadlines";
import { CLOSE_CODES, type BrowserLinks, type ClientCloser, type ConnectTarget, type CreateSessionInput, type EndStatus, type Owner, type ProviderRegistry, type SessionNetwork, type SessionStorage } from "./sessions.contracts";
import { SessionConnections } from "./sessions.connect";
import { createSession, type CreateHost, type CreateOptions } from "./sessions.create";
import type { PublicSession } from "./sessions.model";
import * as store from "./sessions.store";
import type { SessionRow } from "./sessions.store";
import { SessionTimers } from "./sessions.timers";
import { SessionViews } from "./sessions.views";

// The types callers know from this file; they live in sessions.contracts.ts.
export { CLOSE_CODES } from "./sessions.contracts";
export type { BrowserLinks, ClientCloser, ConnectTarget, CreateSessionInput, Owner, PreparedNetwork, PreparedProfile, ProviderRegistry, SessionNetwork, SessionStorage } from "./sessions.contracts";

export class SessionService {
  private timers: SessionTimers;
  private connections: SessionConnections;
  private views: SessionViews;
  private ending = new Map<string, Promise<SessionRow | null>>();
  /** Queued creates by session id: aborting one takes it out of its pool's queue (see create). */
  private waiting = new Map<string, AbortController>();
  /** Browser starts under way: when each began, and how to abort it (failStuckStarts). */
  private readonly starts = new Map<string, { since: number; abort: AbortController }>();
  private unsubscribers: (() => void)[] = [];
  private readonly storage: SessionStorage | null;
  private readonly network: SessionNetwork | null;
  private readonly clients: ClientCloser | null;
  private readonly links: BrowserLinks | null;

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
      /** Warm browsers, slots and the queue: every browser a create gets comes from here. */
      scheduler: Scheduler;
      /** A browser started for a session is ready: what its provider returned (boot: its path to the gateway's cache). */
      onBrowserStarted?: (provider: BrowserProvider, started: StartedBrowser) => void;
      /** Profiles and downloads around a session's life (absent: none). */
      storage?: SessionStorage;
      /** The session's network parts: egress guard, proxy, rule sets (absent: none). */
      network?: SessionNetwork;
      /** Closes a session's client connections when it ends (the CDP gateway; absent: nothing to close). */
      clients?: ClientCloser;
      /** BrowserGrid's own CDP links to the browsers: a session's closes when it ends (absent: none). */
      links?: BrowserLinks;
    },
  ) {
    this.storage = deps.storage ?? null;
    this.network = deps.network ?? null;
    this.clients = deps.clients ?? null;
    this.links = deps.links ?? null;
    this.timers = new SessionTimers({
      onHardTimeout: (id) => void this.end(id, "timed_out", "maximum duration reached"),
      onIdleTimeout: (id) => void this.end(id, "timed_out", "idle timeout: no client connected"),
    });
    this.connections = new SessionConnections({ db: deps.db, providers: deps.providers, timers: this.timers, end: (id, status, reason) => this.end(id, status, reason) });
    this.views = new SessionViews(deps);
    for (const [, provider] of deps.providers.entries()) this.watchProvider(provider);
  }

  /** Follows a worker's provider for browser deaths (called for providers added after start). */
  watchProvider(provider: BrowserProvider): void {
    this.unsubscribers.push(provider.onEvent((e) => e.type === "died" && void this.onBrowserDied(e.handle, e.reason)));
  }

  /** The provider of the worker a session runs on. */
  providerOf(row: SessionRow): BrowserProvider | undefined {
    return row.workerId ? this.deps.providers.get(row.workerId) : undefined;
  }

  /**
   * Starts a browser and resolves with the session once its CDP endpoint answers. `signal` is
   * the client's request (aborts when it closes its connection): a request no longer wanted
   * leaves the queue at once, its session ends failed, and no browser is started for it. The
   * same holds for a queued session ended by anyone (DELETE, its owner disabled): nothing waits
   * for a slot on behalf of a session that is over. The steps: sessions.create.ts.
   */
  async create(owner: Owner, input: CreateSessionInput, opts: CreateOptions = {}): Promise<SessionRow> {
    if (this.shuttingDown) throw new Unavailable("BrowserGrid is shutting down; retry once it is back.", "shutting_down");
    return createSession(this.createHost(), owner, input, opts);
  }

  /** The pipeline's view of this service. */
  private createHost(): CreateHost {
    const { db, log, installKey, maxDurationSec, providers } = this.deps;
    return {
      db,
      log,
      installKey,
      maxDurationSec,
      providers,
      scheduler: this.deps.scheduler,
      storage: this.storage,
      network: this.network,
      waiting: this.waiting,
      starts: this.starts,
      providerOf: (row) => this.providerOf(row),
      end: (id, status, reason) => this.end(id, status, reason),
      running: (row) => {
        this.connections.track(row.id);
        this.timers.arm(row);
      },
      browserStarted: (provider, started) => this.deps.onBrowserStarted?.(provider, started),
    };
  }

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
    this.clients?.closeSession(id, CLOSE_CODES[status], `session ended: ${status} (${reason})`);
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
    this.links?.closeSession(id);
    this.connections.forget(id);
    if (stopping.workerId) this.deps.scheduler.release({ workerId: stopping.workerId, poolId: stopping.poolId });
    this.deps.log.info("session ended", { sessionId: id, status, reason });
    return ended;
  }

  private async onBrowserDied(handle: string, reason: string): Promise<void> {
    const row = store.findLiveByContainer(this.deps.db, handle);
    if (!row) return this.deps.scheduler.warm?.onBrowserDied(handle);
    if (row.status === "stopping") return;
    await this.end(row.id, "crashed", `browser exited: ${reason}`);
  }

  // ---- gateway hooks (sessions.connect.ts) -----------------------------------------------

  /** See SessionConnections.authorizeConnect: the uniform null for every refusal. */
  authorizeConnect(sessionId: string, token: string): ConnectTarget | null {
    return this.connections.authorizeConnect(sessionId, token);
  }

  /** See SessionConnections.authorizeConnectForClient: 410 for the session's own token once it is over. */
  authorizeConnectForClient(sessionId: string, token: string): ConnectTarget | null {
    return this.connections.authorizeConnectForClient(sessionId, token);
  }

  /** The live session whose connect token this is, or null (SessionConnections.sessionIdForConnectToken). */
  sessionIdForConnectToken(token: string): string | null {
    return this.connections.sessionIdForConnectToken(token);
  }

  /** The gateway's client count of a session changed (SessionConnections.onClientsChanged). */
  onClientsChanged(sessionId: string, count: number): void {
    this.connections.onClientsChanged(sessionId, count);
  }

  setKeepAlive(sessionId: string, keepAlive: boolean): SessionRow | undefined {
    this.deps.db.$client.query("UPDATE sessions SET keep_alive = ? WHERE id = ? AND status = 'running'").run(keepAlive ? 1 : 0, sessionId);
    store.appendEvent(this.deps.db, sessionId, "keep_alive", { keepAlive });
    return store.getSession(this.deps.db, sessionId);
  }

  // ---- read models (sessions.views.ts) ---------------------------------------------------

  /** The session as `reader` may see it: with connect secrets only for its owner and admins (sessions.access.ts). */
  toPublicFor(reader: Actor, row: SessionRow): PublicSession {
    return this.views.toPublicFor(reader, row);
  }

  /** The session with its connect secrets (`withSecrets`) or without; prefer toPublicFor where there is a reader. */
  toPublic(row: SessionRow, withSecrets: boolean): PublicSession {
    return this.views.toPublic(row, withSecrets);
  }

  /** JSON.stringify(toPublicFor(reader, row)), from text remembered per row (sessions.model.ts). */
  toPublicJson(reader: Actor, row: SessionRow): string {
    return this.views.toPublicJson(reader, row);
  }

  /** A page of the list API as UTF-8 JSON in a Blob, shared by requests in the same millisecond (SessionViews.toPublicJsonPage). */
  toPublicJsonPage(reader: Actor, rows: readonly SessionRow[], prefix: string, suffix: string): Blob {
    return this.views.toPublicJsonPage(reader, rows, prefix, suffix);
  }

  // ---- restart and shutdown --------------------------------------------------------------

  /** Re-arms timers and slot counts for sessions that survived a restart (after reconcile). */
  adoptLiveSessions(): void {
    const slots: { workerId: string; poolId: string }[] = [];
    for (const row of store.liveSessions(this.deps.db)) {
      if (row.workerId) slots.push({ workerId: row.workerId, poolId: row.poolId });
      if (row.status === "running") {
        this.connections.track(row.id);
        this.timers.arm(row);
        void this.network?.resume(row, this.providerOf(row));
      }
    }
    this.deps.scheduler.rebuildSlots(slots);
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
    this.deps.scheduler.close(new Unavailable("BrowserGrid is shutting down.", "shutting_down"));
    for (const u of this.unsubscribers) u();
  }
}
