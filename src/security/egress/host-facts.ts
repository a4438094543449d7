// What the guard needs to know about a Docker host: its own connected IPv4 subnets (a host LAN
// need not be RFC 1918, e.g. a VPS's public /24 neighbours), the subnets behind browser
// bridges (other sessions' containers), and the resolvers Docker's embedded DNS forwards
// browser queries to. Read from /proc/net/fib_trie (the kernel's routing trie: which addresses
// are local, which prefixes are on-link), /proc/net/route (which interface a prefix is on) and
// resolv.conf — the same files on this host and, through a helper container on the host's
// network, on a remote one.
import { readFileSync } from "node:fs";
import { inCidrV4 } from "./address-ranges";

/** Every browser bridge BrowserGrid creates is named with this prefix (providers/docker-network.ts). */
export const BROWSER_BRIDGE_PREFIX = "bg-";

/** The files a helper container prints (`cat`, no shell) for a remote host's facts. */
export const HOST_FACT_FILES = ["/proc/net/fib_trie", "/proc/net/route", "/etc/resolv.conf"] as const;

export interface HostFacts {
  /** Connected IPv4 subnets (on-link prefixes holding one of the host's addresses) and loopback. */
  subnets: string[];
  /** The host's own IPv4 addresses. */
  addresses: string[];
  /** Non-loopback IPv4 nameservers. */
  resolvers: string[];
  /** Subnets on browser bridges (interfaces named bg-*): other sessions' containers. */
  browserSubnets: string[];
}

const QUAD = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * Parses /proc/net/fib_trie. A `|-- a.b.c.d` line names a prefix; the `/len scope TYPE` lines
 * under it describe it. "host LOCAL" marks the host's addresses (and 127.0.0.0/8); "link
 * UNICAST" marks on-link prefixes. An on-link route towards a single remote address (no local
 * address inside it) is not a connected subnet and is left out.
 */
export function parseFibTrie(text: string): { subnets: string[]; addresses: string[] } {
  const locals = new Set<string>();
  const localRanges = new Set<string>();
  const links = new Set<string>();
  let current: string | null = null;
  for (const line of text.split("\n")) {
    const prefix = /^\s*\|--\s+(\S+)\s*$/.exec(line);
    if (prefix) {
      current = QUAD.test(prefix[1]!) ? prefix[1]! : null;
      continue;
    }
    const leaf = /^\s*\/(\d{1,2})\s+(\w+)\s+(\w+)/.exec(line);
    if (!leaf || !current) continue;
    const [len, scope, type] = [Number(leaf[1]), leaf[2], leaf[3]];
    if (type === "LOCAL") (len === 32 ? locals : localRanges).add(len === 32 ? current : `${current}/${len}`);
    else if (type === "UNICAST" && scope === "link" && len > 0) links.add(`${current}/${len}`);
  }
  const addresses = [...locals].sort();
  const subnets = [...localRanges, ...[...links].filter((c) => addresses.some((a) => inCidrV4(a, c))), ...addresses.map((a) => `${a}/32`)];
  return { subnets: [...new Set(subnets)].sort(), addresses };
}

/**
 * Parses /proc/net/route: the on-link prefixes (no gateway) of interfaces named bg-*.
 * Destination and mask are 32-bit hex in host byte order (little-endian on every platform
 * BrowserGrid runs on).
 */
export function parseBrowserBridgeRoutes(text: string): string[] {
  const quad = (hex: string) => {
    const n = parseInt(hex, 16);
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join(".");
  };
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !f[0]!.startsWith(BROWSER_BRIDGE_PREFIX) || !/^[0-9A-F]{8}$/i.test(f[1]!) || f[2] !== "00000000" || !/^[0-9A-F]{8}$/i.test(f[7]!)) continue;
    const mask = parseInt(f[7]!, 16);
    const bits = mask.toString(2).replace(/0/g, "").length;
    if (bits > 0) out.add(`${quad(f[1]!)}/${bits}`);
  }
  return [...out].sort();
}

export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*nameserver\s+(\S+)/gm)) {
    const ip = m[1]!;
    if (QUAD.test(ip) && !ip.startsWith("127.") && !out.includes(ip)) out.push(ip);
  }
  return out;
}

/** This host's facts. systemd-resolved hosts list 127.0.0.53; Docker then uses the upstream file. */
export function localHostFacts(): HostFacts {
  const read = (p: string) => {
    try {
      return readFileSync(p, "utf8");
    } catch {
      return "";
    }
  };
  const fib = parseFibTrie(read("/proc/net/fib_trie"));
  let resolvers = parseResolvConf(read("/etc/resolv.conf"));
  if (resolvers.length === 0) resolvers = parseResolvConf(read("/run/systemd/resolve/resolv.conf"));
  return { ...fib, resolvers, browserSubnets: parseBrowserBridgeRoutes(read("/proc/net/route")) };
}

/** The helper container prints HOST_FACT_FILES one after another; each parser skips what is not its own. */
export function parseHelperFacts(output: string): HostFacts {
  return { ...parseFibTrie(output), resolvers: parseResolvConf(output), browserSubnets: parseBrowserBridgeRoutes(output) };
}
