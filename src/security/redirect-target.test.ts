// Open redirects: every way a browser could read a `next` as another host is refused; local
// paths pass, normalised as the browser would read them.
import { describe, expect, test } from "bun:test";
import { sameOriginPath } from "./redirect-target";

const PUBLIC = "https://grid.example.com";

describe("sameOriginPath", () => {
  const refused: [string, string][] = [
    ["protocol-relative", "//evil.example/x"],
    ["tab between the slashes (the probe's /%09/host)", "/\t/evil.example/x"],
    ["newline between the slashes", "/\n/evil.example"],
    ["carriage return between the slashes", "/\r/evil.example"],
    ["backslash as second slash", "/\\evil.example"],
    ["two backslashes", "\\\\evil.example"],
    ["backslash then tab", "/\t\\evil.example"],
    ["dot segment collapsing to //", "/.//evil.example"],
    ["dot-dot collapsing to //", "/a/..//evil.example"],
    ["encoded dot segment collapsing to //", "/%2e//evil.example"],
    ["absolute URL to another host", "https://evil.example/"],
    ["absolute URL to our own host (only paths are taken)", "https://grid.example.com/x"],
    ["javascript: scheme", "javascript:alert(1)"],
    ["data: scheme", "data:text/html,<script>alert(1)</script>"],
    ["scheme after tab", "\tjavascript:alert(1)"],
    ["leading space", " //evil.example"],
    ["empty", ""],
    ["relative without slash", "evil.example"],
    ["too long", "/" + "a".repeat(3000)],
  ];
  for (const [name, target] of refused) test(`refuses ${name}`, () => expect(sameOriginPath(target, PUBLIC)).toBe("/"));

  const accepted: [string, string, string][] = [
    ["a plain path", "/sessions", "/sessions"],
    ["path with query and fragment", "/api/docs?x=1#top", "/api/docs?x=1#top"],
    ["encoded slashes stay encoded", "/a%2F%2Fb", "/a%2F%2Fb"],
    ["tab inside a path is dropped, as the browser does", "/sess\tions", "/sessions"],
    ["dot segments are resolved", "/a/../sessions", "/sessions"],
    ["encoded tab stays inside the path", "/%09/evil.example", "/%09/evil.example"],
  ];
  for (const [name, target, want] of accepted) test(`accepts ${name}`, () => expect(sameOriginPath(target, PUBLIC)).toBe(want));

  test("what it returns, read again as a browser reads a Location, stays on our origin", () => {
    for (const [, target] of [...refused, ...accepted.map(([n, t]) => [n, t] as [string, string])]) {
      const out = sameOriginPath(target, PUBLIC);
      expect(new URL(out, PUBLIC).origin).toBe(PUBLIC);
    }
  });
});
