// The URLs the gateway owns, and where each carries its credential. Everything else falls
// through to the Elysia app.
//   /cdp/<id>                              client WebSocket, browser level
//   /cdp/<id>/devtools/browser[/<any>]     the same (what clients derive from /json/version)
//   /cdp/<id>/devtools/page/<targetId>     client WebSocket to one page target
//   /cdp/<id>/json/version[/] /json[/] /json/list[/] /json/protocol[/]   discovery (GET)
//   /connect                               quick connect WebSocket (API key → ephemeral session)
//   /connect/json/version[/]               discovery for the http:// form of quick connect
//   /json/version[/]                       root discovery: an API key (quick connect) or a session token
//
// The credential is `?token=…`, or for /cdp/ the session token in the path: `/cdp/<id>~<token>…`
// (a URL without a query, which clients that append to or drop the query keep whole).
// Clients derive these URLs differently from the one they are given:
// - Playwright before 1.5x appends `/json/version/` to the URL as a string, AFTER the query:
//   `/cdp/<id>?token=T/json/version/`. Only the exact discovery suffixes are taken off the end
//   of a query on a bare /cdp/<id> or /connect path; anything else stays part of the query.
// - chromedp's default allocator keeps the query and replaces the path with `/json/version`,
//   so a quick connect URL arrives as `/json/version?token=<api key>` and a cdpUrl as
//   `/json/version?token=<session token>` (the gateway finds the session by the token's digest);
//   chromedp uses a URL holding `/devtools/browser/` as given.
// - Puppeteer before 22 asks `/json/version` at the root with neither path nor query: it carries
//   no credential, so it can only be refused (with the forms that work).
// The threat: a lenient parser that passes on what it half understood (a token with a path in
// it, two tokens that disagree) would let a URL mean one thing to the logger and another to
// the gateway. What is not exactly one of the forms above is refused.
import type { DiscoveryKind } from "./discovery";

export type Route =
  | { kind: "ws"; sessionId: string; pageId: string | null }
  | { kind: "json"; sessionId: string; what: DiscoveryKind }
  | { kind: "connect" }
  | { kind: "connect-json" }
  | { kind: "root-json" }
  | { kind: "not-found" }
  | { kind: "bad-request"; message: string };

/** A request the gateway owns: its route, its credential (wherever it came from) and the other query parameters. */
export interface GatewayRequest {
  route: Route;
  token: string | null;
  /** The query without the token. */
  params: URLSearchParams;
}

const ID = /^[A-Za-z0-9_-]{1,128}$/;
/** Session connect tokens (base64url HMACs) and API keys (`bg_<id>_<secret>`) both fit. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;
const JSON_ROUTES: Record<string, DiscoveryKind> = { "json/version": "version", json: "list", "json/list": "list", "json/protocol": "protocol" };
/** What a client may have appended to a query string: the discovery paths, with or without a trailing slash. */
const APPENDED_SUFFIXES = Object.keys(JSON_ROUTES).flatMap((r) => [`/${r}/`, `/${r}`]);

/** One example of every path shape above that takes `?token=`, for tests that must cover each (auth, routing). */
export function gatewayPathSamples(sessionId: string): string[] {
  const cdp = `/cdp/${sessionId}`;
  return [
    cdp,
    `${cdp}/devtools/browser`,
    `${cdp}/devtools/browser/abc`,
    `${cdp}/devtools/page/ABC123`,
    ...Object.keys(JSON_ROUTES).flatMap((r) => [`${cdp}/${r}`, `${cdp}/${r}/`]),
    "/connect",
    "/connect/json/version",
    "/connect/json/version/",
  ];
}

/** Every URL form a client may send for a session, path and query, as clients write them. */
export function gatewayUrlFormSamples(sessionId: string, token: string): string[] {
  const inPath = `/cdp/${sessionId}~${token}`;
  return [
    ...gatewayPathSamples(sessionId).filter((p) => p.startsWith("/cdp/")).map((p) => `${p}?token=${token}`),
    ...gatewayPathSamples(sessionId).filter((p) => p.startsWith("/cdp/")).map((p) => p.replace(`/cdp/${sessionId}`, inPath)),
    ...APPENDED_SUFFIXES.map((s) => `/cdp/${sessionId}?token=${token}${s}`),
  ];
}

