import { expect, test } from "bun:test";
import { join } from "node:path";
import { POLICY_MARKERS, policyMarkdown, withPolicyMarkdown } from "./policy-markdown";
import { ALLOWED, CHECKED, REFUSED } from "./policy";

const DOC = join(import.meta.dir, "../../docs/security.md");

// UPDATE_DOCS=1 bun test src/cdp/policy-markdown.test.ts rewrites the section from the table.
test("docs/security.md shows the CDP policy table as it is in the code", async () => {
  const doc = await Bun.file(DOC).text();
  const current = withPolicyMarkdown(doc);
  if (process.env.UPDATE_DOCS === "1" && current !== doc) await Bun.write(DOC, current);
  else expect(doc).toBe(current);
});

test("the rendered table names every classified method and domain", () => {
  const md = policyMarkdown();
  for (const m of Object.keys(CHECKED)) expect(md).toContain(`\`${m}\``);
  for (const m of Object.keys(REFUSED)) expect(md).toContain(m.includes(".") ? `\`${m}\`` : `\`${m}.*\``);
  for (const [d, names] of Object.entries(ALLOWED)) expect(md).toContain(`| ${d} | ${names.split(" ").join(", ")} |`);
  expect(withPolicyMarkdown(`# x\n${POLICY_MARKERS.start}\nold\n${POLICY_MARKERS.end}\nrest`)).toBe(`# x\n${POLICY_MARKERS.start}\n${md}\n${POLICY_MARKERS.end}\nrest`);
});
