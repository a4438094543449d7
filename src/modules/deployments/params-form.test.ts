import { describe, expect, test } from "bun:test";
import { checkParamsSchema, validateParamsAgainst } from "./params-schema";
import { formProperties, needsJsonBox, paramsFormFields, paramsFromForm } from "./params-form";

const schema = checkParamsSchema({
  type: "object",
  properties: {
    url: { type: "string", description: "Page to open", maxLength: 200 },
    count: { type: "integer", minimum: 1, default: 2 },
    ratio: { type: ["number", "null"] },
    headless: { type: "boolean", default: true },
    mode: { enum: ["fast", "slow"], type: "string" },
    tags: { type: "array", items: { type: "string" } },
  },
  required: ["url"],
  additionalProperties: false,
});

describe("the Run form generated from a params schema", () => {
  test("plain properties become fields (enum and boolean as selects); others stay in the JSON box", () => {
    expect(formProperties(schema).map(([k, , t]) => `${k}:${t}`)).toEqual(["url:string", "count:integer", "ratio:number", "headless:boolean", "mode:string"]);
    expect(needsJsonBox(schema)).toBe(true); // tags is an array
    expect(needsJsonBox(checkParamsSchema({ type: "object", properties: { a: { type: "string" } }, additionalProperties: false }))).toBe(false);
    expect(needsJsonBox(undefined)).toBe(true);
    const out = String(paramsFormFields(schema, { "param.url": '"><script>x</script>' }));
    expect(out).toContain('name="param.url" type="text" maxlength="200" value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
    expect(out).toContain('name="param.count" type="number" step="1" value="2"');
    expect(out).toContain("Page to open");
    expect(out).toMatch(/<select id="f-run-p3" name="param.headless"[^>]*><option value="" selected>default \(true\)<\/option><option value="true">true<\/option><option value="false">false<\/option>/);
    expect(out).not.toContain("param.tags");
    expect(out).toContain("url</label>"); // required: no "(optional)"
    expect(out).toContain("count <span class=\"muted small\">(optional)</span>");
  });

  test("values are read back by type; empty fields are left to their defaults; what is not its type is passed on for validation to name", () => {
    const params = paramsFromForm(schema, { "param.url": "https://x.test", "param.count": "3", "param.ratio": "0.5", "param.headless": "false", "param.mode": "slow", "param.tags": "[1]", other: "x" });
    expect(params).toEqual({ url: "https://x.test", count: 3, ratio: 0.5, headless: false, mode: "slow" });
    expect(validateParamsAgainst(schema, paramsFromForm(schema, { "param.url": "u", "param.count": "" }))).toEqual({ url: "u", count: 2, headless: true });
    const bad = paramsFromForm(schema, { "param.url": "u", "param.count": "many" });
    expect(bad.count).toBe("many");
    expect(() => validateParamsAgainst(schema, bad)).toThrow(/params\.count/);
  });
});
