// The logger's secret scanning sees what a server would decode: URL-encoded keys and token
// parameters are redacted in any encoding case and nesting, not only their literal form.
import { describe, expect, test } from "bun:test";
import { redact } from "./logger";

const KEY = "bg_e2eadmin0_0123456789abcdefABCDEF0123456789";
const SECRET = KEY.slice("bg_e2eadmin0_".length);
const enc = (s: string) => encodeURIComponent(s);
const encAll = (s: string, upper = true) => [...s].map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")[upper ? "toUpperCase" : "toLowerCase"]()).join("");

describe("redact sees decoded forms", () => {
  const cases: [name: string, text: string, secret: string][] = [
    ["underscores as %5F", `/api/v1/x/bg%5Fe2eadmin0%5F${SECRET}`, SECRET],
    ["underscores as %5f", `GET /x?key=bg%5fe2eadmin0%5f${SECRET}`, SECRET],
    ["a fully encoded key", `/connect?pool=a&k=${encAll(KEY)}`, SECRET.slice(4)],
    ["a fully encoded key, lower-case hex", `/connect?pool=a&k=${encAll(KEY, false)}`, SECRET.slice(4)],
    ["a doubly encoded key", `/x?next=${enc(enc(`/connect?token=${KEY}`))}`, SECRET],
    ["an encoded parameter name", `/cdp/ses_1?%74oken=abcdefghijklmnop1234`, "abcdefghijklmnop1234"],
    ["an encoded ?token= inside next", `/login?next=%2Fconnect%3Ftoken%3Dsupersecretvalue123`, "supersecretvalue123"],
    ["token= in upper case", `/cdp/ses_1?TOKEN=supersecretvalue123`, "supersecretvalue123"],
    ["access_token and api_key", `/x?access_token=sekrit-one-123&api_key=sekrit-two-456`, "sekrit-"],
    ["an encoded bearer header", `authorization%3A%20Bearer%20sekrit-bearer-789`, "sekrit-bearer-789"],
    ["encoded credentials in a proxy URL", `http%3A%2F%2Fuser%3Apa55word%40proxy%3A8080`, "pa55word"],
    ["a session token in the path", `/cdp/ses_1~supersecretvalue123/json/version/`, "supersecretvalue123"],
    ["a session token in the path, bare", `/cdp/ses_1~supersecretvalue123`, "supersecretvalue123"],
    ["a session token in a ws URL's path", `connect ws://127.0.0.1:7070/cdp/ses_1~supersecretvalue123/devtools/browser/ failed`, "supersecretvalue123"],
    ["a session token in the path, ~ encoded", `/cdp/ses_1%7Esupersecretvalue123`, "supersecretvalue123"],
    ["a token with a discovery path appended after it", `/cdp/ses_1?token=supersecretvalue123/json/version/`, "supersecretvalue123"],
  ];
  for (const [name, text, secret] of cases)
    test(name, () => {
      const out = redact(text);
      expect(out).not.toContain(secret);
      expect(out).toContain("[redacted]");
    });

  test("text without secrets is left alone, malformed escapes included", () => {
    for (const s of ["/api/v1/sessions/ses_abc123", "/search?q=100%25%20sure", "/bad%zzescape?x=%E0%A4%A", "/a%2Fb?page=2"]) expect(redact(s)).toBe(s);
  });
});

test("the access log line of a request with an encoded key or token is redacted", async () => {
  const { makeTestApp } = await import("../../test/helpers/app");
  const { setLogSink, setLogLevel } = await import("./logger");
  const t = await makeTestApp();
  const lines: string[] = [];
  setLogSink((l) => lines.push(l));
  setLogLevel("info");
  try {
    const encodedKey = t.adminKey.replace(/_/g, "%5f");
    await t.call("GET", `/api/v1/things/${encodedKey}`);
    await t.call("GET", `/connect?%54OKEN=${encodedKey}`);
    await t.call("GET", `/login?next=${encodeURIComponent(`/connect?token=${t.memberKey}`)}`);
    await Bun.sleep(10); // the access log is written after the response
    const all = lines.join("\n");
    expect(all).toContain("[redacted]");
    expect(all).not.toContain(t.adminKey.slice(16));
    expect(all).not.toContain(t.memberKey.slice(16));
  } finally {
    setLogLevel("error");
    setLogSink((l) => process.stdout.write(l + "\n"));
  }
});
