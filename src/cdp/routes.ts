// The URL paths the gateway owns. Everything else falls through to the Elysia app.
//   /cdp/<id>                              client WebSocket, browser level
//   /cdp/<id>/devtools/browser[/<any>]     the same (what clients derive from /json/version)
//   /cdp/<id>/devtools/page/<targetId>     client WebSocket to one page target
//   /cdp/<id>/json/version[/] /json[/] /json/list[/] /json/protocol[/]   discovery (GET)
//   /connect                               quick connect WebSocket (API key → ephemeral session)
//   /connect/json/version[/]               discovery for the http:// form of quick connect
// Playwright's connectOverCDP("http://…/cdp/<id>?token=…") requests `<path>/json/version/` and
// keeps the query, so both trailing-slash forms are accepted.
import type { DiscoveryKind } from "./discovery";

export type Route =
  | { kind: "ws"; sessionId: string; pageId: string | null }
  | { kind: "json"; sessionId: string; what: DiscoveryKind }
  | { kind: "connect" }
  | { kind: "connect-json" }
  | { kind: "not-found" };

const ID = /^[A-Za-z0-9_-]{1,128}$/;
const JSON_ROUTES: Record<string, DiscoveryKind> = { "json/version": "version", json: "list", "json/list": "list", "json/protocol": "protocol" };

/** One example of every path shape above, for tests that must cover each (auth, routing). */
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

export function parseRoute(pathname: string): Route | null {
  if (pathname === "/connect" || pathname === "/connect/") return { kind: "connect" };
  if (pathname.startsWith("/connect/")) {
    const rest = pathname.slice("/connect/".length).replace(/\/$/, "");
    return rest === "json/version" ? { kind: "connect-json" } : { kind: "not-found" };
  }
  if (!pathname.startsWith("/cdp/")) return null;
  const rest = pathname.slice("/cdp/".length);
  const slash = rest.indexOf("/");
  const sessionId = slash < 0 ? rest : rest.slice(0, slash);
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
