// The session side of the CDP gateway: who may connect to a session (its connect token, its
// owner's right to hold sessions, its state), and what the number of connected clients means
// for the session (the idle timer, the end of an ephemeral session).
import type { Db } from "../../db/client";
import { Gone } from "../../lib/errors";
import { safeEqual, sha256Hex } from "../../lib/ids";
import { ownerMayHoldSessions } from "./sessions.access";
import { browserAddress } from "./sessions.address";
import type { ConnectTarget, EndStatus, ProviderRegistry } from "./sessions.contracts";
import * as store from "./sessions.store";
import type { SessionRow } from "./sessions.store";
import type { SessionTimers } from "./sessions.timers";

/** Compared against when a session id has no row, so an unknown id costs what a wrong token does. */
const NO_SESSION_DIGEST = sha256Hex("no such session");

export class SessionConnections {
  /** Connected clients of each running session (sessions not tracked here ignore client counts). */
  private clients = new Map<string, { count: number; hadClient: boolean }>();

  constructor(
    private deps: {
      db: Db;
      providers: ProviderRegistry;
      timers: SessionTimers;
      end(id: string, status: EndStatus, reason: string): Promise<unknown>;
    },
  ) {}

  /** The session is running: from now on its client count drives its idle timer and its end. */
  track(sessionId: string): void {
    this.clients.set(sessionId, { count: 0, hadClient: false });
  }

  /** The session ended: its client count means nothing any more. */
  forget(sessionId: string): void {
    this.clients.delete(sessionId);
  }

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
    if (store.isEndingOrEnded(row.status)) return { ended: row };
    if (row.status !== "running") return { refused: true };
    const cdp = browserAddress(row, row.workerId ? this.deps.providers.get(row.workerId) : undefined);
    return cdp ? { target: { sessionId, cdp } } : { refused: true };
  }

  /**
   * The gateway's count of a session's open clients changed. The first client stops the idle
   * timer; when the last one leaves, a session without keepAlive ends (completed) and one with
   * keepAlive starts its idle timer.
   */
  onClientsChanged(sessionId: string, count: number): void {
    const c = this.clients.get(sessionId);
    if (!c) return;
    const before = c.count;
    c.count = count;
    if (count > 0) {
      c.hadClient = true;
      this.deps.timers.clearIdle(sessionId);
      if (before === 0) store.appendNote(this.deps.db, sessionId, "client_connected", { clients: count });
      return;
    }
    store.appendNote(this.deps.db, sessionId, "client_disconnected", {});
    const row = store.getSession(this.deps.db, sessionId);
    if (!row || row.status !== "running") return;
    if (!row.keepAlive) void this.deps.end(sessionId, "completed", "last client disconnected");
    else this.deps.timers.armIdle(row);
  }
}
