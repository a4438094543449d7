import { expect, test } from "bun:test";
import { MAX_DEPTH, ScanError, scanMessage } from "./json-scan";

const strict = [
  '{"id":1,"method":"Page.enable"}',
  ' {\n\t"id" : -0 ,\r"method":"A.b","params":{"a":[1,2.5,-3e+2,0.1E-9,true,false,null,{},[]]},"sessionId":"S"} ',
  '{"id":2,"method":"Runtime.evaluate","params":{"expression":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00 é 😀"}}',
  '{"id":3,"method":"X.y","params":{"a":{"k":1},"b":{"k":1},"k":[{"k":1},{"k":2}]}}', // same key in different objects
  '{"id":4,"method":"X.y","params":{"a":1,"A":2,"ab":3,"ba":4}}',
  '[1,2]',
  '"text"',
  "12",
];

const notStrict: [string, string][] = [
  ['{"id":1,"method":"Page.navigate","params":{"url":"file:///etc/passwd\u000b"}}', "literal vertical tab"],
  ['{"id":1,"method":"A.b","params":{"x":"a\tb"}}', "literal tab in a string"],
  ['{"id":1,"method":"A.b"}\u000b', "vertical tab as whitespace"],
  ['{"id":1,"method":"A.b"}\f', "form feed as whitespace"],
  ['{"id":1,/*c*/"method":"A.b"}', "comment"],
  ['{"id":1,"method":"A.b"} // c', "line comment"],
  ['{"id":1,"method":"A.b",}', "trailing comma"],
  ["{'id':1}", "single quotes"],
  ['{id:1,"method":"A.b"}', "bare key"],
  ['{"id":01,"method":"A.b"}', "leading zero"],
  ['{"id":+1,"method":"A.b"}', "plus sign"],
  ['{"id":1.,"method":"A.b"}', "bare fraction dot"],
  ['{"id":.5,"method":"A.b"}', "missing integer part"],
  ['{"id":0x1,"method":"A.b"}', "hex"],
  ['{"id":NaN,"method":"A.b"}', "NaN"],
  ['{"id":Infinity,"method":"A.b"}', "Infinity"],
  ['{"id":1,"method":"A.b","params":{"x":"\\x41"}}', "\\x escape"],
  ['{"id":1,"method":"A.b","params":{"x":"\\u12"}}', "short \\u"],
  ['{"id":1,"method":"A.b","params":{"x":"\\ud800"}}', "lone high surrogate"],
  ['{"id":1,"method":"A.b","params":{"x":"\\udc00\\ud800"}}', "reversed surrogates"],
  ['{"id":1,"method":"A.b","params":{"x":"\\ud800\\u0041"}}', "high surrogate before a non-surrogate"],
  ['{"id":1,"method":"A.b"', "unterminated object"],
  ['{"id":1,"method":"A.b}', "unterminated string"],
  ['{"id":1,"method":"A.b"}{}', "two values"],
  ["", "empty"],
  ['{"id":1 "method":"A.b"}', "missing comma"],
  ['{"id":1,"method":"A.b","params":[1 2]}', "missing comma in an array"],
  ['{"id":1,"method":"A.b","params":tru}', "truncated literal"],
  ['{"id":1,"method":"A.b","params":{"a":1,"a":2}}', "duplicate key"],
  ['{"id":1,"method":"A.b","method":"A.b"}', "duplicate top-level key"],
  ['{"id":1,"method":"A.b","params":{"a":1,"\\u0061":2}}', "duplicate key by escape"],
  ['{"id":1,"method":"A.b","params":{"\\u0061":1,"a":2}}', "duplicate key by escape, escaped first"],
  ['{"id":1,"method":"A.b","params":{"x":{"y":[{"a":1,"b":2,"a":3}]}}}', "nested duplicate key"],
];