/**
 * Classifies a request URL. null: not the gateway's. The route is "not-found" or "bad-request"
 * for anything under the gateway's prefixes that is not exactly one of the forms above.
 */
export function parseGatewayRequest(pathname: string, search: string): GatewayRequest | null {
  const query = search.startsWith("?") ? search.slice(1) : search;
  const suffix = APPENDED_SUFFIXES.find((s) => query.endsWith(s));
  if (suffix !== undefined && isBarePath(pathname)) {
    const rest = query.slice(0, -suffix.length);
    if (rest.includes("/")) return refuse("The query string holds a path: give the token as ?token=<token>.");
    return withCredential(parseRoute(pathname.replace(/\/$/, "") + suffix), pathname, rest);
  }
  const route = parseRoute(pathname);
  return route === null ? null : withCredential(route, pathname, query);
}

/** /cdp/<id>[~<token>] or /connect, with nothing after: the paths a client appends discovery to. */
function isBarePath(pathname: string): boolean {
  const p = pathname.replace(/\/$/, "");
  return p === "/connect" || (p.startsWith("/cdp/") && !p.slice("/cdp/".length).includes("/"));
}

function refuse(message: string): GatewayRequest {
  return { route: { kind: "bad-request", message }, token: null, params: new URLSearchParams() };
}

function withCredential(route: Route | null, pathname: string, query: string): GatewayRequest | null {
  if (route === null) return null;
  const params = new URLSearchParams(query);
  const inQuery = params.getAll("token");
  params.delete("token");
  if (inQuery.length > 1) return refuse("Give the token once.");
  const inPath = pathToken(pathname);
  if (inPath !== null && inQuery.length > 0) return refuse("Give the token once: in the path (/cdp/<id>~<token>) or as ?token=, not both.");
  const token = inPath ?? inQuery[0] ?? null;
  if (token !== null && !TOKEN.test(token)) return refuse("Malformed token: use the cdpUrl of the session as given.");
  return { route, token, params };
}

/** The first segment after `/cdp/`, split into the session id and the token `~<token>` carries (null without one). */
function sessionSegment(rest: string): { sessionId: string; token: string | null } {
  const slash = rest.indexOf("/");
  const segment = slash < 0 ? rest : rest.slice(0, slash);
  const tilde = segment.indexOf("~");
  return tilde < 0 ? { sessionId: segment, token: null } : { sessionId: segment.slice(0, tilde), token: segment.slice(tilde + 1) };
}

/** The token of `/cdp/<id>~<token>…`, or null. */
function pathToken(pathname: string): string | null {
  return pathname.startsWith("/cdp/") ? sessionSegment(pathname.slice("/cdp/".length)).token : null;
}

export function parseRoute(pathname: string): Route | null {
  if (pathname === "/json/version" || pathname === "/json/version/") return { kind: "root-json" };
  if (pathname === "/connect" || pathname === "/connect/") return { kind: "connect" };
  if (pathname.startsWith("/connect/")) {
    const rest = pathname.slice("/connect/".length).replace(/\/$/, "");
    return rest === "json/version" ? { kind: "connect-json" } : { kind: "not-found" };
  }
  if (!pathname.startsWith("/cdp/")) return null;
  const rest = pathname.slice("/cdp/".length);
  const slash = rest.indexOf("/");
  const { sessionId } = sessionSegment(rest);
  if (!ID.test(sessionId)) return { kind: "not-found" };
  const sub = slash < 0 ? "" : rest.slice(slash + 1).replace(/\/$/, "");
  if (sub === "" || sub === "devtools/browser" || sub.startsWith("devtools/browser/")) return { kind: "ws", sessionId, pageId: null };
  if (sub.startsWith("devtools/page/")) {
    const pageId = sub.slice("devtools/page/".length);
    return ID.test(pageId) ? { kind: "ws", sessionId, pageId } : { kind: "not-found" };
  }
  const what = JSON_ROUTES[sub];
  return what ? { kind: "json", sessionId, what } : { kind: "not-found" };
}
