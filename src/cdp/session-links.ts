// BrowserGrid's own CDP link to each live session's browser: one WebSocket per session, shared
// by every part of BrowserGrid that drives the browser itself (the live view, rule engines,
// profile saves, screenshots, and what comes later: computer actions, detectors, recordings).
// Straight to Chromium, never through the gateway, so it is no client of the session and keeps
// nothing alive.
//
// Contract:
// - `link(sessionId)` gives the caller its own lease on the session's link, opening the link on
//   first demand at the address the injected resolver names (null: the session has no browser
//   to reach → 409 session_not_running). Callers asking while it opens share that one open.
// - A lease is one user: its own event listeners (`onEvent`, removable) and close listeners
//   (`onClose`: the link died, or the session ended). Sends of all leases interleave on the
//   one socket (each request has its own id); a send after the link closed rejects.
// - Every CDP event goes to every lease's listeners, also those carrying a flat-session
//   `sessionId`: each user filters on the CDP sessions it holds. One exception keeps users'
//   attachments apart: the `Target.attachedToTarget` of a lease's own `Target.attachToTarget`
//   goes to that lease only, so a user that auto-attaches sees only its own attachments.
// - Flat sessions belong to the lease that made them (by `Target.attachToTarget`, or by its
//   `Target.setAutoAttach`, children included). `release()` detaches them and turns off the
//   lease's own browser-level auto-attach, so nothing it set up outlives it on the shared link
//   (Target.setDiscoverTargets is left on: it changes nothing in the browser).
// - The link closes when its last lease is released (after `lingerMs`, so back-to-back users
//   share it), and for every lease at once on `closeSession(id)` (the session's end: pending
//   sends reject). A link that died (the browser went away) is dropped; the next `link()`
//   opens a new one. Every open and send has a deadline.
import { Conflict } from "../lib/errors";
import type { Logger } from "../lib/logger";
import { CdpClient, CdpError, type CdpTargetAddress } from "./cdp-client";

export type CdpEventListener = (method: string, params: any, sessionId: string | undefined) => void;

/** One user's hold on a session's shared CDP link. */
export interface CdpLease {
  readonly sessionId: string;
  /** False once the link closed (or this lease was released). */
  readonly isOpen: boolean;
  send<T = any>(method: string, params?: Record<string, unknown>, cdpSessionId?: string, timeoutMs?: number): Promise<T>;
  /** Adds an event listener; returns its removal. */
  onEvent(listener: CdpEventListener): () => void;
  /** Called once when the link closes under this lease (not on its own release). */
  onClose(listener: (reason: string) => void): () => void;
  /** This user is done: its flat sessions are detached; the last release closes the link. */
  release(): void;
}

/** Where a session's browser answers CDP now, or null when it has none to reach. */
export type BrowserAddressResolver = (sessionId: string) => CdpTargetAddress | null;

export interface SessionLinksOptions {
  resolve: BrowserAddressResolver;
  log: Logger;
  /** How long an unused link stays open for the next user (default 5 s; 0: closes at once). */
  lingerMs?: number;
  /** Deadline of opening a link (path discovery + WebSocket handshake), default 5 s. */
  openTimeoutMs?: number;
}

const DEFAULT_LINGER_MS = 5_000;
const DEFAULT_OPEN_TIMEOUT_MS = 5_000;
/** Deadline of each clean-up command a release sends. */
const CLEANUP_TIMEOUT_MS = 2_000;

export class SessionLinks {
  private links = new Map<string, SharedLink>();
  private opening = new Map<string, Promise<SharedLink>>();
  /** Sessions that ended while their link was opening. */
  private ended = new Set<string>();

  constructor(private opts: SessionLinksOptions) {}

  /** A lease on the session's link, opened on first demand. */
  async link(sessionId: string): Promise<CdpLease> {
    const open = this.links.get(sessionId);
    if (open?.isOpen) return open.lease();
    let pending = this.opening.get(sessionId);
    if (!pending) {
      pending = this.open(sessionId).finally(() => {
        this.opening.delete(sessionId);
        this.ended.delete(sessionId);
      });
      this.opening.set(sessionId, pending);
    }
    return (await pending).lease();
  }

