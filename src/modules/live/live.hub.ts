// One LiveSession per watched session, created by the first viewer and forgotten when it
// closes. The browser's address comes from the session service, the same way the CDP gateway
// gets it, so it is only found for running sessions (and goes through a worker's tunnel when
// the worker is remote). boot.ts builds the one hub of the process; it is `deps.live`.
import type { Logger } from "../../lib/logger";
import type { SessionService } from "../sessions/sessions.service";
import { connectToken } from "../sessions/sessions.model";
import { LiveSession } from "./live.supervisor";

export class LiveHub {
  private sessions = new Map<string, LiveSession>();

  constructor(private deps: { sessions: SessionService; installKey: Buffer; log: Logger }) {}

  session(sessionId: string): LiveSession {
    let s = this.sessions.get(sessionId);
    if (!s) {
      const { sessions, installKey, log } = this.deps;
      const live: LiveSession = new LiveSession(
        sessionId,
        () => sessions.authorizeConnect(sessionId, connectToken(installKey, sessionId))?.cdp ?? null,
        () => {
          if (this.sessions.get(sessionId) === live) this.sessions.delete(sessionId);
        },
        log.child({ component: "live-view" }),
      );
      s = live;
      this.sessions.set(sessionId, s);
    }
    return s;
  }

  /** The live session if someone is watching (for input), else undefined. */
  watched(sessionId: string): LiveSession | undefined {
    return this.sessions.get(sessionId);
  }
}
