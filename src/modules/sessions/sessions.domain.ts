// The BrowserGrid.* CDP domain: commands a client sends on its CDP connection that
// BrowserGrid answers itself (never forwarded to Chromium). A feature this version lacks
// answers `{ error }` inside the result, so a client's connection never breaks over it.
//
// The connect token is per session, so a command acts with the standing of the session's owner
// (sessions.access.ts): while the owner may no longer hold sessions (disabled, deleted, made a
// viewer; the session is being ended), every command is refused — no live link of either mode
// is minted for a connection that outlived its owner's rights.
import { CdpError } from "../../cdp/types";
import type { SessionService } from "./sessions.service";
import * as store from "./sessions.store";
import type { Db } from "../../db/client";
import { ownerMayHoldSessions } from "./sessions.access";
import { DEFAULT_LIVE_TTL_SEC, MAX_LIVE_TTL_SEC, signedLiveUrl, type LiveMode } from "../live/live.tokens";

const NOT_YET = (what: string) => ({ error: `${what} is not available in this version of BrowserGrid.` });

export function sessionDomain(deps: {
  db: Db;
  sessions: SessionService;
  publicUrl: string;
  installKey: Buffer;
  /** Saves the session's profile as a new version now (profiles module); absent: not available. */
  saveProfile?: (sessionId: string) => Promise<unknown>;
  /** Replaces the session's rule sets (rule-sets module); absent: not available. */
  applyRuleSets?: (sessionId: string, params: Record<string, unknown>) => Promise<unknown>;
}) {
  return async function handleDomainCommand(sessionId: string, method: string, params: unknown): Promise<unknown> {
    const p = (params && typeof params === "object" ? params : {}) as Record<string, unknown>;
    const session = store.getSession(deps.db, sessionId);
    if (!session) throw new CdpError("Session not found.", -32000);
    if (!ownerMayHoldSessions(deps.db, session))
      throw new CdpError("The session's owner may no longer control browser sessions (account disabled, deleted or made a viewer); the session is ending.", -32001);
    switch (method) {
      case "BrowserGrid.getSessionInfo":
        // The caller holds the session's token, so its own cdpUrl is no news to it.
        return deps.sessions.toPublic(session, true);
      case "BrowserGrid.keepAlive": {
        if (p.enabled !== undefined && typeof p.enabled !== "boolean") throw new CdpError("BrowserGrid.keepAlive: `enabled` must be a boolean.", -32602);
        const row = deps.sessions.setKeepAlive(sessionId, p.enabled !== false);
        return { keepAlive: row?.keepAlive ?? false, idleTimeoutSec: row?.idleTimeoutSec };
      }
      case "BrowserGrid.liveURL": {
        // Whoever holds the cdpUrl already controls the browser and the owner may still hold
        // sessions (checked above), so a control link is theirs to ask for.
        if (p.mode !== undefined && p.mode !== "view" && p.mode !== "control") throw new CdpError('BrowserGrid.liveURL: `mode` is "view" or "control".', -32602);
        if (p.expiresInSec !== undefined && (typeof p.expiresInSec !== "number" || p.expiresInSec < 60 || p.expiresInSec > MAX_LIVE_TTL_SEC))
          throw new CdpError(`BrowserGrid.liveURL: \`expiresInSec\` is a number from 60 to ${MAX_LIVE_TTL_SEC}.`, -32602);
        const row = store.getSession(deps.db, sessionId);
        if (!row || row.status !== "running") return { error: "The session is not running." };
        const mode = (p.mode ?? "view") as LiveMode;
        const { url, exp } = signedLiveUrl(deps.publicUrl, deps.installKey, sessionId, mode, (p.expiresInSec as number | undefined) ?? DEFAULT_LIVE_TTL_SEC);
        return { liveUrl: url, mode, expiresAt: new Date(exp * 1000).toISOString() };
      }
      case "BrowserGrid.saveProfile":
        return deps.saveProfile ? deps.saveProfile(sessionId) : NOT_YET("Profiles");
      case "BrowserGrid.applyRuleSets":
        return deps.applyRuleSets ? deps.applyRuleSets(sessionId, p) : NOT_YET("Rule sets");
      case "BrowserGrid.detectCaptcha":
        return NOT_YET("Captcha detection");
      default:
        throw new CdpError(`'${method}' wasn't found`, -32601);
    }
  };
}
