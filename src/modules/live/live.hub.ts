// One LiveSession per watched session, created by the first viewer and forgotten when it
// closes. It talks to the browser on the session's shared BrowserGrid CDP link (`links`, which
// finds the address through a worker's tunnel when the worker is remote), and only while the
// session service's connect rule says the session runs. boot.ts builds the one hub of the
// process; it is `deps.live`.
import type { Logger } from "../../lib/logger";
import type { SessionLinks } from "../../cdp/session-links";
import type { SessionService } from "../sessions/sessions.service";
import { connectToken } from "../sessions/sessions.model";
import { LiveSession } from "./live.supervisor";

export class LiveHub {
  private sessions = new Map<string, LiveSession>();

  constructor(private deps: { sessions: SessionService; installKey: Buffer; links: SessionLinks; log: Logger }) {}

  session(sessionId: string): LiveSession {
    let s = this.sessions.get(sessionId);
    if (!s) {
      const { sessions, installKey, links, log } = this.deps;
      const live: LiveSession = new LiveSession(
        sessionId,
        {
          isRunning: () => sessions.authorizeConnect(sessionId, connectToken(installKey, sessionId)) !== null,
          link: () => links.link(sessionId),
        },
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
