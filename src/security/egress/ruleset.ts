// The egress guard's nftables ruleset, as text for `nft -f`: one table per host that filters
// what enters the host from BrowserGrid's browser bridges. Pure: the same input gives the same
// text, so it is tested on its output and applied the same way locally and on remote engines.
//
// Threat: a session is a browser on the user's server; whoever holds its cdpUrl can make it
// fetch anything. Without this table it reaches the cloud metadata endpoint, the Docker API,
// BrowserGrid itself, other sessions' browsers and the user's private network — by any name,
// rebinding trick, numeric spelling, WebRTC or QUIC, which is why the guard is a packet filter
// and not URL matching.
//
// Shape (FIELD-NOTES "Egress guard"):
// - forward (to other hosts): established/related first; then everything IPv6 and anything to
//   another bridge (another session's container) is rejected; then the pool's allow-list (keyed
//   by bridge); DNS to the configured resolvers; reject the private/special ranges and the
//   host's own connected subnets. Public destinations pass.
// - input (to the Docker host on any of its addresses): established/related; IPv6 rejected;
//   BrowserGrid's own port rejected even when docker-host is allowed; BrowserGrid's own
//   services' ports; the allow-list's docker-host entries; DNS if the host is a resolver;
//   reject the rest.
// REJECT, never DROP: failures are immediate and clear. Priority -10 runs before Docker's own
// filter chains (priority 0); Docker never touches this table, and a reject here is final
// whatever other chains accept.
//
// The rules are the packet form of egress-policy.ts (HostEgress + each bridge's allow-list); the
// proxy relay's direct routes check the same policy with mayReach(). A change here is a change
// there: egress-policy.test.ts runs both on the same addresses.
import { mergeCidrs } from "./address-ranges";
import type { ResolvedAllow } from "./allow-list";
import type { HostEgress } from "./egress-policy";
import { BROWSER_BRIDGE_PREFIX } from "./host-facts";

export interface RulesetInput {
  /** nftables table name (family inet). */
  table: string;
  /** The browser bridges this table guards, each with its pool's allow-list. */
  bridges: { name: string; allow: ResolvedAllow }[];
  /** What browsers on this host may not reach: blocked ranges, resolvers, host ports, BrowserGrid's own port. */
  host: HostEgress;
}

/** Comments the verifier looks for: the final rejects prove the chains are complete. */
export const MARKS = { forwardFinal: "browsergrid: reject private destinations", inputFinal: "browsergrid: reject the rest" } as const;

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const TABLE = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;
const CIDR = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;
const IP = /^\d{1,3}(\.\d{1,3}){3}$/;

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`egress ruleset: invalid ${what}`);
}

const L4 = "meta l4proto { tcp, udp }";

/**
 * mode "install": creates the table when absent, then replaces it (the first apply works on a
 * host without it). mode "replace": fails, changing nothing, when the table is absent — used by
 * automatic re-applies, which must never resurrect a guard that vanished (fail closed).
 * Either way one transaction: there is never a moment without rules.
 */
export function buildRuleset(input: RulesetInput, mode: "install" | "replace" = "install"): string {
  const t = input.table;
  const host = input.host;
  check(TABLE.test(t), `table name "${t}"`);
  check(input.bridges.length > 0, "bridge list (empty)");
  for (const b of input.bridges) check(IFNAME.test(b.name) && b.name.startsWith(BROWSER_BRIDGE_PREFIX), `bridge name "${b.name}"`);
  for (const r of host.resolvers) check(IP.test(r), `resolver "${r}"`);
  const ports = [...new Set(host.hostPorts)].sort((a, b) => a - b);
  for (const p of [...ports, ...(host.ownPort ? [host.ownPort] : [])]) check(Number.isInteger(p) && p >= 1 && p <= 65535, `port ${p}`);
  for (const c of host.blockedV4) check(CIDR.test(c), `CIDR "${c}"`);
  const blocked = mergeCidrs(host.blockedV4);
  const resolvers = [...new Set(host.resolvers)].sort();
  const q = (s: string) => `"${s}"`;

  const allowForward: string[] = [];
  const allowInput: string[] = [];
  for (const b of input.bridges) {
    for (const a of b.allow.v4) {
      check(CIDR.test(a.cidr), `allow-list CIDR "${a.cidr}"`);
      const dest = a.cidr.endsWith("/32") ? a.cidr.slice(0, -3) : a.cidr;
      allowForward.push(`iifname ${q(b.name)} ip daddr ${dest}${a.port ? ` ${L4} th dport ${a.port}` : ""} accept`);
    }
    if (b.allow.dockerHost.all) allowInput.push(`iifname ${q(b.name)} accept`);
    else if (b.allow.dockerHost.ports.length) allowInput.push(`iifname ${q(b.name)} ${L4} th dport { ${b.allow.dockerHost.ports.join(", ")} } accept`);
  }
  const dns = resolvers.length ? [`ip daddr @resolvers_v4 ${L4} th dport 53 accept`] : [];
  const reject = "reject with icmpx admin-prohibited";
  const set = (name: string, type: string, elements: string[], flags?: string) =>
    [`\tset ${name} {`, `\t\ttype ${type}`, ...(flags ? [`\t\tflags ${flags}`] : []), ...(elements.length ? [`\t\telements = { ${elements.join(", ")} }`] : []), `\t}`];
  const chain = (name: string, hook: string, rules: string[]) => [`\tchain ${name} {`, `\t\ttype filter hook ${hook} priority -10; policy accept;`, ...rules.map((r) => `\t\t${r}`), `\t}`];

  return [
    ...(mode === "install" ? [`table inet ${t}`] : []),
    `delete table inet ${t}`,
    `table inet ${t} {`,
    ...set("bridges", "ifname", input.bridges.map((b) => q(b.name))),
    ...set("blocked_v4", "ipv4_addr", blocked, "interval"),
    ...set("resolvers_v4", "ipv4_addr", resolvers),
    ...chain("forward", "forward", [
      "iifname != @bridges return",
      "ct state established,related accept",
      `meta nfproto ipv6 ${reject}`,
      `oifname "${BROWSER_BRIDGE_PREFIX}*" ${reject}`,
      ...allowForward,
      ...dns,
      "ip daddr @blocked_v4 meta l4proto tcp reject with tcp reset",
      `ip daddr @blocked_v4 ${reject} comment ${q(MARKS.forwardFinal)}`,
    ]),
    ...chain("input", "input", [
      "iifname != @bridges return",
      "ct state established,related accept",
      `meta nfproto ipv6 ${reject}`,
      ...(host.ownPort ? [`tcp dport ${host.ownPort} reject with tcp reset`] : []),
      ...(ports.length ? [`${L4} th dport { ${ports.join(", ")} } accept`] : []),
      ...allowInput,
      ...dns,
      "meta l4proto tcp reject with tcp reset",
      `${reject} comment ${q(MARKS.inputFinal)}`,
    ]),
    "}",
    "",
  ].join("\n");
}