  /** The session ended: its link closes for every lease, pending sends reject. */
  closeSession(sessionId: string): void {
    const link = this.links.get(sessionId);
    this.links.delete(sessionId);
    link?.close("the session ended");
    // A link still opening is closed as soon as it opens (open() sees it is no longer wanted).
    if (this.opening.has(sessionId)) this.ended.add(sessionId);
  }

  /** Every link closes (the server stops). */
  closeAll(): void {
    for (const id of [...this.links.keys(), ...this.opening.keys()]) this.closeSession(id);
  }

  /** Sessions whose link is open (for tests and diagnostics). */
  openSessions(): string[] {
    return [...this.links.keys()];
  }

  private async open(sessionId: string): Promise<SharedLink> {
    this.ended.delete(sessionId);
    const address = this.opts.resolve(sessionId);
    if (!address) throw new Conflict(`Session ${sessionId} has no running browser.`, "session_not_running");
    const client = await CdpClient.connect(address, this.opts.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS);
    if (this.ended.delete(sessionId)) {
      client.close();
      throw new CdpError("the session ended");
    }
    const link: SharedLink = new SharedLink(client, sessionId, this.opts.lingerMs ?? DEFAULT_LINGER_MS, this.opts.log, () => {
      if (this.links.get(sessionId) === link) this.links.delete(sessionId);
    });
    this.links.set(sessionId, link);
    return link;
  }
}

/** One open WebSocket and the leases sharing it. */
class SharedLink {
  private leases = new Set<Lease>();
  /** Flat CDP session → the lease it belongs to. */
  private owners = new Map<string, Lease>();
  /** The lease whose browser-level Target.setAutoAttach is on. */
  private autoAttacher: Lease | null = null;
  /** Explicit attaches awaiting their reply: target id → count. */
  private attaching = new Map<string, number>();
  /** Root attachedToTarget events held until the explicit attach they may answer replies. */
  private held: { params: any }[] = [];
  private linger: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(
    private client: CdpClient,
    readonly sessionId: string,
    private lingerMs: number,
    private log: Logger,
    private onGone: () => void,
  ) {
    client.onEvent = (method, params, cdpSession) => this.receive(method, params, cdpSession);
    client.onClose = (reason) => this.closedUnder(reason);
  }

  get isOpen(): boolean {
    return !this.closed && this.client.isOpen;
  }

  lease(): CdpLease {
    if (!this.isOpen) throw new CdpError("browser connection is closed");
    clearTimeout(this.linger);
    const l = new Lease(this);
    this.leases.add(l);
    return l;
  }

  close(reason: string): void {
    if (this.closed) return;
    this.client.close(reason); // rejects pending sends with the reason; onClose tells the leases
    this.closedUnder(reason);
  }

  async send(from: Lease, method: string, params: Record<string, unknown>, cdpSession: string | undefined, timeoutMs: number | undefined): Promise<any> {
    const explicitAttach = method === "Target.attachToTarget" && !cdpSession && typeof params.targetId === "string" ? (params.targetId as string) : null;
    if (explicitAttach) this.attaching.set(explicitAttach, (this.attaching.get(explicitAttach) ?? 0) + 1);
    // Chromium attaches the existing targets before it replies: they are this lease's already.
    if (method === "Target.setAutoAttach" && !cdpSession && params.autoAttach === true) this.autoAttacher = from;
    let result: any;
    try {
      result = await this.client.send(method, params, cdpSession, timeoutMs);
    } finally {
      if (explicitAttach) {
        const n = (this.attaching.get(explicitAttach) ?? 1) - 1;
        if (n > 0) this.attaching.set(explicitAttach, n);
        else this.attaching.delete(explicitAttach);
        this.releaseHeld(result?.sessionId, from);
      }
    }
    if (explicitAttach && typeof result?.sessionId === "string") this.owners.set(result.sessionId, from);
    if (method === "Target.detachFromTarget" && typeof params.sessionId === "string") this.owners.delete(params.sessionId);
    if (method === "Target.setAutoAttach" && !cdpSession && params.autoAttach !== true && this.autoAttacher === from) this.autoAttacher = null;
    return result;
  }

