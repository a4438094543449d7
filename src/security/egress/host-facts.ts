// What the guard needs to know about a Docker host: its own connected IPv4 subnets (a host LAN
// need not be RFC 1918, e.g. a VPS's public /24 neighbours) and the resolvers Docker's
// embedded DNS forwards browser queries to. Read from /proc/net/fib_trie (the kernel's routing
// trie: which addresses are local, which prefixes are on-link) and resolv.conf — the same
// files on this host and, through a helper container on the host's network, on a remote one.
import { readFileSync } from "node:fs";
import { inCidrV4 } from "../../modules/network/address-ranges";

export interface HostFacts {
  /** Connected IPv4 subnets (on-link prefixes holding one of the host's addresses) and loopback. */
  subnets: string[];
  /** The host's own IPv4 addresses. */
  addresses: string[];
  /** Non-loopback IPv4 nameservers. */
  resolvers: string[];
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
  return { ...fib, resolvers };
}

/** The helper container prints fib_trie then resolv.conf (`cat`, no shell); both parsers skip what is not theirs. */
export function parseHelperFacts(output: string): HostFacts {
  return { ...parseFibTrie(output), resolvers: parseResolvConf(output) };
}
