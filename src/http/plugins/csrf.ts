// Cross-site request forgery. Cookies ride along on requests that other sites trigger, so a
// state-changing request authenticated by cookie (or by an SSO proxy, equally ambient) must
// prove it comes from our own pages: its Origin is the public URL's origin, or the origin of
// one of our own host names (host-allow-list.ts) that is exactly the host the request was sent
// to, or the browser says Sec-Fetch-Site: same-origin. Origin == Host alone proves nothing: a
// DNS-rebinding page sends both as evil.example. SameSite=Lax on the cookie is the first layer;
// this is the second. Bearer-authenticated calls cannot be forged by a page.
import type { Config } from "../../config";
import { allowedHostnames, isLoopbackHostname, parseHost, requestHost } from "../../security/host-allow-list";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method);
}

function publicOrigin(config: Readonly<Config>): string {
  return new URL(config.publicUrl).origin;
}

/** Origin is the public URL's origin, or an http(s) origin on one of our host names naming the host the request was sent to. */
function originMatches(origin: string, request: Request, config: Readonly<Config>): boolean {
  if (origin === publicOrigin(config)) return true;
  const url = URL.parse(origin); // null for the opaque "null" origin of sandboxed frames and data: URLs
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) return false;
  const host = parseHost(requestHost(request));
  if (!host || !allowedHostnames(config).has(host.hostname)) return false;
  // On the public host name only the public origin (its scheme and port) is ours: http://grid… is not https://grid….
  if (host.hostname === new URL(config.publicUrl).hostname && !isLoopbackHostname(host.hostname)) return false;
  return url.host === (host.port === null ? host.hostname : `${host.hostname}:${host.port}`);
}

export type OriginVerdict = "same-origin" | "cross-origin" | "unknown";

/** What the browser's headers say about where the request comes from. */
export function requestOrigin(request: Request, config: Readonly<Config>): OriginVerdict {
  const origin = request.headers.get("origin");
  if (origin !== null) return originMatches(origin, request, config) ? "same-origin" : "cross-origin";
  const site = request.headers.get("sec-fetch-site");
  if (site === "same-origin") return "same-origin";
  if (site !== null) return "cross-origin"; // same-site (a sibling subdomain), cross-site, none
  return "unknown";
}

/**
 * For a cookie-authenticated WebSocket upgrade (live view, cookie-based CDP): true only when
 * the browser's Origin is ours. Browsers always send Origin on WebSocket handshakes, so a
 * missing one is refused too. Token- or bearer-authenticated upgrades do not need this.
 */
export function checkWebSocketOrigin(req: Request, config: Readonly<Config>): boolean {
  const origin = req.headers.get("origin");
  return origin !== null && originMatches(origin, req, config);
}
