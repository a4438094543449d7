// One definition, two enforcers: for a table of destinations, the proxy relay's direct-route
// check (mayReach) and the nftables ruleset built from the same policy give the same answer,
// and that answer is the one stated in the table. The ruleset is judged by walking the rule
// text the guard would load, as the kernel would for a new TCP connection from a browser
// bridge; a rule shape the walker does not know fails the test instead of being skipped.
import { describe, expect, test } from "bun:test";
import { isIP } from "node:net";
import { inCidrV4 } from "./address-ranges";
import type { ResolvedAllow } from "./allow-list";
import { effectiveIpv4, hostEgress, mayReach, NOTHING_ALLOWED, thisHostPolicy, type EgressPolicy, type HostEgress } from "./egress-policy";
import { parseHelperFacts } from "./host-facts";
import { buildRuleset } from "./ruleset";

// A VPS-like host: eth0 192.0.2.2 on a public /24 (not a private range), a browser bridge
// bg-default 172.19.0.0/16, another install's browser bridge bg-other 172.30.0.0/16.
const FIB = `Main:
  +-- 0.0.0.0/0 3 0 4
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
     +-- 172.19.0.0/16 1 0 0
           |-- 172.19.0.0
              /16 link UNICAST
           |-- 172.19.0.1
              /32 host LOCAL
     +-- 172.30.0.0/16 1 0 0
           |-- 172.30.0.0
              /16 link UNICAST
           |-- 172.30.0.1
              /32 host LOCAL
     +-- 192.0.2.0/24 2 0 2
           |-- 192.0.2.0
              /24 link UNICAST
           |-- 192.0.2.2
              /32 host LOCAL
`;
const ROUTE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
bg-default\t000013AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
bg-other\t00001EAC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
`;
const facts = parseHelperFacts(`${FIB}${ROUTE}nameserver 10.255.255.53\n`);
const host = hostEgress(facts, { browserDns: [], hostPorts: [41000], ownPort: 7070 });
const allow: ResolvedAllow = {
  v4: [
    { cidr: "10.250.1.10/32", port: 80 },
    { cidr: "192.0.2.50/32" }, // a neighbour on the host's own subnet
    { cidr: "192.0.2.2/32", port: 8080 }, // the host itself: only docker-host entries open it
    { cidr: "172.16.0.0/12", port: 9222 }, // wide, but never another session's bridge
    { cidr: "127.0.0.0/8" }, // a browser's loopback is its own container, never the host's
  ],
  dockerHost: { all: false, ports: [3000] },
  unresolved: [],
};
const policy: EgressPolicy = { host, allow };
const BRIDGE = "bg-default";
const ruleset = buildRuleset({ table: "browsergrid", bridges: [{ name: BRIDGE, allow }], host });

/** Where the kernel sends a browser's packet to `ip`, judged without the code under test. */
function packetOf(ip: string): { v6: boolean; daddr: string } {
  if (isIP(ip) === 4) return { v6: false, daddr: ip };
  if (ip.includes("%")) return { v6: true, daddr: ip }; // a zone makes it link-local IPv6
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(new URL(`http://[${ip}]/`).hostname);
  if (!mapped) return { v6: true, daddr: ip };
  const [hi, lo] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return { v6: false, daddr: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}` };
}

/** Walks the ruleset text for a new TCP connection from the browser bridge to ip:port. */
function guardAccepts(text: string, ip: string, port: number): boolean {
  const { v6, daddr } = packetOf(ip);
  // A browser's 0/8 and 127/8 are its own container: the host's loopback is never reachable.
  if (!v6 && (inCidrV4(daddr, "127.0.0.0/8") || inCidrV4(daddr, "0.0.0.0/8"))) return false;
  const toHost = !v6 && host.hostAddresses.includes(daddr);
  const oif = host.browserSubnets.some((c) => !v6 && inCidrV4(daddr, c)) ? "bg-other" : "eth0";
  const sets = new Map<string, string[]>();
  for (const m of text.matchAll(/set (\w+) \{[^}]*?(?:elements = \{ ([^}]*) \})?\s*\}/g)) sets.set(m[1]!, m[2] ? m[2].split(", ") : []);
  const lines = text.split("\n").map((l) => l.trim());
  const start = lines.indexOf(`chain ${toHost ? "input" : "forward"} {`);
  const rules = lines.slice(start + 2, lines.indexOf("}", start));
  const inDest = (d: string) => (d.startsWith("@") ? (sets.get(d.slice(1)) ?? []) : [d]).some((c) => (c.includes("/") ? inCidrV4(daddr, c) : c === daddr));
  for (const rule of rules) {
    let rest = rule;
    let match = true;
    const take = (re: RegExp) => {
      const m = re.exec(rest);
      if (m) rest = rest.slice(m[0].length).trimStart();
      return m;
    };
    for (;;) {
      let m: RegExpExecArray | null;
      if (take(/^iifname != @bridges/)) match = false;
      else if ((m = take(/^iifname "([^"]+)"/))) match &&= m[1] === BRIDGE;
      else if (take(/^ct state established,related/)) match = false;
      else if (take(/^meta nfproto ipv6/)) match &&= v6;
      else if ((m = take(/^oifname "([^"*]+)\*"/))) match &&= oif.startsWith(m[1]!);
      else if ((m = take(/^ip daddr (\S+)/))) match &&= !v6 && inDest(m[1]!);
      else if (take(/^meta l4proto (\{ tcp, udp \}|tcp)/)) match &&= true;
      else if ((m = take(/^(?:th|tcp) dport (\{ [^}]+ \}|\d+)/))) match &&= m[1]!.replace(/[{}]/g, "").split(",").map(Number).includes(port);
      else if ((m = take(/^(accept|return|reject)\b.*$/))) {
        if (match && m[1] === "accept") return true;
        if (match && m[1] === "reject") return false;
        break;
      } else throw new Error(`the walker does not know this rule: ${rule}`);
    }
  }
  return true; // policy accept
}

const CASES: [what: string, ip: string, port: number, reachable: boolean][] = [
  ["the host's own address (not a private range)", "192.0.2.2", 80, false],
  ["the host's own address, allow-listed as an ip:port (only docker-host opens the host)", "192.0.2.2", 8080, false],
  ["the host's own address, docker-host:3000", "192.0.2.2", 3000, true],
  ["the bridge gateway, docker-host:3000", "172.19.0.1", 3000, true],
  ["the host's own address, BrowserGrid's port", "192.0.2.2", 7070, false],
  ["the host's own address, the relay's port", "172.19.0.1", 41000, true],
  ["a neighbour on the host's connected subnet", "192.0.2.10", 80, false],
  ["an allow-listed neighbour on that subnet", "192.0.2.50", 443, true],
  ["10/8", "10.1.2.3", 80, false],
  ["172.16/12", "172.20.5.5", 80, false],
  ["172.16/12 on the allow-listed port", "172.20.5.5", 9222, true],
  ["another session's browser, allow-listed range and port", "172.19.0.5", 9222, false],
  ["another install's browser bridge", "172.30.0.7", 9222, false],
  ["192.168/16", "192.168.1.1", 80, false],
  ["100.64/10", "100.64.1.1", 80, false],
  ["cloud metadata", "169.254.169.254", 80, false],
  ["loopback, even allow-listed", "127.0.0.1", 80, false],
  ["0.0.0.0", "0.0.0.0", 80, false],
  ["multicast", "224.0.0.1", 80, false],
  ["IPv4-mapped 10.0.0.1", "::ffff:10.0.0.1", 80, false],
  ["IPv4-mapped 10.0.0.1, hex", "::ffff:a00:1", 80, false],
  ["IPv4-mapped host address", "::ffff:192.0.2.2", 80, false],
  ["IPv4-mapped public address", "::ffff:203.0.113.10", 443, true],
  ["IPv6 loopback", "::1", 80, false],
  ["IPv6 link-local with a zone", "fe80::1%eth0", 80, false],
  ["IPv6 public (browsers have no IPv6 path)", "2001:db8::1", 443, false],
  ["a public TEST-NET address", "203.0.113.10", 443, true],
  ["a public address", "8.8.8.8", 443, true],
  ["an allow-listed ip:port", "10.250.1.10", 80, true],
  ["the same address on another port", "10.250.1.10", 81, false],
  ["DNS to the host's resolver", "10.255.255.53", 53, true],
  ["the resolver on another port", "10.255.255.53", 80, false],
];

describe("the relay's direct-route check and the guard's ruleset agree", () => {
  for (const [what, ip, port, reachable] of CASES) {
    test(`${what}: ${ip}:${port} ${reachable ? "reachable" : "refused"}`, () => {
      expect({ relay: mayReach(policy, ip, port).ok, guard: guardAccepts(ruleset, ip, port) }).toEqual({ relay: reachable, guard: reachable });
    });
  }
});

describe("mayReach", () => {
  test("dials the address it checked, as IPv4 for mapped forms; refusals say why", () => {
    expect(mayReach(policy, "::ffff:cb00:710a", 443)).toEqual({ ok: true, address: "203.0.113.10" });
    expect(mayReach(policy, "192.0.2.10", 80)).toMatchObject({ ok: false, reason: expect.stringContaining("connected to the Docker host") });
    expect(mayReach(policy, "192.0.2.2", 80)).toMatchObject({ ok: false, reason: expect.stringContaining("Docker host itself") });
    expect(mayReach(policy, "172.19.0.5", 9222)).toMatchObject({ ok: false, reason: expect.stringContaining("another session's browser network") });
    expect(mayReach(policy, "2001:db8::1", 443)).toMatchObject({ ok: false, reason: expect.stringContaining("IPv6") });
    for (const odd of ["[::1]", "0x7f.0.0.1", "2130706433", "127.1", "010.0.0.1", "localhost", ""]) expect([odd, mayReach(policy, odd, 80).ok]).toEqual([odd, false]);
  });

  test("effectiveIpv4: only IPv4 and IPv4-mapped IPv6 are IPv4 (compatible, NAT64 and 6to4 forms are not)", () => {
    expect(["10.0.0.1", "::ffff:10.0.0.1", "::FFFF:A00:1", "::ffff:0:0"].map(effectiveIpv4)).toEqual(["10.0.0.1", "10.0.0.1", "10.0.0.1", "0.0.0.0"]);
    expect(["::10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::", "::ffff:10.0.0.1%eth0", "10.0.0.1.", "1.2.3"].map(effectiveIpv4)).toEqual([null, null, null, null, null, null]);
  });

  test("this host's policy (no guard applied) refuses this host's own addresses and subnets, and loopback", () => {
    const here = thisHostPolicy(7070);
    expect(here.allow).toBe(NOTHING_ALLOWED);
    expect(here.host.ownPort).toBe(7070);
    for (const a of here.host.hostAddresses) expect([a, mayReach(here, a, 80).ok]).toEqual([a, false]);
    expect(mayReach(here, "127.0.0.1", 80).ok).toBe(false);
    expect(mayReach(here, "203.0.113.10", 443).ok).toBe(here.host.blockedV4.every((c) => !inCidrV4("203.0.113.10", c)));
  });

  test("hostEgress: fixed ranges, connected subnets and addresses merged; browser bridges and resolvers kept", () => {
    const h: HostEgress = host;
    expect(h.blockedV4).toContain("192.0.2.0/24");
    expect(h.blockedV4).toContain("169.254.0.0/16");
    expect(h.blockedV4).not.toContain("172.19.0.0/16"); // inside 172.16.0.0/12
    expect(h.hostAddresses).toEqual(["127.0.0.1", "172.19.0.1", "172.30.0.1", "192.0.2.2"]);
    expect(h.browserSubnets).toEqual(["172.19.0.0/16", "172.30.0.0/16"]);
    expect(h.resolvers).toEqual(["10.255.255.53"]);
    expect(mayReach({ host, allow: NOTHING_ALLOWED }, "192.0.2.50", 443).ok).toBe(false);
  });
});
