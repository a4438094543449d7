// Which names this server answers to. The threat is DNS rebinding: a page on evil.example
// re-points its own name at this server (or at 127.0.0.1 on the admin's machine), and the
// browser then treats our API as same-origin with the attacker's page, with Host: evil.example.
// Nothing but the Host header tells such a request apart, so a request is ours only when its
// Host names the public URL's host, a loopback name or address, the listening address, or a
// name listed in BROWSERGRID_ALLOWED_HOSTS. A Host this code cannot parse is not ours.
import { isIP } from "node:net";

/** The three settings the allow-list is built from (a `Config` is one; config.ts validates
 *  BROWSERGRID_ALLOWED_HOSTS with `checkAllowedHostEntry`, so this file cannot import it back). */
export interface HostSettings {
  publicUrl: string;
  host: string;
  allowedHosts: readonly string[];
}

/** Loopback names a browser can only reach on the machine itself: a rebinding page cannot use them as its Host. */
const LOOPBACK_HOSTNAMES = ["localhost", "127.0.0.1", "[::1]"];

export function isLoopbackHostname(hostname: string): boolean {
  return LOOPBACK_HOSTNAMES.includes(hostname);
}

/** host[:port]: a DNS name, an IPv4 address or a bracketed IPv6 address; no user info, path or spaces. */
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]{0,62})(?:\.[a-z0-9](?:[a-z0-9-]{0,62}))*)(?::(\d{1,5}))?$/;

export interface ParsedHost {
  /** Lower-case; IPv6 in brackets, as in a URL. */
  hostname: string;
  port: number | null;
}

/** A Host header (or a URL's host) split into name and port, or null when it is anything else. */
export function parseHost(host: string): ParsedHost | null {
  if (host.length > 261) return null;
  const m = HOST_HEADER.exec(host.toLowerCase());
  if (!m) return null;
  const hostname = m[1]!;
  if (hostname.startsWith("[") && isIP(hostname.slice(1, -1)) !== 6) return null;
  const port = m[2] === undefined ? null : Number(m[2]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { hostname, port };
}

/** A host name as a URL writes it: lower-case, IPv6 in brackets. */
export function normalizeHostname(name: string): string {
  const lower = name.trim().toLowerCase();
  return isIP(lower) === 6 ? `[${lower}]` : lower;
}

const allowedByConfig = new WeakMap<Readonly<HostSettings>, ReadonlySet<string>>();

/** The host names this install answers to (see the file comment). */
export function allowedHostnames(config: Readonly<HostSettings>): ReadonlySet<string> {
  let names = allowedByConfig.get(config);
  if (names) return names;
  const set = new Set(LOOPBACK_HOSTNAMES);
  set.add(new URL(config.publicUrl).hostname.toLowerCase());
  const listening = normalizeHostname(config.host);
  if (listening !== "0.0.0.0" && listening !== "[::]") set.add(listening);
  for (const h of config.allowedHosts) set.add(normalizeHostname(h));
  allowedByConfig.set(config, (names = set));
  return names;
}

/** True when `host` (a Host header value) names this install. */
export function isAllowedHost(host: string, config: Readonly<HostSettings>): boolean {
  const parsed = parseHost(host);
  return parsed !== null && allowedHostnames(config).has(parsed.hostname);
}

/** The Host a request was sent to: the header, or (for a Request built in-process) its URL's host. */
export function requestHost(request: Request): string {
  return request.headers.get("host") ?? new URL(request.url).host;
}

/** BROWSERGRID_ALLOWED_HOSTS entries: bare host names or addresses; an error names the bad one. */
export function checkAllowedHostEntry(entry: string): string | null {
  const normalized = normalizeHostname(entry);
  const parsed = parseHost(normalized);
  return parsed && parsed.port === null ? null : `"${entry.slice(0, 64)}" is not a host name or address (no scheme, port or path: grid.internal, 10.0.0.5)`;
}
