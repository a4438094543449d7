// The rule language on its own: glob matching like CDP Fetch patterns, resource types and
// methods, the walk's order, header edits, the Fetch patterns derived from rules, validation.
import { describe, expect, test } from "bun:test";
import { compileRules, decide, editHeaders, fetchPatterns, globMatches, validateRules, type Rule } from "./rule-sets.rules";
import { PRESETS } from "./rule-sets.presets";

describe("glob", () => {
  const cases: [string, string, boolean][] = [
    ["*://*.doubleclick.net/*", "https://ad.doubleclick.net/x?y=1", true],
    ["*://*.doubleclick.net/*", "https://doubleclick.net/x", false],
    ["*://*.doubleclick.net/*", "https://notdoubleclick.net/x", false],
    // A glob sees the whole URL, as CDP's do: a matching URL inside a query matches too.
    ["*://*.doubleclick.net/*", "https://example.com/?u=https://ad.doubleclick.net/", true],
    ["*://*.doubleclick.net/*", "https://example.com/doubleclick.net/", false],
    ["*/api/data", "http://10.0.0.1:8080/api/data", true],
    ["*/api/data", "http://10.0.0.1:8080/api/data?x=1", false],
    ["*/api/data*", "http://10.0.0.1:8080/api/data?x=1", true],
    ["http://a/?", "http://a/b", true],
    ["http://a/?", "http://a/", false],
    ["http://a/?", "http://a/bc", false],
    ["*", "", true],
    ["*.png", "http://x/a.png", true],
    ["*.png", "http://x/a.png.html", false],
    ["http://x/a\\*b", "http://x/a*b", true],
    ["http://x/a\\*b", "http://x/aXb", false],
    ["http://x/a\\?", "http://x/a?", true],
    ["http://x/a\\?", "http://x/ab", false],
    ["HTTP://X/", "http://x/", false],
  ];
  for (const [pattern, url, want] of cases) test(`${pattern} ${want ? "matches" : "does not match"} ${url || "(empty)"}`, () => expect(globMatches(pattern, url)).toBe(want));

  test("many stars against a long URL stay fast (no exponential backtracking)", () => {
    const pattern = `${"*a".repeat(40)}*b`;
    const url = `http://x/${"a".repeat(5000)}`;
    expect(globMatches(pattern, url)).toBe(false);
    expect(globMatches(pattern, `${url}b`)).toBe(true);
  });
});

describe("matching and order", () => {
  const rules = validateRules([
    { match: { urlPattern: "*/echo*" }, action: { type: "modifyRequestHeaders", set: { "X-One": "1" } } },
    { match: { resourceTypes: ["image", "Media"] }, action: { type: "block" } },
    { match: { urlPattern: "*/api/*", methods: ["post"] }, action: { type: "mock", status: 201, body: "posted" } },
    { match: { urlPattern: "*/api/*" }, action: { type: "mock", status: 200, body: "first" } },
    { match: { urlPattern: "*/api/data" }, action: { type: "block" } },
    { match: { urlPattern: "*/echo*" }, action: { type: "modifyRequestHeaders", set: { "X-Two": "2" }, remove: ["x-one"] } },
    { match: { urlPattern: "*/echo*" }, action: { type: "modifyResponseHeaders", set: { "X-Resp": "r" } } },
    { match: { urlPattern: "*/echo/redirect" }, action: { type: "redirect", url: "https://example.com/" } },
  ]);
  const compiled = compileRules(rules);
  const at = (url: string, type = "Fetch", method = "GET") => decide(compiled, url, type, method);

  test("resource types are normalised to their CDP names; methods to upper case", () => {
    expect(rules[1]!.match.resourceTypes).toEqual(["Image", "Media"]);
    expect(rules[2]!.match.methods).toEqual(["POST"]);
  });
  test("resource type must match", () => {
    expect(at("http://h/a.png", "Image").terminal?.rule.action.type).toBe("block");
    expect(at("http://h/a.png", "Script").terminal).toBeUndefined();
  });
  test("method must match; the first matching terminal rule wins", () => {
    expect(at("http://h/api/data", "Fetch", "POST").terminal?.mockBody).toBe(Buffer.from("posted").toString("base64"));
    expect(at("http://h/api/data", "Fetch", "GET").terminal?.mockBody).toBe(Buffer.from("first").toString("base64"));
  });
  test("header rewrites before and without a terminal rule all apply, in order", () => {
    const d = at("http://h/echo");
    expect(d.terminal).toBeUndefined();
    expect(d.requestEdits).toHaveLength(2);
    expect(d.responseEdits).toHaveLength(1);
    const headers = editHeaders([{ name: "Accept", value: "*/*" }, { name: "X-TWO", value: "old" }], d.requestEdits);
    expect(headers).toEqual([{ name: "Accept", value: "*/*" }, { name: "X-Two", value: "2" }]);
  });
  test("a terminal rule ends the walk: later header rewrites are not collected", () => {
    const d = at("http://h/echo/redirect");
    expect(d.terminal?.rule.action).toEqual({ type: "redirect", url: "https://example.com/" });
    expect(d.responseEdits).toHaveLength(1);
    const early = at("http://h/api/x");
    expect(early.requestEdits).toHaveLength(0);
  });
  test("no rule matches: nothing happens", () => {
    expect(at("http://h/other")).toEqual({ requestEdits: [], responseEdits: [] });
  });
});

