// What a browser may reach: ONE definition, enforced in two places.
// - The packet guard (ruleset.ts) turns it into nftables rules on the host where the browser runs.
// - The proxy relay's direct routes connect from the BrowserGrid host itself, below that packet
//   filter; before each connection they ask mayReach() about the resolved address.
// Both read the same EgressPolicy, computed once per guard apply from the host's facts, so a
// target the guard rejects (the host's own addresses, its connected subnets — which need not be
// private ranges — other sessions' bridges, the metadata endpoint, every IPv6 address) cannot be
// reached by naming it in a proxy route instead.
//
// Threat: whoever holds a session's cdpUrl drives its browser. Through a proxy with a direct
// route, a browser that the guard keeps off the host and the host's LAN would otherwise reach
// both from the host itself (SSRF to the Docker API, databases, BrowserGrid, a VPS's neighbours).
import { isIP } from "node:net";
import { BLOCKED_V4_CIDRS, inCidrV4, ipv6Groups, mergeCidrs } from "./address-ranges";
import { allowListPermits, type ResolvedAllow } from "./allow-list";
import { localHostFacts, type HostFacts } from "./host-facts";

/** The host part of the policy: the same for every pool on one Docker host. */
export interface HostEgress {
  /** Rejected towards other hosts unless allow-listed: the fixed private/special ranges plus the host's connected subnets and addresses (merged). */
  blockedV4: string[];
  /** The host's own IPv4 addresses: a browser reaches these only as "docker-host" (the guard's input hook). */
  hostAddresses: string[];
  /** Subnets behind browser bridges (other sessions' containers): never reachable, allow-list or not. */
  browserSubnets: string[];
  /** DNS servers the browsers may reach on port 53. */
  resolvers: string[];
  /** Ports of BrowserGrid's own services on the host that browsers must reach (the proxy relay). */
  hostPorts: number[];
  /** BrowserGrid's own listening port: closed to browsers even when docker-host is allowed. */
  ownPort?: number;
}

export interface EgressPolicy {
  host: HostEgress;
  /** The pool's allow-list (with BROWSERGRID_EGRESS_ALLOW), names resolved. */
  allow: ResolvedAllow;
}

export type Reach = { ok: true; address: string } | { ok: false; reason: string };

/** A browser's own loopback and "this network": never the host's, so never reachable through the relay. */
const CONTAINER_LOCAL_V4 = ["0.0.0.0/8", "127.0.0.0/8"] as const;

export const NOTHING_ALLOWED: ResolvedAllow = { v4: [], dockerHost: { all: false, ports: [] }, unresolved: [] };

export function hostEgress(facts: HostFacts, opts: { browserDns?: readonly string[]; hostPorts?: readonly number[]; ownPort?: number } = {}): HostEgress {
  return {
    blockedV4: mergeCidrs([...BLOCKED_V4_CIDRS, ...facts.subnets, ...facts.addresses.map((a) => `${a}/32`)]),
    hostAddresses: [...new Set(facts.addresses)].sort(),
    browserSubnets: mergeCidrs(facts.browserSubnets),
    resolvers: [...new Set([...(opts.browserDns ?? []), ...facts.resolvers])].sort(),
    hostPorts: [...new Set(opts.hostPorts ?? [])].sort((a, b) => a - b),
    ...(opts.ownPort ? { ownPort: opts.ownPort } : {}),
  };
}

/**
 * The IPv4 address a connection to `ip` actually goes to: itself, or the address inside an
 * IPv4-mapped IPv6 form (::ffff:10.0.0.1, ::ffff:a00:1), which the kernel sends as IPv4. Null
 * for every other IPv6 address and anything that is not an IP address.
 */
export function effectiveIpv4(ip: string): string | null {
  if (isIP(ip) === 4) return ip;
  const g = ipv6Groups(ip);
  if (!g || ip.includes("%") || g.slice(0, 5).some((x) => x !== 0) || g[5] !== 0xffff) return null;
  return `${g[6]! >>> 8}.${g[6]! & 0xff}.${g[7]! >>> 8}.${g[7]! & 0xff}`;
}

const inAny = (ip: string, cidrs: readonly string[]) => cidrs.some((c) => inCidrV4(ip, c));

/**
 * May a browser governed by `policy` open a TCP connection to ip:port? Mirrors the guard's
 * chains rule for rule (ruleset.ts): IPv6 never; the host itself only through its
 * docker-host entries, BrowserGrid's own port never; other browser bridges never; then the
 * allow-list, DNS to the resolvers, and the blocked ranges. On success, `address` is the IPv4
 * address to dial (the one checked).
 */
export function mayReach(policy: EgressPolicy, ip: string, port: number): Reach {
  const { host, allow } = policy;
  const v4 = effectiveIpv4(ip);
  if (!v4) return { ok: false, reason: isIP(ip) ? "IPv6 address (browsers have no IPv6 path)" : "not an IP address" };
  if (inAny(v4, CONTAINER_LOCAL_V4)) return { ok: false, reason: "loopback address of the BrowserGrid host" };
  const dns = port === 53 && host.resolvers.includes(v4);
  if (host.hostAddresses.includes(v4)) {
    if (port === host.ownPort) return { ok: false, reason: "BrowserGrid's own port" };
    if (host.hostPorts.includes(port) || allow.dockerHost.all || allow.dockerHost.ports.includes(port) || dns) return { ok: true, address: v4 };
    return { ok: false, reason: "an address of the Docker host itself, not opened by a docker-host entry of the pool's egress allow-list" };
  }
  if (inAny(v4, host.browserSubnets)) return { ok: false, reason: "another session's browser network" };
  if (allowListPermits(allow, v4, port) || dns) return { ok: true, address: v4 };
  if (inAny(v4, host.blockedV4)) return { ok: false, reason: "private or special address, or on a network connected to the Docker host, not in the pool's egress allow-list" };
  return { ok: true, address: v4 };
}

const THIS_HOST_FRESH_MS = 5_000;
let thisHostCache: { at: number; host: HostEgress } | null = null;

/**
 * The policy of the host this process runs on, with nothing allowed, read afresh every few
 * seconds: for direct connections when no guard has applied a policy (guard off, or not yet
 * installed), so the relay never falls back to less than the fixed ranges and this host.
 */
export function thisHostPolicy(ownPort?: number): EgressPolicy {
  if (!thisHostCache || Date.now() - thisHostCache.at > THIS_HOST_FRESH_MS) thisHostCache = { at: Date.now(), host: hostEgress(localHostFacts()) };
  return { host: ownPort ? { ...thisHostCache.host, ownPort } : thisHostCache.host, allow: NOTHING_ALLOWED };
}
