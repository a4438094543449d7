// The client's address, for rate limits and the audit log. X-Forwarded-For is believed only
// when the TCP peer is one of BROWSERGRID_TRUSTED_PROXIES; otherwise anyone could pick the
// address their failed logins are counted against.

function normalize(addr: string): string {
  const a = addr.trim().toLowerCase();
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}

function ipv4ToInt(a: string): number | null {
  const parts = a.split(".");
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    n = n * 256 + Number(p);
  }
  return n;
}

/** Exact addresses and IPv4 CIDR ranges (`10.0.0.0/8`). */
export function addressMatches(addr: string, entry: string): boolean {
  const a = normalize(addr);
  const e = entry.trim().toLowerCase();
  if (!e.includes("/")) return a === normalize(e);
  const [net, bitsRaw] = e.split("/") as [string, string];
  const bits = Number(bitsRaw);
  const ai = ipv4ToInt(a);
  const ni = ipv4ToInt(net);
  if (ai === null || ni === null || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  if (bits === 0) return true;
  const mask = (0xffffffff << (32 - bits)) >>> 0;
  return ((ai & mask) >>> 0) === ((ni & mask) >>> 0);
}

export function isTrustedProxy(peer: string | undefined, trusted: readonly string[]): boolean {
  if (!peer || trusted.length === 0) return false;
  return trusted.some((t) => addressMatches(peer, t));
}

/** The peer, or — behind a trusted proxy — the right-most forwarded address that is not a proxy. */
export function clientIp(request: Request, peer: string | undefined, trusted: readonly string[]): string {
  const direct = peer ? normalize(peer) : "unknown";
  if (!isTrustedProxy(peer, trusted)) return direct;
  const xff = request.headers.get("x-forwarded-for");
  if (!xff) return direct;
  const hops = xff.split(",").map((s) => s.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (hop.length > 64) break;
    if (!trusted.some((t) => addressMatches(hop, t))) return normalize(hop);
  }
  return direct;
}
