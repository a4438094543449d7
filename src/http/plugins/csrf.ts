// Cross-site request forgery. Cookies ride along on requests that other sites trigger, so a
// state-changing request authenticated by cookie (or by an SSO proxy, equally ambient) must
// prove it comes from our own pages: its Origin is the public URL's or the request's own
// host, or the browser says Sec-Fetch-Site: same-origin. SameSite=Lax on the cookie is the
// first layer; this is the second. Bearer-authenticated calls cannot be forged by a page.
import type { Config } from "../../config";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method);
}

function publicOrigin(config: Readonly<Config>): string {
  return new URL(config.publicUrl).origin;
}

/** Origin equals the public URL's origin, or names the host the request was sent to. */
function originMatches(origin: string, request: Request, config: Readonly<Config>): boolean {
  if (origin === publicOrigin(config)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // includes the opaque "null" origin of sandboxed frames and data: URLs
  }
  // Bun builds request.url from the Host header; a Request made in-process has only the URL.
  const host = request.headers.get("host") ?? new URL(request.url).host;
  return !!host && url.host === host.toLowerCase() && (url.protocol === "http:" || url.protocol === "https:");
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
