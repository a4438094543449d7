// The gateway's authorisation: who may use a route (a session's connect token, an API key for
// quick connect and root discovery), the refusals they get, and the discovery answers given
// behind those checks. Nothing here runs per message: only when a client asks a route.
import type { Logger } from "../lib/logger";
import { errorResponse } from "../http/errors";
import { DomainError } from "../lib/errors";
import { answerDiscovery, answerQuickConnectVersion, publicBase, type DiscoveryKind } from "./discovery";
import type { GatewayRequest } from "./routes";
import { UpstreamHttpError } from "./upstream";
import type { CdpTarget, GatewayHooks } from "./types";

/**
 * /json/version at the root names no session: it answers an API key (quick connect) or a live
 * session's own connect token (chromedp given a cdpUrl keeps only its query). Clients that ask it
 * without a credential (Puppeteer before 22 drops browserURL's path and query) are told what
 * works instead.
 */
const ROOT_DISCOVERY_REFUSAL =
  "/json/version at the root answers ?token=<api key> (quick connect) or ?token=<a running session's token>. For a session, pass its cdpUrl as a WebSocket endpoint " +
  "(Puppeteer browserWSEndpoint; chromedp: ws://…/cdp/<id>/devtools/browser/?token=…), or ask /cdp/<id>/json/version?token=….";

/** The quick connect URL's query as the client gave it: the key first, then the session options. */
function quickConnectQuery(token: string, params: URLSearchParams): string {
  const query = new URLSearchParams([["token", token], ...params]);
  return `?${query}`;
}

export interface GatewayAuth {
  /**
   * The answer to a discovery or quick-connect request that needs no browser connection (root
   * and /connect discovery, the root asked with a session's token), or a refusal of its
   * credentials; undefined when the request goes on to a connection.
   */
  answerWithoutConnection(request: GatewayRequest, req: Request, isWebSocket: boolean): Promise<Response | undefined>;
  /** Where a session's client connects, or the refusal (401 without or with a wrong token, 410 for an ended session). */
  authorized(sessionId: string, token: string | null): Promise<CdpTarget | Response>;
  /** A session's discovery answer (`/cdp/<id>/json/…`), behind the same connect rule as its WebSocket. */
  discovery(what: DiscoveryKind, sessionId: string, token: string | null, req: Request): Promise<Response>;
  /** Quick connect: the API key's new session, or the refusal. */
  quickConnect(token: string, params: URLSearchParams, req: Request): Promise<CdpTarget | Response>;
}

export function createGatewayAuth(opts: { hooks: GatewayHooks; publicUrl: string | undefined; upstreamTimeoutMs: number; log: Logger }): GatewayAuth {
  const { hooks, log } = opts;

  /** A thrown error as the client's answer: a DomainError as itself, anything else as 502/500 without details. */
  function refusal(err: unknown): Response {
    if (err instanceof DomainError) return errorResponse(err.status, err.code, err.message, err.headers);
    if (err instanceof UpstreamHttpError) return errorResponse(err.status, "browser_unavailable", "The session's browser is not reachable.");
    log.error("cdp gateway request failed", { err });
    return errorResponse(500, "internal", "Internal error; the server log has the details.");
  }

  async function authorized(sessionId: string, token: string | null): Promise<CdpTarget | Response> {
    if (!token) return errorResponse(401, "unauthorized", "Missing session token: use the cdpUrl of the session (…?token=…, or /cdp/<id>~<token>).");
    try {
      const target = await hooks.authorize(sessionId, token);
      return target ?? errorResponse(401, "unauthorized", "Invalid session token, or the session is not running.");
    } catch (err) {
      return refusal(err);
    }
  }

  async function discovery(what: DiscoveryKind, sessionId: string, token: string | null, req: Request): Promise<Response> {
    const target = await authorized(sessionId, token);
    if (target instanceof Response) return target;
    try {
      return await answerDiscovery(what, target, publicBase(opts.publicUrl, req), sessionId, token!, opts.upstreamTimeoutMs);
    } catch (err) {
      return refusal(err);
    }
  }

  async function answerWithoutConnection({ route, token, params }: GatewayRequest, req: Request, isWebSocket: boolean): Promise<Response | undefined> {
    // chromedp given a cdpUrl asks the root with the session's token: that token names its session.
    const tokenSession = route.kind === "root-json" && token && hooks.sessionForToken ? hooks.sessionForToken(token) : null;
    if (tokenSession) return await discovery("version", tokenSession, token!, req);

    if (route.kind === "root-json" || route.kind === "connect-json" || (route.kind === "connect" && !isWebSocket)) {
      // Credentials first: a caller without a valid key learns nothing else about the route.
      if (!token) return errorResponse(401, "unauthorized", route.kind === "root-json" ? ROOT_DISCOVERY_REFUSAL : "Missing API key: add ?token=<api key>.");
      if (hooks.verifyApiKey) {
        try {
          if (!(await hooks.verifyApiKey(token))) return errorResponse(401, "unauthorized", route.kind === "root-json" ? ROOT_DISCOVERY_REFUSAL : "Invalid, revoked or expired API key.");
        } catch (err) {
          return refusal(err);
        }
      }
      if (route.kind !== "connect") return answerQuickConnectVersion(publicBase(opts.publicUrl, req), quickConnectQuery(token, params));
    }
    return undefined;
  }

  async function quickConnect(token: string, params: URLSearchParams, req: Request): Promise<CdpTarget | Response> {
    try {
      return await hooks.quickConnect(token, params, req);
    } catch (err) {
      return refusal(err);
    }
  }

  return { answerWithoutConnection, authorized, discovery, quickConnect };
}
