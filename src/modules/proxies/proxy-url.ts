// What a proxy is made of, checked by hand so every refusal says exactly what to fix: a URL
// `http|https|socks5://[user[:password]@]host:port` (WHATWG URL parsing hides a default port and
// accepts paths, so it is not used), proxy names, and the domain patterns of per-domain routing.
import { isIP } from "node:net";
import { BadRequest } from "../../lib/errors";

export type ProxyScheme = "http" | "https" | "socks5";

export interface ParsedProxyUrl {
  scheme: ProxyScheme;
  host: string;
  port: number;
  username?: string;
  password?: string;
}

export const PROXY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SCHEMES = new Set(["http", "https", "socks5"]);
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** RFC 1929 carries each of username and password in at most 255 bytes. */
export const MAX_CREDENTIAL_BYTES = 255;

export function checkProxyName(name: string): void {
  if (!PROXY_NAME.test(name)) throw new BadRequest(`Proxy name "${name.slice(0, 64)}" must be 1-64 letters, digits, ".", "-" or "_", starting with a letter or digit.`, "invalid_name");
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new BadRequest(`The proxy URL's ${what} has a broken %-escape.`, "invalid_proxy_url");
  }
}

/** Throws 400 naming what is wrong: malformed, unsupported scheme, missing port, path or query present. */
export function parseProxyUrl(raw: string): ParsedProxyUrl {
  const text = raw.trim();
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(?:([^@/?#]*)@)?(\[[^\]]*\]|[^:/?#@\[\]]*)(?::([^/?#]*))?([\s\S]*)$/.exec(text);
  if (!m) throw new BadRequest(`"url" is not a valid proxy URL: write it as http://host:port, https://host:port or socks5://host:port (credentials as user:password@ before the host).`, "invalid_proxy_url");
  const [, schemeRaw, userinfo, hostRaw, portRaw, rest] = m;
  const scheme = schemeRaw!.toLowerCase();
  if (!SCHEMES.has(scheme)) {
    const hint = scheme === "socks5h" ? " (socks5:// already lets the proxy resolve names)" : "";
    throw new BadRequest(`Unsupported proxy scheme "${scheme}://": use http://, https:// or socks5://${hint}.`, "unsupported_proxy_scheme");
  }
  // Parts of a mistyped URL are not echoed: they may be pieces of a password.
  if (rest && rest !== "/") throw new BadRequest(`The proxy URL must not have a path, query or fragment: give only scheme://host:port (special characters in a password must be %-encoded).`, "invalid_proxy_url");
  let host = hostRaw!.toLowerCase();
  if (!host) throw new BadRequest(`The proxy URL has no host.`, "invalid_proxy_url");
  if (host.startsWith("[")) {
    host = host.slice(1, -1);
    if (isIP(host) !== 6) throw new BadRequest(`"[${host.slice(0, 64)}]" in the proxy URL is not an IPv6 address.`, "invalid_proxy_url");
  } else if (!isIP(host) && !HOSTNAME.test(host)) throw new BadRequest(`"${host.slice(0, 64)}" in the proxy URL is not a valid host name or IP address.`, "invalid_proxy_url");
  if (portRaw === undefined || portRaw === "") throw new BadRequest(`The proxy URL has no port: write it as ${scheme}://${hostRaw!.slice(0, 100)}:<port>.`, "proxy_port_required");
  if (!/^\d{1,5}$/.test(portRaw) || Number(portRaw) < 1 || Number(portRaw) > 65535) throw new BadRequest(`The proxy URL's port must be a number from 1 to 65535.`, "invalid_proxy_url");
  const out: ParsedProxyUrl = { scheme: scheme as ProxyScheme, host: host.replace(/\.$/, ""), port: Number(portRaw) };
  if (userinfo !== undefined) {
    const i = userinfo.indexOf(":");
    out.username = decode(i < 0 ? userinfo : userinfo.slice(0, i), "user name");
    if (i >= 0) out.password = decode(userinfo.slice(i + 1), "password");
    if (!out.username) throw new BadRequest(`The proxy URL has credentials without a user name.`, "invalid_proxy_url");
  }
  return out;
}

/** User name and password rules shared by the URL form and the separate fields. */
export function checkCredentials(scheme: ProxyScheme, username: string | null | undefined, password: string | null | undefined): void {
  if (password && !username) throw new BadRequest(`A password needs a "username".`, "invalid_credentials");
  for (const [what, v] of [["username", username], ["password", password]] as const) {
    if (v === null || v === undefined) continue;
    if (/[\x00-\x1f\x7f]/.test(v)) throw new BadRequest(`The proxy ${what} must not contain control characters.`, "invalid_credentials");
    if (Buffer.byteLength(v) > MAX_CREDENTIAL_BYTES) throw new BadRequest(`The proxy ${what} must be at most ${MAX_CREDENTIAL_BYTES} bytes.`, "invalid_credentials");
  }
  if (username === "") throw new BadRequest(`"username" must not be empty: leave it out or send null for no credentials.`, "invalid_credentials");
  if (scheme !== "socks5" && username?.includes(":")) throw new BadRequest(`An HTTP proxy's user name cannot contain ":" (Basic authentication separates user and password with it).`, "invalid_credentials");
}

/** `scheme://host:port`, never with credentials. */
export function displayUrl(p: { scheme: string; host: string; port: number }): string {
  return `${p.scheme}://${p.host.includes(":") ? `[${p.host}]` : p.host}:${p.port}`;
}

// ---- per-domain routing patterns ----------------------------------------------------------

/** Lower case, without a trailing dot and without IPv6 brackets. */
export function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "");
}

/**
 * A routing pattern: `example.com` (that host only), `*.example.com` (its subdomains, not the
 * host itself) or an IP address (that address as the browser wrote it).
 */
export function checkDomainPattern(pattern: string): string {
  const p = normalizeHost(pattern.trim());
  if (isIP(p)) return p;
  const name = p.startsWith("*.") ? p.slice(2) : p;
  const labels = name.split(".");
  if (!name || name.length > 253 || labels.length < 1 || !labels.every((l) => LABEL.test(l)))
    throw new BadRequest(`Route domain "${pattern.slice(0, 100)}" is not a domain pattern: use example.com, *.example.com or an IP address.`, "invalid_route");
  return p;
}

export function matchesDomain(pattern: string, host: string): boolean {
  const h = normalizeHost(host);
  if (pattern.startsWith("*.")) return h.endsWith(pattern.slice(1)) && h.length > pattern.length - 1;
  return h === pattern;
}
