// The message-level CDP gateway: client WebSockets (Bun.serve) ⇄ Chromium (raw TCP, own framing).
//
// Design: ONE UPSTREAM CONNECTION PER CLIENT, not one shared upstream with id remapping.
// Chromium already keeps a separate id space, separate domain enablement and separate event
// subscriptions (Target.setDiscoverTargets, setAutoAttach, flat sessions) per DevTools
// connection. Giving each client its own connection makes "every client has its own ids and
// only its own events" true by construction, where a shared upstream would have to remap ids
// in place AND re-implement Chromium's per-connection event routing (a second client enabling
// auto-attach on a shared connection gets no attachedToTarget for existing targets; a page
// event on a flat session must be routed to whichever client attached it). It also keeps
// backpressure per client: pausing one client's upstream socket never stalls another client,
// which a shared upstream cannot offer. The cost is one extra TCP connection and DevTools
// client in Chromium per CDP client (a handshake of ~1 ms at connect time); the per-message
// cost is the same as the shared design (FIELD-NOTES measured +24 µs either way), and it
// needs no id rewriting or JSON scanning on browser→client traffic at all.
//
// Ordering at connect: authorize → upstream TCP connect + WebSocket handshake → only then the
// client's upgrade. A dead browser gives the client a 502 instead of an open-then-close, and
// no browser frame can arrive before the client socket exists (early frames are held anyway).
import type { Server } from "bun";
import type { UpgradeHandler } from "../http/server";
import { errorResponse } from "../http/errors";
import { DomainError } from "../lib/errors";
import { log as rootLog } from "../lib/logger";
import { ClientConn, UpstreamConnectError, type ConnHost, type Counters, type SessionEntry } from "./connection";
import { answerDiscovery, answerQuickConnectVersion, publicBase, type DiscoveryKind } from "./discovery";
import { parseGatewayRequest, type GatewayRequest } from "./routes";
import { browserPath, forgetBrowserPath, UpstreamHttpError } from "./upstream";
import type { CdpTarget, GatewayOptions, GatewayStats } from "./types";

const MiB = 1024 * 1024;

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

export interface Gateway extends UpgradeHandler {
  websocket: Bun.WebSocketHandler<ClientConn>;
  /** Closes every client of a session (and their browser connections) with this code/reason. */
  closeSession(sessionId: string, code: number, reason: string): void;
  /** Open client WebSockets of a session. */
  clientCount(sessionId: string): number;
  stats(): GatewayStats;
  /** Stops the activity timer and closes every client (1001). */
  shutdown(): void;
}

