// Addresses a browser must never reach unless an allow-list opens them: private, loopback,
// link-local (cloud metadata), shared (CGNAT), benchmarking, multicast and reserved ranges, and
// every IPv6 equivalent. The egress guard turns the lists into packet-filter sets; the proxy
// relay, which connects from the host itself, checks each resolved address with isBlockedAddress().
import { isIP } from "node:net";

export const BLOCKED_V4_CIDRS = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "224.0.0.0/4",
  "240.0.0.0/4",
] as const;

/** Browsers get no IPv6 path at all; these are what the relay refuses for v6 targets. */
export const BLOCKED_V6_CIDRS = ["::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "100::/64", "fc00::/7", "fe80::/10", "ff00::/8"] as const;

export function ipv4ToInt(ip: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function inCidrV4(ip: string, cidr: string): boolean {
  const [base, bitsRaw] = cidr.split("/");
  const a = ipv4ToInt(ip);
  const b = ipv4ToInt(base!);
  const bits = Number(bitsRaw ?? 32);
  if (a === null || b === null || !(bits >= 0 && bits <= 32)) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (a & mask) === (b & mask);
}

/** 8 groups of 16 bits; null when not an IPv6 address. Handles "::" and a trailing dotted quad. */
export function ipv6Groups(ip: string): number[] | null {
  if (isIP(ip) !== 6) return null;
  let s = ip.split("%")[0]!;
  const quad = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(s);
  if (quad) {
    const n = ipv4ToInt(quad[1]!);
    if (n === null) return null;
    s = s.slice(0, -quad[1]!.length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = s.includes("::") ? s.split("::") : [s, undefined];
  const h = head ? head.split(":").filter(Boolean) : [];
  const t = tail ? tail.split(":").filter(Boolean) : [];
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill("0");
  const groups = [...h, ...fill, ...t].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

export function inCidrV6(ip: string, cidr: string): boolean {
  const [base, bitsRaw] = cidr.split("/");
  const a = ipv6Groups(ip);
  const b = ipv6Groups(base!);
  const bits = Number(bitsRaw ?? 128);
  if (!a || !b || !(bits >= 0 && bits <= 128)) return false;
  for (let i = 0; i < 8; i++) {
    const take = Math.max(0, Math.min(16, bits - i * 16));
    if (take === 0) return true;
    const mask = (0xffff << (16 - take)) & 0xffff;
    if ((a[i]! & mask) !== (b[i]! & mask)) return false;
  }
  return true;
}

/** The IPv4 address inside an IPv4-mapped or -compatible IPv6 form (::ffff:10.0.0.1), else null. */
export function embeddedIpv4(ip: string): string | null {
  const g = ipv6Groups(ip);
  if (!g || g.slice(0, 5).some((x) => x !== 0) || (g[5] !== 0xffff && g[5] !== 0)) return null;
  return `${g[6]! >>> 8}.${g[6]! & 0xff}.${g[7]! >>> 8}.${g[7]! & 0xff}`;
}

/** True for any address a browser must not reach by default (and for anything that is not an IP). */
export function isBlockedAddress(ip: string, extraBlockedV4: readonly string[] = []): boolean {
  const v = isIP(ip);
  if (v === 4) return [...BLOCKED_V4_CIDRS, ...extraBlockedV4].some((c) => inCidrV4(ip, c));
  if (v === 6) {
    const inner = embeddedIpv4(ip);
    if (inner && inner !== "0.0.0.0") return isBlockedAddress(inner, extraBlockedV4);
    return BLOCKED_V6_CIDRS.some((c) => inCidrV6(ip, c));
  }
  return true;
}