  private receive(method: string, params: any, cdpSession: string | undefined): void {
    if (method === "Target.attachedToTarget" && !cdpSession && params?.waitingForDebugger !== true && this.attaching.has(params?.targetInfo?.targetId)) {
      // Chromium sends the event of an explicit attach just before its reply.
      this.held.push({ params });
      return;
    }
    this.dispatch(method, params, cdpSession, null);
  }

  /** An explicit attach replied: its event goes to the lease that asked; the others go to all. */
  private releaseHeld(attachedSession: string | undefined, to: Lease): void {
    const held = this.held;
    this.held = [];
    for (const { params } of held) {
      if (attachedSession && params.sessionId === attachedSession) this.dispatch("Target.attachedToTarget", params, undefined, to);
      else if (this.attaching.has(params.targetInfo?.targetId)) this.held.push({ params });
      else this.dispatch("Target.attachedToTarget", params, undefined, null);
    }
  }

  private dispatch(method: string, params: any, cdpSession: string | undefined, only: Lease | null): void {
    if (method === "Target.attachedToTarget" && typeof params?.sessionId === "string") {
      const owner = only ?? (cdpSession ? this.owners.get(cdpSession) : this.autoAttacher);
      if (owner) this.owners.set(params.sessionId, owner);
    } else if (method === "Target.detachedFromTarget" && typeof params?.sessionId === "string") this.owners.delete(params.sessionId);
    for (const l of only ? [only] : [...this.leases]) {
      try {
        l.emit(method, params, cdpSession);
      } catch (err) {
        this.log.warn("a CDP event listener failed", { sessionId: this.sessionId, method, err });
      }
    }
  }

  /** A lease is done: undo what it set up on the shared link, close when nobody holds it. */
  drop(l: Lease): void {
    if (!this.leases.delete(l)) return;
    if (this.isOpen) {
      const quiet = (method: string, params: Record<string, unknown>) => void this.client.send(method, params, undefined, CLEANUP_TIMEOUT_MS).catch(() => {});
      if (this.autoAttacher === l) {
        this.autoAttacher = null;
        quiet("Target.setAutoAttach", { autoAttach: false, waitForDebuggerOnStart: false, flatten: true });
      }
      for (const [s, owner] of this.owners) {
        if (owner !== l) continue;
        this.owners.delete(s);
        quiet("Target.detachFromTarget", { sessionId: s });
      }
    }
    if (this.leases.size > 0) return;
    if (this.lingerMs <= 0) return this.close("no user left");
    this.linger = setTimeout(() => {
      if (this.leases.size === 0) this.close("no user left");
    }, this.lingerMs);
    this.linger.unref?.();
  }

  private closedUnder(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.linger);
    this.onGone();
    const leases = [...this.leases];
    this.leases.clear();
    this.owners.clear();
    for (const l of leases) l.closedUnder(reason);
  }
}

class Lease implements CdpLease {
  private events = new Set<CdpEventListener>();
  private closes = new Set<(reason: string) => void>();
  private released = false;

  constructor(private link: SharedLink) {}

  get sessionId(): string {
    return this.link.sessionId;
  }

  get isOpen(): boolean {
    return !this.released && this.link.isOpen;
  }

  send<T = any>(method: string, params: Record<string, unknown> = {}, cdpSessionId?: string, timeoutMs?: number): Promise<T> {
    if (this.released) return Promise.reject(new CdpError("this link was released"));
    return this.link.send(this, method, params, cdpSessionId, timeoutMs);
  }

  onEvent(listener: CdpEventListener): () => void {
    this.events.add(listener);
    return () => void this.events.delete(listener);
  }

  onClose(listener: (reason: string) => void): () => void {
    this.closes.add(listener);
    return () => void this.closes.delete(listener);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.events.clear();
    this.closes.clear();
    this.link.drop(this);
  }

  emit(method: string, params: any, cdpSession: string | undefined): void {
    for (const fn of [...this.events]) fn(method, params, cdpSession);
  }

  closedUnder(reason: string): void {
    if (this.released) return;
    this.released = true;
    const closes = [...this.closes];
    this.events.clear();
    this.closes.clear();
    for (const fn of closes) fn(reason);
  }
}