describe("Fetch patterns pause only what rules can match", () => {
  test("url and resource type become patterns; the Response stage only for response header rules", () => {
    const p = fetchPatterns(
      validateRules([
        { match: { urlPattern: "*.png", resourceTypes: ["Image", "Media"] }, action: { type: "block" } },
        { match: { urlPattern: "*/hdr" }, action: { type: "modifyResponseHeaders", remove: ["x"] } },
      ]),
    );
    expect(p).toEqual([
      { urlPattern: "*.png", requestStage: "Request", resourceType: "Image" },
      { urlPattern: "*.png", requestStage: "Request", resourceType: "Media" },
      { urlPattern: "*/hdr", requestStage: "Response" },
    ]);
  });
  test("a method-only rule pauses its whole stage, and makes the other patterns of that stage redundant", () => {
    const p = fetchPatterns(validateRules([{ match: { urlPattern: "*.png" }, action: { type: "block" } }, { match: { methods: ["DELETE"] }, action: { type: "block" } }]));
    expect(p).toEqual([{ urlPattern: "*", requestStage: "Request" }]);
  });
  test("presets are valid rules", () => {
    for (const preset of PRESETS) expect(validateRules(preset.rules)).toEqual(preset.rules as Rule[]);
    expect(PRESETS.find((p) => p.name === "preset:ads")!.rules.length).toBeGreaterThan(100);
  });
});

describe("validation names the rule and what to fix", () => {
  const bad: [string, unknown, RegExp][] = [
    ["no match field", [{ match: {}, action: { type: "block" } }], /^Rule 0: "match" needs at least one of/],
    ["empty pattern", [{ match: { urlPattern: "" }, action: { type: "block" } }], /^Rule 0: match.urlPattern must be a non-empty string/],
    ["control character", [{ match: { urlPattern: "http://a/\n" }, action: { type: "block" } }], /control character/],
    ["long pattern", [{ match: { urlPattern: "*".repeat(2049) }, action: { type: "block" } }], /longer than 2048/],
    ["regex", [{ match: { urlPattern: "re:^https?://" }, action: { type: "block" } }], /regular expressions/],
    ["dangling escape", [{ match: { urlPattern: "http://a\\" }, action: { type: "block" } }], /unfinished/],
    ["unknown type", [{ match: { urlPattern: "*" }, action: { type: "block" } }, { match: { resourceTypes: ["Imagez"] }, action: { type: "block" } }], /^Rule 1: match.resourceTypes: unknown resource type "Imagez"/],
    ["bad method", [{ match: { methods: ["GE T"] }, action: { type: "block" } }], /is not an HTTP method/],
    ["unknown action", [{ match: { urlPattern: "*" }, action: { type: "drop" } }], /^Rule 0: "action.type" must be one of/],
    ["mock status", [{ match: { urlPattern: "*" }, action: { type: "mock", status: 99 } }], /status must be a whole number from 100 to 599/],
    ["mock both bodies", [{ match: { urlPattern: "*" }, action: { type: "mock", status: 200, body: "a", bodyBase64: "YQ==" } }], /not both/],
    ["bad base64", [{ match: { urlPattern: "*" }, action: { type: "mock", status: 200, bodyBase64: "###" } }], /standard base64/],
    ["big body", [{ match: { urlPattern: "*" }, action: { type: "mock", status: 200, body: "x".repeat(1024 * 1024 + 1) } }], /mock body limit of 1048576 bytes/],
    ["bad header name", [{ match: { urlPattern: "*" }, action: { type: "modifyRequestHeaders", set: { "bad header": "x" } } }], /not a valid HTTP header name/],
    ["header CRLF", [{ match: { urlPattern: "*" }, action: { type: "modifyResponseHeaders", set: { x: "a\r\nb: c" } } }], /without CR, LF or NUL/],
    ["empty edit", [{ match: { urlPattern: "*" }, action: { type: "modifyRequestHeaders" } }], /needs "set" or "remove"/],
    ["redirect scheme", [{ match: { urlPattern: "*" }, action: { type: "redirect", url: "file:///etc/passwd" } }], /http\(s\) URL/],
    ["unknown field", [{ match: { urlPattern: "*" }, action: { type: "block" }, priority: 1 }], /unknown field "priority"/],
    ["too many", Array.from({ length: 1001 }, () => ({ match: { urlPattern: "*" }, action: { type: "block" } })), /at most 1000 rules/],
    ["not a list", { match: {} }, /must be a list/],
  ];
  for (const [what, rules, message] of bad)
    test(what, () => {
      expect(() => validateRules(rules)).toThrow(message);
    });
});
