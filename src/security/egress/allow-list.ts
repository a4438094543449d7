// Egress allow-lists: the few private destinations a pool's browsers may reach despite the
// egress guard (an intranet service, a database's HTTP API, a page server on the Docker host).
// One syntax for the pool's `egressAllow` and the install-wide BROWSERGRID_EGRESS_ALLOW.
//
// IPv6 is refused rather than half-supported: browser bridges get no IPv6 and the guard rejects
// every IPv6 packet from them, so a v6 entry could only ever be a silent no-op.
import { isIP } from "node:net";
import { lookup } from "node:dns/promises";
import { BadRequest } from "../../lib/errors";
import { inCidrV4, ipv4ToInt } from "./address-ranges";

export type AllowEntry =
  | { kind: "cidr"; cidr: string }
  | { kind: "ip"; ip: string; port?: number }
  | { kind: "host"; name: string; port?: number }
  | { kind: "docker-host"; port?: number };

export const MAX_ALLOW_ENTRIES = 256;
export const MAX_ALLOW_ENTRY_LENGTH = 255;
export const ALLOW_FORMS = "CIDR (10.1.0.0/16), IP (10.1.2.3), IP:port (10.1.2.3:8080), hostname (db.internal), hostname:port (db.internal:5432), docker-host or docker-host:port";

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)*\.?$/i;

function refuse(where: string, entry: string, why: string): never {
  throw new BadRequest(`${where}: entry "${entry.slice(0, 80)}" ${why}. Accepted forms: ${ALLOW_FORMS}.`, "invalid_egress_allow");
}

function port(where: string, entry: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= 65535)) refuse(where, entry, "has a port outside 1-65535");
  return n;
}

/** One entry; throws BadRequest (400) naming the entry and the accepted forms. */
export function parseAllowEntry(raw: string, where = "egressAllow"): AllowEntry {
  const entry = raw.trim();
  if (!entry) refuse(where, raw, "is empty");
  if (entry.length > MAX_ALLOW_ENTRY_LENGTH) refuse(where, entry, `is longer than ${MAX_ALLOW_ENTRY_LENGTH} characters`);
  if (entry.startsWith("[") || (entry.match(/:/g)?.length ?? 0) > 1 || isIP(entry.split("/")[0]!) === 6)
    refuse(where, entry, "is IPv6, which browsers never get (the guard rejects all IPv6 from them)");
  const slash = entry.indexOf("/");
  if (slash >= 0) {
    const [base, bits] = [entry.slice(0, slash), entry.slice(slash + 1)];
    if (!IPV4.test(base) || !/^\d{1,2}$/.test(bits)) refuse(where, entry, "is not an IPv4 CIDR");
    const n = Number(bits);
    if (n < 1 || n > 32) refuse(where, entry, "needs a prefix length from 1 to 32 (to allow everything, switch the guard off instead)");
    const mask = (0xffffffff << (32 - n)) >>> 0;
    const net = (ipv4ToInt(base)! & mask) >>> 0;
    return { kind: "cidr", cidr: `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${n}` };
  }
  const colon = entry.lastIndexOf(":");
  const host = colon >= 0 ? entry.slice(0, colon) : entry;
  const p = port(where, entry, colon >= 0 ? entry.slice(colon + 1) : undefined);
  if (host.toLowerCase() === "docker-host") return { kind: "docker-host", ...(p ? { port: p } : {}) };
  if (IPV4.test(host)) return { kind: "ip", ip: host, ...(p ? { port: p } : {}) };
  // Dotted numbers that are not a plain IPv4 address (010.1.2.3, 10.1.2) are how URL tricks spell
  // private addresses; refuse them instead of guessing what was meant.
  if (/^[\d.]+$/.test(host) || /^0x/i.test(host)) refuse(where, entry, "is not a dotted-decimal IPv4 address");
  if (!HOSTNAME.test(host)) refuse(where, entry, "is not a host name, IPv4 address or CIDR");
  return { kind: "host", name: host.toLowerCase().replace(/\.$/, ""), ...(p ? { port: p } : {}) };
}

/** Trims, drops empty lines and duplicates, checks each entry; returns the entries to store. */
export function normalizeAllowList(entries: readonly string[], where = "egressAllow"): string[] {
  const out: string[] = [];
  for (const raw of entries) {
    const e = raw.trim();
    if (!e) continue;
    parseAllowEntry(e, where);
    if (!out.includes(e)) out.push(e);
  }
  if (out.length > MAX_ALLOW_ENTRIES) throw new BadRequest(`${where}: at most ${MAX_ALLOW_ENTRIES} entries, got ${out.length}.`, "invalid_egress_allow");
  return out;
}

/** What an allow-list opens once names are resolved; sorted, so two resolutions compare equal. */
export interface ResolvedAllow {
  /** Destinations in other networks (the forward hook). port absent: every port. */
  v4: { cidr: string; port?: number }[];
  /** The Docker host itself (the input hook): everything, or these ports. */
  dockerHost: { all: boolean; ports: number[] };
  /** Names that did not resolve (nothing is opened for them). */
  unresolved: string[];
}

export type Resolve4 = (name: string) => Promise<string[]>;

export const systemResolve4: Resolve4 = async (name) => (await lookup(name, { all: true, family: 4 })).map((a) => a.address);

export async function resolveAllowList(entries: readonly AllowEntry[], resolve4: Resolve4 = systemResolve4): Promise<ResolvedAllow> {
  const v4 = new Map<string, { cidr: string; port?: number }>();
  const add = (cidr: string, p?: number) => v4.set(`${cidr}|${p ?? ""}`, p ? { cidr, port: p } : { cidr });
  const dockerHost = { all: false, ports: new Set<number>() };
  const unresolved: string[] = [];
  for (const e of entries) {
    if (e.kind === "cidr") add(e.cidr);
    else if (e.kind === "ip") add(`${e.ip}/32`, e.port);
    else if (e.kind === "docker-host") e.port ? dockerHost.ports.add(e.port) : (dockerHost.all = true);
    else {
      const ips = await resolve4(e.name).catch(() => [] as string[]);
      if (ips.length === 0) unresolved.push(e.name);
      for (const ip of ips) if (isIP(ip) === 4) add(`${ip}/32`, e.port);
    }
  }
  return {
    v4: [...v4.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v),
    dockerHost: { all: dockerHost.all, ports: [...dockerHost.ports].sort((a, b) => a - b) },
    unresolved: unresolved.sort(),
  };
}

/** For user-space relays that connect from the host: does a resolved allow-list open ip:port? */
export function allowListPermits(allow: ResolvedAllow, ip: string, destPort: number): boolean {
  return allow.v4.some((a) => inCidrV4(ip, a.cidr) && (a.port === undefined || a.port === destPort));
}
