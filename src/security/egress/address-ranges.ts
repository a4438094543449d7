// The fixed IPv4 ranges a browser must never reach unless an allow-list opens them: private,
// loopback, link-local (cloud metadata), shared (CGNAT), benchmarking, multicast and reserved —
// and the address arithmetic on them. What a browser may reach as a whole (these ranges plus
// the host's own addresses and connected subnets, all IPv6, the allow-list) is decided in one
// place: src/security/egress/egress-policy.ts, for the packet guard and the proxy relay alike.
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

/** Canonical network addresses, without entries another entry already contains (nft refuses overlapping interval elements). */
export function mergeCidrs(cidrs: readonly string[]): string[] {
  const parsed = [...new Set(cidrs)].map((c) => {
    const [ip, bits] = c.split("/");
    const base = ipv4ToInt(ip ?? "");
    const n = /^\d{1,2}$/.test(bits ?? "") ? Number(bits) : NaN;
    if (base === null || !(n >= 0 && n <= 32)) throw new Error(`invalid IPv4 CIDR "${c}"`);
    const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
    return { net: (base & mask) >>> 0, mask, bits: n };
  });
  const kept = parsed.filter((a, i) => !parsed.some((b, j) => j !== i && b.bits <= a.bits && (a.net & b.mask) >>> 0 === b.net && (b.bits < a.bits || j < i)));
  return [...new Map(kept.map((c) => [`${c.net}/${c.bits}`, c])).values()]
    .sort((a, b) => a.net - b.net || a.bits - b.bits)
    .map((c) => `${c.net >>> 24}.${(c.net >>> 16) & 255}.${(c.net >>> 8) & 255}.${c.net & 255}/${c.bits}`);
}
