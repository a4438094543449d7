// The params JSON Schema subset: what a deploy refuses, what a run's params must pass, and the
// defaults a run gets.
import { describe, expect, test } from "bun:test";
import { checkParamsSchema, validateParamsAgainst, type ParamsSchema } from "./params-schema";

const schema = checkParamsSchema({
  type: "object",
  title: "Scrape",
  required: ["url"],
  additionalProperties: false,
  properties: {
    url: { type: "string", pattern: "^https?://", maxLength: 2048, description: "Page to open" },
    pages: { type: "integer", minimum: 1, maximum: 10, default: 3 },
    mode: { enum: ["fast", "full"], default: "fast" },
    tags: { type: "array", items: { type: "string", minLength: 1 }, maxItems: 3 },
    auth: { type: "object", properties: { user: { type: "string" }, remember: { type: "boolean", default: false } } },
    version: { const: 2 },
    note: { type: ["string", "null"] },
  },
});

const bad = (params: unknown) => {
  try {
    validateParamsAgainst(schema, params);
  } catch (err) {
    return { status: (err as { status: number }).status, code: (err as { code: string }).code, message: (err as Error).message };
  }
  throw new Error("accepted");
};

describe("validateParams", () => {
  test("applies defaults, recursively, without touching the schema", () => {
    const out = validateParamsAgainst(schema, { url: "https://example.com", auth: { user: "a" } });
    expect(out).toEqual({ url: "https://example.com", pages: 3, mode: "fast", auth: { user: "a", remember: false } });
    expect(schema.properties!.pages!.default).toBe(3);
  });

  test.each([
    [{}, "params.url: is required."],
    [{ url: 5 }, "params.url: must be a string."],
    [{ url: "ftp://x" }, "params.url: must match the pattern ^https?://."],
    [{ url: "https://x", pages: 2.5 }, "params.pages: must be an integer."],
    [{ url: "https://x", pages: 11 }, "params.pages: must be at most 10."],
    [{ url: "https://x", pages: 0 }, "params.pages: must be at least 1."],
    [{ url: "https://x", mode: "slow" }, 'params.mode: must be one of "fast", "full".'],
    [{ url: "https://x", tags: ["a", "b", "c", "d"] }, "params.tags: must have at most 3 items."],
    [{ url: "https://x", tags: ["a", ""] }, "params.tags[1]: must be at least 1 characters long."],
    [{ url: "https://x", version: 3 }, "params.version: must be 2."],
    [{ url: "https://x", note: 1 }, "params.note: must be one of string, null."],
    [{ url: "https://x", extra: 1 }, "params.extra: is not a known parameter"],
    [{ url: "https://x", auth: { remember: "yes" } }, "params.auth.remember: must be a boolean."],
    [[1], "params: must be a JSON object."],
  ])("%j → 400 %s", (params, message) => {
    const r = bad(params);
    expect(r.status).toBe(400);
    expect(r.code).toBe("invalid_params");
    expect(r.message).toStartWith(message);
  });

  test("without a schema any object passes as it is; non-objects do not", () => {
    expect(validateParamsAgainst(undefined, { a: [1] })).toEqual({ a: [1] });
    expect(validateParamsAgainst(undefined, undefined)).toEqual({});
    expect(() => validateParamsAgainst(undefined, "x")).toThrow(/must be a JSON object/);
  });
});

describe("checkParamsSchema (deploy time)", () => {
  test.each([
    [{ type: "object", properties: { a: { type: "string", format: "uri" } } }, /params\.properties\.a: keyword "format" is not supported/],
    [{ type: "object", oneOf: [] }, /keyword "oneOf" is not supported/],
    [{ type: "object", $ref: "#/x" }, /keyword "\$ref" is not supported/],
    [{ type: "string" }, /the root must be/],
    [{ properties: {} }, /the root needs "type": "object"/],
    [{ type: "object", properties: { a: { type: "text" } } }, /params\.properties\.a\.type: must be one of/],
    [{ type: "object", properties: { a: { type: "string", pattern: "(" } } }, /pattern: is not a valid regular expression/],
    [{ type: "object", properties: { a: { type: "integer", default: "x" } } }, /default: does not match its own schema/],
    [{ type: "object", properties: { a: { enum: [] } } }, /enum: must be a list/],
    [{ type: "object", required: "a" }, /required: must be a list/],
  ])("%j is refused", (s, message) => {
    let err: any;
    try {
      checkParamsSchema(s);
    } catch (e) {
      err = e;
    }
    expect(err?.status).toBe(400);
    expect(err?.code).toBe("invalid_params_schema");
    expect(err?.message).toMatch(message);
  });

  test("deep nesting is refused", () => {
    let s: ParamsSchema = { type: "string" };
    for (let i = 0; i < 12; i++) s = { type: "object", properties: { x: s } };
    expect(() => checkParamsSchema(s)).toThrow(/deeper than 8/);
  });
});
