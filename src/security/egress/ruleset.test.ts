// The guard's ruleset text, the verifier of `nft -j list` output and the host-facts parsers.
import { describe, expect, test } from "bun:test";
import { BLOCKED_V4_CIDRS } from "./address-ranges";
import { parseBrowserBridgeRoutes, parseFibTrie, parseHelperFacts, parseResolvConf } from "./host-facts";
import { buildRuleset, MARKS, type RulesetInput } from "./ruleset";
import { checkListing } from "./verify";

const input: RulesetInput = {
  table: "browsergrid",
  bridges: [{ name: "bg-default", allow: { v4: [{ cidr: "10.250.1.10/32", port: 80 }, { cidr: "10.9.0.0/16" }], dockerHost: { all: false, ports: [3000] }, unresolved: [] } }],
  host: {
    blockedV4: [...BLOCKED_V4_CIDRS, "172.19.0.0/16", "192.0.2.0/24", "192.0.2.2/32"],
    hostAddresses: ["127.0.0.1", "172.19.0.1", "192.0.2.2"],
    browserSubnets: ["172.19.0.0/16"],
    resolvers: ["10.255.255.53", "10.250.0.53"],
    hostPorts: [41000],
    ownPort: 7070,
  },
};

const lines = (text: string) => text.split("\n").map((l) => l.trim());
function chain(text: string, name: string): string[] {
  const all = lines(text);
  const start = all.indexOf(`chain ${name} {`);
  return all.slice(start + 1, all.indexOf("}", start));
}

describe("buildRuleset", () => {
  const text = buildRuleset(input);

  test("one atomic transaction that also works when the table is absent", () => {
    expect(lines(text).slice(0, 3)).toEqual(["table inet browsergrid", "delete table inet browsergrid", "table inet browsergrid {"]);
    // replace mode: fails (changing nothing) when the table vanished, so it is never resurrected silently
    expect(lines(buildRuleset(input, "replace")).slice(0, 2)).toEqual(["delete table inet browsergrid", "table inet browsergrid {"]);
  });

  test("forward: established first, v6 and bridge→bridge rejected, allow-list, DNS, then private ranges rejected", () => {
    expect(chain(text, "forward")).toEqual([
      "type filter hook forward priority -10; policy accept;",
      "iifname != @bridges return",
      "ct state established,related accept",
      "meta nfproto ipv6 reject with icmpx admin-prohibited",
      'oifname "bg-*" reject with icmpx admin-prohibited',
      'iifname "bg-default" ip daddr 10.250.1.10 meta l4proto { tcp, udp } th dport 80 accept',
      'iifname "bg-default" ip daddr 10.9.0.0/16 accept',
      "ip daddr @resolvers_v4 meta l4proto { tcp, udp } th dport 53 accept",
      "ip daddr @blocked_v4 meta l4proto tcp reject with tcp reset",
      `ip daddr @blocked_v4 reject with icmpx admin-prohibited comment "${MARKS.forwardFinal}"`,
    ]);
  });

  test("input: BrowserGrid's own port is rejected before the host ports and docker-host entries; the rest rejected", () => {
    expect(chain(text, "input")).toEqual([
      "type filter hook input priority -10; policy accept;",
      "iifname != @bridges return",
      "ct state established,related accept",
      "meta nfproto ipv6 reject with icmpx admin-prohibited",
      "tcp dport 7070 reject with tcp reset",
      "meta l4proto { tcp, udp } th dport { 41000 } accept",
      'iifname "bg-default" meta l4proto { tcp, udp } th dport { 3000 } accept',
      "ip daddr @resolvers_v4 meta l4proto { tcp, udp } th dport 53 accept",
      "meta l4proto tcp reject with tcp reset",
      `reject with icmpx admin-prohibited comment "${MARKS.inputFinal}"`,
    ]);
    const all = buildRuleset({ ...input, bridges: [{ name: "bg-default", allow: { v4: [], dockerHost: { all: true, ports: [] }, unresolved: [] } }] });
    expect(chain(all, "input")).toContain('iifname "bg-default" accept');
    expect(chain(all, "input").indexOf("tcp dport 7070 reject with tcp reset")).toBeLessThan(chain(all, "input").indexOf('iifname "bg-default" accept'));
  });

  test("sets: guarded bridges, blocked ranges merged (nft refuses overlaps), resolvers", () => {
    expect(text).toContain('elements = { "bg-default" }');
    expect(text).toContain("elements = { 10.250.0.53, 10.255.255.53 }");
    const blocked = /set blocked_v4 \{[^}]*elements = \{ ([^}]*) \}/.exec(text)![1]!.split(", ");
    expect(blocked).toContain("192.0.2.0/24");
    expect(blocked).toContain("169.254.0.0/16");
    expect(blocked).not.toContain("172.19.0.0/16"); // inside 172.16.0.0/12
    expect(blocked).not.toContain("192.0.2.2/32"); // inside the host LAN
    expect(text).not.toContain("ip6");
  });

  test("no resolvers: no DNS rule; bad names and ports never reach the text", () => {
    expect(buildRuleset({ ...input, host: { ...input.host, resolvers: [] } })).not.toContain("dport 53");
    expect(() => buildRuleset({ ...input, table: "x; flush ruleset" })).toThrow(/table name/);
    expect(() => buildRuleset({ ...input, bridges: [{ ...input.bridges[0]!, name: 'bg" accept' }] })).toThrow(/bridge name/);
    expect(() => buildRuleset({ ...input, host: { ...input.host, resolvers: ["1.2.3.4 accept"] } })).toThrow(/resolver/);
    expect(() => buildRuleset({ ...input, host: { ...input.host, hostPorts: [0] } })).toThrow(/port/);
    expect(() => buildRuleset({ ...input, bridges: [] })).toThrow(/bridge list/);
    expect(() => buildRuleset({ ...input, bridges: [{ ...input.bridges[0]!, name: "docker0" }] })).toThrow(/bridge name/);
    expect(() => buildRuleset({ ...input, host: { ...input.host, blockedV4: ["10.0.0.0/8 accept"] } })).toThrow(/CIDR/);
  });
});

