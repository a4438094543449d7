// Is the guard really there? Reads `nft -j list table inet <table>` and checks what matters:
// both base chains on their hooks, each ending with its final reject, and the bridge of the
// worker in the table's bridge set. Null when complete, else the reason it is not.
import { MARKS } from "./ruleset";

type NftItem = Record<string, Record<string, unknown>>;

export function checkListing(listing: unknown, expect: { table: string; bridge: string }): string | null {
  const items = ((listing as { nftables?: NftItem[] } | null)?.nftables ?? []).filter((i) => typeof i === "object" && i);
  const ofTable = (kind: string) => items.map((i) => i[kind]).filter((x): x is Record<string, unknown> => !!x && x.table === expect.table && x.family === "inet");
  if (!items.some((i) => i.table?.name === expect.table && i.table?.family === "inet")) return `the nftables table inet ${expect.table} does not exist`;
  const chains = ofTable("chain");
  const rules = ofTable("rule");
  for (const [name, mark] of [["forward", MARKS.forwardFinal], ["input", MARKS.inputFinal]] as const) {
    const c = chains.find((x) => x.name === name);
    if (!c || c.hook !== name || c.type !== "filter") return `chain ${name} of table inet ${expect.table} is missing or not on the ${name} hook`;
    if (!rules.some((r) => r.chain === name && r.comment === mark)) return `chain ${name} of table inet ${expect.table} lacks its final reject rule`;
  }
  const bridges = ofTable("set").find((s) => s.name === "bridges");
  const elems = bridges?.elem;
  if (!(Array.isArray(elems) ? elems : [elems]).includes(expect.bridge)) return `table inet ${expect.table} does not guard bridge ${expect.bridge}`;
  return null;
}
