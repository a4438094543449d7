// The CDP gateway wired to the session layer: who may connect (/cdp token, /connect API
// key), quick-connect sessions, client counts for idle and ephemeral endings, and the
// BrowserGrid.* domain.
import { createGateway } from "../../cdp/gateway";
import type { AppDeps } from "../../http/context";
import { authenticateApiKey, requireRole } from "../../http/plugins/auth";
import { BadRequest, NotFound, Unauthorized } from "../../lib/errors";
import { connectToken, ownerOf } from "./sessions.model";
import type { CreateSessionInput } from "./sessions.contracts";
import { sessionDomain } from "./sessions.domain";
import { markDownloadsEnabled, saveProfileNow } from "../profiles/session-storage";
import { applyRuleSetsCommand } from "../rule-sets/session-rules";
import { captureFinishedDownload } from "../artifacts/artifacts.downloads";

/** An ephemeral session whose WebSocket never opened ends this soon. */
const EPHEMERAL_IDLE_SEC = 60;

function intParam(params: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const v = params.get(name);
  if (v === null) return undefined;
  if (!/^\d{1,9}$/.test(v) || Number(v) < min || Number(v) > max) throw new BadRequest(`Query parameter "${name}" must be a whole number from ${min} to ${max}.`);
  return Number(v);
}

/** Quick-connect query parameters → the same input as POST /api/v1/sessions. */
export function quickConnectInput(params: URLSearchParams): CreateSessionInput {
  const known = new Set(["pool", "browser", "keepAlive", "timeout", "idleTimeout", "width", "height", "locale", "timezone"]);
  for (const k of params.keys()) if (!known.has(k)) throw new BadRequest(`Unknown query parameter "${k}"; known: ${[...known].join(", ")}.`);
  const browser = params.get("browser");
  if (browser !== null && browser !== "headless-shell" && browser !== "chromium") throw new BadRequest(`"browser" must be headless-shell or chromium.`);
  const keepAlive = params.get("keepAlive");
  if (keepAlive !== null && keepAlive !== "true" && keepAlive !== "false") throw new BadRequest(`"keepAlive" must be true or false.`);
  const width = intParam(params, "width", 200, 7680);
  const height = intParam(params, "height", 200, 4320);
  if ((width === undefined) !== (height === undefined)) throw new BadRequest(`Give both "width" and "height", or neither.`);
  const pool = params.get("pool");
  if (pool !== null && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(pool)) throw new BadRequest(`"pool" is not a pool name.`);
  const input: CreateSessionInput = {
    pool: pool ?? undefined,
    browser: (browser ?? undefined) as CreateSessionInput["browser"],
    keepAlive: keepAlive === "true",
    timeoutSec: intParam(params, "timeout", 1, 7 * 24 * 3600),
    idleTimeoutSec: intParam(params, "idleTimeout", 1, 24 * 3600) ?? (keepAlive === "true" ? undefined : EPHEMERAL_IDLE_SEC),
    viewport: width && height ? { width, height } : undefined,
    locale: params.get("locale") ?? undefined,
    timezone: params.get("timezone") ?? undefined,
  };
  return input;
}

export function createSessionGateway(deps: AppDeps) {
  const { sessions, db, installKey } = deps;
  return createGateway({
    publicUrl: deps.config.publicUrl,
    logger: deps.log,
    hooks: {
      // An unknown id, a wrong token, a session not yet running and an owner who lost the right
      // to hold sessions all get the gateway's one 401: session ids cannot be probed. The
      // session's own token on an ended session gets 410 with how it ended
      // (authorizeConnectForClient).
      async authorize(sessionId, token) {
        return sessions.authorizeConnectForClient(sessionId, token);
      },
      async quickConnect(apiKey, params, req) {
        const actor = await authenticateApiKey(deps, apiKey);
        if (!actor) throw new Unauthorized("Invalid, revoked or expired API key.");
        requireRole(actor, "member");
        const row = await sessions.create(ownerOf(actor), quickConnectInput(params), { ephemeral: true, signal: req.signal });
        const target = sessions.authorizeConnect(row.id, connectToken(installKey, row.id));
        if (!target) throw new NotFound(`Session ${row.id}`);
        return target;
      },
      sessionForToken: (token) => sessions.sessionIdForConnectToken(token),
      async verifyApiKey(apiKey) {
        return (await authenticateApiKey(deps, apiKey)) !== null;
      },
      onClientsChanged: (sessionId, count) => sessions.onClientsChanged(sessionId, count),
      onActivity: () => {},
      onDownloadsEnabled: (id) => markDownloadsEnabled(deps, id),
      onDownloadFinished: (id, download) => captureFinishedDownload(deps, id, download),
      handleDomainCommand: sessionDomain({ db, sessions, publicUrl: deps.config.publicUrl, installKey, saveProfile: (id) => saveProfileNow(deps, sessions, id), applyRuleSets: (id, p) => applyRuleSetsCommand(deps, id, p) }),
    },
  });
}
