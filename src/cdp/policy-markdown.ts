// Renders the CDP policy table (policy.ts) as Markdown for docs/security.md, between the
// markers below; policy-markdown.test.ts fails when the document and the table drift apart.
import { MAX_DEPTH } from "./json-scan";
import { ALLOWED, CHECKED, DOMAIN_PREFIX, REFUSED } from "./policy";

export const POLICY_MARKERS = { start: "<!-- cdp-policy:start -->", end: "<!-- cdp-policy:end -->" } as const;

const cell = (s: string) => s.replaceAll("|", "\\|");

export function policyMarkdown(): string {
  const lines = [
    "Generated from `src/cdp/policy.ts` by `policyMarkdown()`; edit the table, not this text.",
    "",
    "Every client→browser message is parsed by the gateway before anything else. Refused with a CDP",
    "error reply (same `id` and `sessionId`), never forwarded:",
    "",
    "- text that is not strict RFC 8259 JSON (Chromium's parser accepts more, e.g. a literal vertical",
    "  tab or comments), unpaired `\\u` surrogate escapes, duplicate keys at any level (also when",
    `  spelled with escapes), nesting deeper than ${MAX_DEPTH} (code -32700);`,
    "- a top level that is not an object with an integer `id` and a string `method`, optionally an",
    "  object `params` and a string `sessionId`, and nothing else (code -32600);",
    "- a method this table does not list (code -32601), or lists as refused (code -32000).",
    "",
    `\`${DOMAIN_PREFIX}*\` commands are answered by the gateway and never reach Chromium. An allowed`,
    "method is forwarded as received (the scanner proved it unambiguous); a checked one is forwarded",
    "re-serialised from the parameters its check accepted.",
    "",
    "### Checked",
    "",
    "| Method | Check | Why |",
    "| --- | --- | --- |",
    ...Object.entries(CHECKED).map(([m, c]) => `| \`${m}\` | \`${c.check}\` | ${cell(c.why)} |`),
    "",
    "### Refused",
    "",
    "| Method | Why |",
    "| --- | --- |",
    ...Object.entries(REFUSED).map(([m, why]) => `| \`${m.includes(".") ? m : `${m}.*`}\` | ${cell(why)} |`),
    "",
    "### Allowed",
    "",
    "These act within the session's own browser and reach nothing outside it.",
    "",
    "| Domain | Methods |",
    "| --- | --- |",
    ...Object.entries(ALLOWED).map(([d, names]) => `| ${d} | ${names.split(" ").join(", ")} |`),
  ];
  return lines.join("\n");
}

/** `doc` with the text between the markers replaced by the current table. */
export function withPolicyMarkdown(doc: string): string {
  const start = doc.indexOf(POLICY_MARKERS.start);
  const end = doc.indexOf(POLICY_MARKERS.end);
  if (start < 0 || end < start) throw new Error(`the document has no ${POLICY_MARKERS.start} … ${POLICY_MARKERS.end} section`);
  return `${doc.slice(0, start + POLICY_MARKERS.start.length)}\n${policyMarkdown()}\n${doc.slice(end)}`;
}
