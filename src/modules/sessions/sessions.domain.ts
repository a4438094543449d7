// The BrowserGrid.* CDP domain: commands a client sends on its CDP connection that
// BrowserGrid answers itself (never forwarded to Chromium). A feature this version lacks
// answers `{ error }` inside the result, so a client's connection never breaks over it.
import { CdpError } from "../../cdp/types";
import type { SessionService } from "./sessions.service";
import * as store from "./sessions.store";
import type { Db } from "../../db/client";

const NOT_YET = (what: string) => ({ error: `${what} is not available in this version of BrowserGrid.` });

export function sessionDomain(deps: { db: Db; sessions: SessionService }) {
  return async function handleDomainCommand(sessionId: string, method: string, params: unknown): Promise<unknown> {
    const p = (params && typeof params === "object" ? params : {}) as Record<string, unknown>;
    switch (method) {
      case "BrowserGrid.getSessionInfo": {
        const row = store.getSession(deps.db, sessionId);
        if (!row) throw new CdpError("Session not found.", -32000);
        return deps.sessions.toPublic(row);
      }
      case "BrowserGrid.keepAlive": {
        if (p.enabled !== undefined && typeof p.enabled !== "boolean") throw new CdpError("BrowserGrid.keepAlive: `enabled` must be a boolean.", -32602);
        const row = deps.sessions.setKeepAlive(sessionId, p.enabled !== false);
        return { keepAlive: row?.keepAlive ?? false, idleTimeoutSec: row?.idleTimeoutSec };
      }
      case "BrowserGrid.liveURL":
        return NOT_YET("Live view");
      case "BrowserGrid.saveProfile":
        return NOT_YET("Profiles");
      case "BrowserGrid.detectCaptcha":
        return NOT_YET("Captcha detection");
      default:
        throw new CdpError(`'${method}' wasn't found`, -32601);
    }
  };
}