export function createGateway(opts: GatewayOptions): Gateway {
  const hooks = opts.hooks;
  const log = (opts.logger ?? rootLog).child({ component: "cdp-gateway" });
  const maxMessageBytes = opts.maxMessageBytes ?? 256 * MiB;
  const clientHighWater = opts.clientHighWaterBytes ?? 32 * MiB;
  const upstreamTimeoutMs = opts.upstreamTimeoutMs ?? 10_000;
  const sessions = new Map<string, SessionEntry>();
  const counters: Counters = { messagesToClients: 0, messagesToBrowsers: 0, domainCommands: 0, refusedCommands: 0 };
  let connectionsOpened = 0;
  let upstreamFailures = 0;
  let activityTimer: ReturnType<typeof setInterval> | null = null;

  const safely = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      log.error(`session hook ${what} threw`, { err });
    }
  };

  const entryFor = (sessionId: string): SessionEntry => {
    let e = sessions.get(sessionId);
    if (!e) {
      e = { sessionId, clients: new Set(), connecting: new Set(), active: false };
      sessions.set(sessionId, e);
      startActivityTimer();
    }
    return e;
  };

  function startActivityTimer(): void {
    if (activityTimer) return;
    activityTimer = setInterval(() => {
      for (const e of sessions.values()) {
        if (!e.active) continue;
        e.active = false;
        safely("onActivity", () => hooks.onActivity(e.sessionId));
      }
      if (sessions.size === 0 && activityTimer) {
        clearInterval(activityTimer);
        activityTimer = null;
      }
    }, opts.activityIntervalMs ?? 1000);
    activityTimer.unref?.();
  }

  const host: ConnHost = {
    hooks,
    log,
    counters,
    limits: {
      maxMessageBytes,
      clientHighWater,
      clientLowWater: opts.clientLowWaterBytes ?? Math.min(8 * MiB, clientHighWater / 4),
      browserHighWater: opts.browserHighWaterBytes ?? 4 * MiB,
      browserQueueCap: opts.browserQueueCapBytes ?? maxMessageBytes + 16 * MiB,
    },
    attached(conn) {
      const e = conn.entry;
      e.connecting.delete(conn);
      e.clients.add(conn);
      connectionsOpened++;
      log.debug("cdp client connected", { sessionId: e.sessionId, clients: e.clients.size });
      safely("onClientsChanged", () => hooks.onClientsChanged(e.sessionId, e.clients.size));
    },
    detached(conn) {
      const e = conn.entry;
      e.connecting.delete(conn);
      if (e.clients.delete(conn)) {
        log.debug("cdp client disconnected", { sessionId: e.sessionId, clients: e.clients.size });
        safely("onClientsChanged", () => hooks.onClientsChanged(e.sessionId, e.clients.size));
      }
      if (e.clients.size === 0 && e.connecting.size === 0 && sessions.get(e.sessionId) === e) {
        sessions.delete(e.sessionId);
        if (e.active) safely("onActivity", () => hooks.onActivity(e.sessionId));
      }
    },
  };

  /** Opens the browser side, then upgrades the client. undefined = upgraded. */
  async function openClient(req: Request, server: Server<unknown>, sessionId: string, target: CdpTarget, pagePath: string | null): Promise<Response | undefined> {
    for (let attempt = 0; ; attempt++) {
      const conn = new ClientConn(host, entryFor(sessionId), target);
      conn.entry.connecting.add(conn);
      let cachedPath = false;
      try {
        let path = pagePath;
        if (path === null) {
          const p = await browserPath(target.cdp, upstreamTimeoutMs);
          path = p.path;
          cachedPath = p.cached;
        }
        await conn.connectUpstream(path, upstreamTimeoutMs);
      } catch (err) {
        conn.abort();
        if (conn.cancelled) return errorResponse(410, "session_ended", conn.cancelled.reason);
        // A browser restarted on the same address has a new browser path: ask again once.
        if (err instanceof UpstreamConnectError && err.refused && cachedPath && attempt === 0) {
          forgetBrowserPath(target.cdp);
          continue;
        }
        upstreamFailures++;
        log.warn("cdp upstream connection failed", { sessionId, err: (err as Error).message });
        return errorResponse(502, "browser_unavailable", "The session's browser is not reachable.");
      }
      if (req.signal.aborted || !server.upgrade(req, { data: conn })) {
        conn.abort();
        return errorResponse(400, "bad_upgrade", "Not a valid WebSocket upgrade request.");
      }
      return undefined;
    }
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

  /** A session's discovery answer (`/cdp/<id>/json/…`), behind the same connect rule as its WebSocket. */
  async function discovery(what: DiscoveryKind, sessionId: string, token: string | null, req: Request): Promise<Response> {
    const target = await authorized(sessionId, token);
    if (target instanceof Response) return target;
    try {
      return await answerDiscovery(what, target, publicBase(opts.publicUrl, req), sessionId, token!, upstreamTimeoutMs);
    } catch (err) {
      return refusal(err);
    }
  }

  function refusal(err: unknown): Response {
    if (err instanceof DomainError) return errorResponse(err.status, err.code, err.message, err.headers);
    if (err instanceof UpstreamHttpError) return errorResponse(err.status, "browser_unavailable", "The session's browser is not reachable.");
    log.error("cdp gateway request failed", { err });
    return errorResponse(500, "internal", "Internal error; the server log has the details.");
  }

  async function handleRoute(request: GatewayRequest, req: Request, server: Server<unknown>): Promise<Response | undefined> {
    const { route, token, params } = request;
    if (route.kind === "not-found") return errorResponse(404, "not_found", "No such CDP route.");
    if (route.kind === "bad-request") return errorResponse(400, "bad_cdp_url", route.message);
    if (req.method !== "GET") return errorResponse(405, "method_not_allowed", "Use GET.", { allow: "GET" });
    const isWebSocket = (req.headers.get("upgrade") ?? "").toLowerCase() === "websocket";

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

    if (route.kind === "connect") {
      if (!token) return errorResponse(401, "unauthorized", "Missing API key: add ?token=<api key>.");
      if (!isWebSocket) return errorResponse(426, "upgrade_required", "Connect with a WebSocket, or use /connect/json/version.", { upgrade: "websocket" });
      let target: CdpTarget;
      try {
        target = await hooks.quickConnect(token, params, req);
      } catch (err) {
        return refusal(err);
      }
      const res = await openClient(req, server, target.sessionId, target, null);
      // The session exists but no client will come: let the session layer end it.
      if (res !== undefined) safely("onClientsChanged", () => hooks.onClientsChanged(target.sessionId, sessions.get(target.sessionId)?.clients.size ?? 0));
      return res;
    }

    if (route.kind === "json") return await discovery(route.what, route.sessionId, token, req);
    const target = await authorized(route.sessionId, token);
    if (target instanceof Response) return target;
    if (!isWebSocket) return errorResponse(426, "upgrade_required", "Connect with a WebSocket, or use /json/version.", { upgrade: "websocket" });
    return openClient(req, server, route.sessionId, target, route.pageId === null ? null : `/devtools/page/${route.pageId}`);
  }

  const websocket: Bun.WebSocketHandler<ClientConn> = {
    perMessageDeflate: false,
    maxPayloadLength: maxMessageBytes,
    // Flow control pauses the browser at clientHighWater; this hard limit is never reached by
    // a well-behaved flow (one message larger than the high-water mark is still accepted).
    backpressureLimit: Math.min(maxMessageBytes + clientHighWater + 16 * MiB, 4294967295),
    closeOnBackpressureLimit: false,
    idleTimeout: opts.idleTimeoutSec ?? 120,
    sendPings: true,
    open(ws) {
      ws.data.attach(ws);
    },
    message(ws, message) {
      ws.data.onClientMessage(message);
    },
    drain(ws) {
      ws.data.onClientDrain();
    },
    close(ws) {
      ws.data.onClientClosed();
    },
  };

  return {
    websocket,
    handle(req: Request, server: Server<unknown>) {
      const raw = req.url;
      // Cheap pre-check before parsing: only /cdp/…, /connect… and /json/version are ours.
      if (!raw.includes("/cdp/") && !raw.includes("/connect") && !raw.includes("/json/version")) return undefined;
      const url = new URL(raw);
      const request = parseGatewayRequest(url.pathname, url.search);
      if (request === null) return undefined;
      return handleRoute(request, req, server);
    },
    closeSession(sessionId, code, reason) {
      const e = sessions.get(sessionId);
      if (!e) return;
      for (const c of [...e.connecting]) c.abort({ code, reason });
      for (const c of [...e.clients]) c.close(code, reason);
    },
    clientCount(sessionId) {
      return sessions.get(sessionId)?.clients.size ?? 0;
    },
    stats() {
      let clients = 0;
      let connecting = 0;
      const perClient = [];
      for (const e of sessions.values()) {
        clients += e.clients.size;
        connecting += e.connecting.size;
        for (const c of e.clients) perClient.push(c.stats());
      }
      return { sessions: sessions.size, clients, connecting, ...counters, connectionsOpened, upstreamFailures, perClient };
    },
    shutdown() {
      for (const e of [...sessions.values()]) {
        for (const c of [...e.connecting]) c.abort({ code: 1001, reason: "server shutting down" });
        for (const c of [...e.clients]) c.close(1001, "server shutting down");
      }
      if (activityTimer) clearInterval(activityTimer);
      activityTimer = null;
    },
  };
}

