// Every URL form a client may send → the route and credential the gateway acts on, and the
// look-alikes it refuses.
import { describe, expect, test } from "bun:test";
import { gatewayUrlFormSamples, parseGatewayRequest, type Route } from "./routes";

const ID = "ses_abc123";
const TOKEN = "s3O2VEMcbn-q1KUOx4F02cG91ul6pvlcpjBHeeWxIuw";
const KEY = "bg_key1_secretsecret";

function parse(url: string) {
  const q = url.indexOf("?");
  const r = q < 0 ? parseGatewayRequest(url, "") : parseGatewayRequest(url.slice(0, q), url.slice(q));
  return r && { route: r.route, token: r.token, params: r.params.toString() };
}

const ws = (pageId: string | null = null): Route => ({ kind: "ws", sessionId: ID, pageId });
const json = (what: "version" | "list" | "protocol"): Route => ({ kind: "json", sessionId: ID, what });

describe("accepted forms", () => {
  const table: [string, Route, string | null, string?][] = [
    // today's cdpUrl and what clients derive from it
    [`/cdp/${ID}?token=${TOKEN}`, ws(), TOKEN],
    [`/cdp/${ID}/devtools/browser?token=${TOKEN}`, ws(), TOKEN],
    [`/cdp/${ID}/devtools/browser/?token=${TOKEN}`, ws(), TOKEN],
    [`/cdp/${ID}/devtools/browser/x?token=${TOKEN}`, ws(), TOKEN],
    [`/cdp/${ID}/devtools/page/ABC?token=${TOKEN}`, ws("ABC"), TOKEN],
    [`/cdp/${ID}/json/version?token=${TOKEN}`, json("version"), TOKEN],
    [`/cdp/${ID}/json/version/?token=${TOKEN}`, json("version"), TOKEN],
    [`/cdp/${ID}/json?token=${TOKEN}`, json("list"), TOKEN],
    [`/cdp/${ID}/json/list/?token=${TOKEN}`, json("list"), TOKEN],
    [`/cdp/${ID}/json/protocol?token=${TOKEN}`, json("protocol"), TOKEN],
    // Playwright before 1.5x: the discovery path appended after the query
    [`/cdp/${ID}?token=${TOKEN}/json/version/`, json("version"), TOKEN],
    [`/cdp/${ID}?token=${TOKEN}/json/version`, json("version"), TOKEN],
    [`/cdp/${ID}/?token=${TOKEN}/json/version/`, json("version"), TOKEN],
    [`/cdp/${ID}?token=${TOKEN}/json/list/`, json("list"), TOKEN],
    [`/cdp/${ID}?token=${TOKEN}/json`, json("list"), TOKEN],
    [`/cdp/${ID}?token=${TOKEN}/json/protocol/`, json("protocol"), TOKEN],
    // the token in the path
    [`/cdp/${ID}~${TOKEN}`, ws(), TOKEN],
    [`/cdp/${ID}~${TOKEN}/`, ws(), TOKEN],
    [`/cdp/${ID}~${TOKEN}/devtools/browser/`, ws(), TOKEN],
    [`/cdp/${ID}~${TOKEN}/devtools/page/ABC`, ws("ABC"), TOKEN],
    [`/cdp/${ID}~${TOKEN}/json/version/`, json("version"), TOKEN],
    [`/cdp/${ID}~${TOKEN}/json/list`, json("list"), TOKEN],
    // quick connect, also with options and the appended suffix, and at the root (chromedp)
    [`/connect?token=${KEY}`, { kind: "connect" }, KEY],
    [`/connect?token=${KEY}&keepAlive=true`, { kind: "connect" }, KEY, "keepAlive=true"],
    [`/connect/json/version?token=${KEY}`, { kind: "connect-json" }, KEY],
    [`/connect?token=${KEY}&keepAlive=true/json/version/`, { kind: "connect-json" }, KEY, "keepAlive=true"],
    [`/json/version?token=${KEY}&pool=default`, { kind: "root-json" }, KEY, "pool=default"],
    [`/json/version/`, { kind: "root-json" }, null],
  ];
  for (const [url, route, token, params = ""] of table)
    test(url, () => {
      expect(parse(url)).toEqual({ route, token, params });
    });

  test("every sample form is routed with its token", () => {
    for (const url of gatewayUrlFormSamples(ID, TOKEN)) {
      const r = parse(url)!;
      expect({ url, kind: r.route.kind, token: r.token }).toMatchObject({ url, token: TOKEN });
      expect(["ws", "json"]).toContain(r.route.kind);
    }
  });
});

describe("refused look-alikes", () => {
  const badRequest: string[] = [
    `/cdp/${ID}~${TOKEN}?token=${TOKEN}`, // two tokens
    `/cdp/${ID}?token=${TOKEN}&token=${TOKEN}`,
    `/cdp/${ID}~`, // empty path token
    `/cdp/${ID}~${TOKEN}~x`,
    `/cdp/${ID}?token=${TOKEN}/json/version/../../x`, // a path in the query that is not a discovery suffix
    `/cdp/${ID}?token=${TOKEN}/devtools/browser`,
    `/cdp/${ID}?token=a/b/json/version/`, // a path before the suffix
    `/cdp/${ID}/json/version?token=${TOKEN}/json/version/`, // suffix after a non-bare path
    `/cdp/${ID}?token=${TOKEN}%2Fjson%2Fversion`,
    `/json/version?token=${KEY}/json/version`,
  ];
  for (const url of badRequest)
    test(`400: ${url}`, () => {
      expect(parse(url)?.route.kind).toBe("bad-request");
    });

  const notFound: string[] = [
    `/cdp/${ID}/${TOKEN}`,
    `/cdp/${ID}%7E${TOKEN}`,
    `/cdp/${ID}~${TOKEN}/json/nope`,
    `/cdp/~${TOKEN}`,
    `/cdp/${ID}/devtools/page/a.b`,
    `/connect/json/list`,
  ];
  for (const url of notFound)
    test(`404: ${url}`, () => {
      expect(parse(url)?.route.kind).toBe("not-found");
    });

  for (const url of ["/json", "/json/list", "/json/protocol", "/api/v1/sessions?token=x/json/version/", "/cdpx/a"])
    test(`not the gateway's: ${url}`, () => {
      expect(parse(url)).toBeNull();
    });
});