describe("checkListing", () => {
  const listing = (over: { elem?: unknown; dropRule?: string; hook?: string } = {}) => ({
    nftables: [
      { metainfo: { version: "1.0.6" } },
      { table: { family: "inet", name: "browsergrid", handle: 1 } },
      { set: { family: "inet", table: "browsergrid", name: "bridges", type: "ifname", elem: over.elem ?? ["bg-default"] } },
      { chain: { family: "inet", table: "browsergrid", name: "forward", type: "filter", hook: over.hook ?? "forward", prio: -10, policy: "accept" } },
      { chain: { family: "inet", table: "browsergrid", name: "input", type: "filter", hook: "input", prio: -10, policy: "accept" } },
      ...[["forward", MARKS.forwardFinal], ["input", MARKS.inputFinal]].filter(([c]) => c !== over.dropRule).map(([c, m]) => ({ rule: { family: "inet", table: "browsergrid", chain: c, comment: m, expr: [] } })),
    ],
  });
  const want = { table: "browsergrid", bridge: "bg-default" };
  test("complete", () => expect(checkListing(listing(), want)).toBeNull());
  test("single-element set as a plain string", () => expect(checkListing(listing({ elem: "bg-default" }), want)).toBeNull());
  test("missing pieces are named", () => {
    expect(checkListing({ nftables: [] }, want)).toMatch(/does not exist/);
    expect(checkListing(listing({ dropRule: "input" }), want)).toMatch(/input .* final reject/);
    expect(checkListing(listing({ hook: "output" }), want)).toMatch(/forward/);
    expect(checkListing(listing({ elem: ["bg-other"] }), want)).toMatch(/does not guard bridge bg-default/);
  });
});

const FIB = `Main:
  +-- 0.0.0.0/0 3 0 4
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
     +-- 172.19.0.0/31 1 0 0
           |-- 172.19.0.0
              /16 link UNICAST
           |-- 172.19.0.1
              /32 host LOCAL
     |-- 203.0.113.10
        /32 link UNICAST
     +-- 192.0.2.0/24 2 0 2
           |-- 192.0.2.0
              /24 link UNICAST
           |-- 192.0.2.2
              /32 host LOCAL
        |-- 192.0.2.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/0 3 0 4
           |-- 192.0.2.2
              /32 host LOCAL
`;

test("parseFibTrie: the host's addresses and connected subnets, not on-link routes to single remote hosts", () => {
  expect(parseFibTrie(FIB)).toEqual({
    addresses: ["127.0.0.1", "172.19.0.1", "192.0.2.2"],
    subnets: ["127.0.0.0/8", "127.0.0.1/32", "172.19.0.0/16", "172.19.0.1/32", "192.0.2.0/24", "192.0.2.2/32"],
  });
});

test("resolv.conf: IPv4 nameservers except loopback; helper output is fib_trie then resolv.conf", () => {
  expect(parseResolvConf("# c\nnameserver 10.255.255.53\nnameserver 127.0.0.53\nnameserver fd00::1\nsearch x\nnameserver 1.1.1.1\n")).toEqual(["10.255.255.53", "1.1.1.1"]);
  const facts = parseHelperFacts(FIB + "nameserver 10.255.255.53\n");
  expect(facts.resolvers).toEqual(["10.255.255.53"]);
  expect(facts.subnets).toContain("192.0.2.0/24");
});

const ROUTE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
bg-default\t000013AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
bg-other-pool\t0010FEA9\t00000000\t0001\t0\t0\t0\t00F0FFFF\t0\t0\t0
bg-routed\t0000000A\t0A0A0A0A\t0003\t0\t0\t0\t000000FF\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
`;

test("/proc/net/route: the on-link subnets of browser bridges (bg-*), nothing else; also in helper output", () => {
  expect(parseBrowserBridgeRoutes(ROUTE)).toEqual(["169.254.16.0/20", "172.19.0.0/16"]);
  expect(parseHelperFacts(FIB + ROUTE + "nameserver 10.255.255.53\n")).toMatchObject({ browserSubnets: ["169.254.16.0/20", "172.19.0.0/16"], resolvers: ["10.255.255.53"], addresses: ["127.0.0.1", "172.19.0.1", "192.0.2.2"] });
});