test("strict RFC 8259 JSON is accepted and reads as JSON.parse reads it", () => {
  for (const text of strict) {
    const m = scanMessage(text);
    const parsed = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      expect([text, m.id, m.method, m.sessionId]).toEqual([text, parsed.id, parsed.method, parsed.sessionId]);
    } else expect(m.notObject).toBe(true);
  }
});

test("anything else is refused: Chromium's leniencies, duplicates by any spelling, malformed text", () => {
  for (const [text, what] of notStrict) {
    let error: unknown = null;
    try {
      scanMessage(text);
    } catch (err) {
      error = err;
    }
    expect([what, error instanceof ScanError]).toEqual([what, true]);
  }
});

test("duplicate keys are found in objects of any size", () => {
  const keys = Array.from({ length: 500 }, (_, i) => `"k${i}":${i}`);
  const big = `{"id":1,"method":"A.b","params":{${keys.join(",")}}}`;
  expect(scanMessage(big).method).toBe("A.b");
  expect(() => scanMessage(`{"id":1,"method":"A.b","params":{${keys.join(",")},"k7":0}}`)).toThrow(ScanError);
  expect(() => scanMessage(`{"id":1,"method":"A.b","params":{${keys.join(",")},"k\\u0037":0}}`)).toThrow(ScanError);
  const top = Array.from({ length: 100 }, (_, i) => `"x${i}":0`);
  expect(() => scanMessage(`{"id":1,"method":"A.b",${top.join(",")},"x5":1}`)).toThrow(ScanError);
});

test("nesting deeper than MAX_DEPTH is refused, up to it accepted", () => {
  const nest = (n: number) => `{"id":1,"method":"A.b","params":{"v":${"[".repeat(n - 2)}${"]".repeat(n - 2)}}}`;
  expect(scanMessage(nest(MAX_DEPTH)).method).toBe("A.b");
  expect(() => scanMessage(nest(MAX_DEPTH + 1))).toThrow(ScanError);
  expect(() => scanMessage(`{"id":1,"method":"A.b","params":${"[".repeat(400_000)}}`)).toThrow(ScanError);
});

test("envelope fields: only an integer token is an id; escaped names are decoded", () => {
  expect(scanMessage('{"id":1.5,"method":"A.b"}').id).toBeUndefined();
  expect(scanMessage('{"id":1e3,"method":"A.b"}').id).toBeUndefined();
  expect(scanMessage('{"id":"1","method":"A.b"}').id).toBeUndefined();
  expect(scanMessage('{"\\u0069d":7,"m\\u0065thod":"Page.navig\\u0061te","sessionId":"\\u0053"}')).toMatchObject({ id: 7, method: "Page.navigate", sessionId: "S" });
  expect(scanMessage('{"id":1,"method":"A.b","extra":1}').extraKeys).toBe(true);
  expect(scanMessage('{"id":1,"method":"A.b","params":[]}').paramsNotObject).toBe(true);
  expect(scanMessage('{"id":1,"method":"A.b","sessionId":5}').sessionIdNotString).toBe(true);
});

// Lone surrogates are left out: JSON.stringify escapes them, and the scanner refuses those.
test("random JSON.stringify output round-trips (no false refusals)", () => {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const value = (d: number): unknown => {
    const r = rnd();
    if (d > 3 || r < 0.5) return [0, -1.25e-7, 123456789, "", "a\u0000\u001f\"\\\u2028é😀x", true, null][Math.floor(rnd() * 7)];
    if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(d + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 30) }, (_, i) => [`k${i}${"é".repeat(i % 2)}`, value(d + 1)]));
  };
  for (let i = 0; i < 300; i++) {
    const text = JSON.stringify({ id: i, method: "A.b", params: { v: value(0) } });
    expect(scanMessage(text).id).toBe(i);
  }
});

test("a large message (10 MB string) scans", () => {
  const big = JSON.stringify({ id: 9, method: "Fetch.fulfillRequest", params: { requestId: "r", body: "QUJD".repeat(2_500_000) } });
  expect(scanMessage(big).method).toBe("Fetch.fulfillRequest");
});
