// The proxies API through the real app: CRUD with roles, passwords sealed and never returned,
// routes checked (patterns, unknown proxies, loops), delete refused while in use, pool defaults,
// session create naming a proxy, the admin page, and bad input that stores nothing.
import { beforeAll, describe, expect, test } from "bun:test";
import { makeTestApp, type TestApp } from "../../../test/helpers/app";
import { log, redact } from "../../lib/logger";
import { open } from "../../security/secret-box";
import { sessions } from "../../db/schema";
import { listProxies, PROXY_PASSWORD_PURPOSE } from "./proxies.service";
import { ProxyPart } from "./proxy-part";

const PW = `pw-${crypto.randomUUID()}`;
let t: TestApp;
const everything: string[] = [];

async function call(method: string, path: string, body?: unknown, auth?: string) {
  const res = await t.call(method, path, { auth: auth ?? t.adminKey, body });
  everything.push(JSON.stringify(res.body));
  return res;
}

beforeAll(async () => {
  // Sessions resolve `proxy` through the proxy part; no Docker is needed for the refusals tested here.
  t = await makeTestApp({ networkParts: ({ db, installKey }) => [new ProxyPart({ db, log, installKey, installId: "test", dockerSocket: "/nonexistent.sock" })] });
});

describe("proxies API", () => {
  test("create (credentials in the URL or as fields), read without the password, sealed at rest", async () => {
    const a = await call("POST", "/api/v1/proxies", { name: "corp-http", url: `http://alice:${encodeURIComponent(PW)}@proxy.example.com:3128` });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ name: "corp-http", url: "http://proxy.example.com:3128", scheme: "http", host: "proxy.example.com", port: 3128, username: "alice", hasPassword: true, routes: [] });
    expect(a.body.id).toStartWith("prx_");
    const b = await call("POST", "/api/v1/proxies", { name: "corp-socks", url: "socks5://10.0.0.5:1080", username: "bob", password: PW });
    expect(b.status).toBe(201);
    expect(b.body).toMatchObject({ scheme: "socks5", username: "bob", hasPassword: true });
    const none = await call("POST", "/api/v1/proxies", { name: "open", url: "https://open.example:443/" });
    expect(none.body).toMatchObject({ username: null, hasPassword: false, url: "https://open.example:443" });

    const row = listProxies(t.deps.db).find((p) => p.name === "corp-http")!;
    expect(row.passwordEncrypted).toStartWith("v1.");
    expect(row.passwordEncrypted).not.toContain(PW);
    expect(open(t.deps.installKey, PROXY_PASSWORD_PURPOSE, row.passwordEncrypted!)).toBe(PW);

    const list = await call("GET", "/api/v1/proxies", undefined, t.memberKey);
    expect(list.status).toBe(200);
    expect(list.body.proxies.map((p: { name: string }) => p.name)).toEqual(["corp-http", "corp-socks", "open"]);
    expect((await call("GET", "/api/v1/proxies/corp-socks", undefined, t.memberKey)).body.id).toBe(b.body.id);
    expect((await call("GET", `/api/v1/proxies/${b.body.id}`)).body.name).toBe("corp-socks");
    expect((await call("GET", "/api/v1/proxies", undefined, t.viewerKey)).status).toBe(403);
    expect((await call("POST", "/api/v1/proxies", { name: "m", url: "http://h:1" }, t.memberKey)).status).toBe(403);
    expect((await call("GET", "/api/v1/proxies/nope")).status).toBe(404);
  });

  test("update: rename, move, change and clear credentials; audited without secrets", async () => {
    const r = await call("PATCH", "/api/v1/proxies/open", { name: "open2", url: "http://open.example:8080" });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: "open2", port: 8080, scheme: "http" });
    const creds = await call("PATCH", "/api/v1/proxies/open2", { username: "carol", password: PW });
    expect(creds.body).toMatchObject({ username: "carol", hasPassword: true });
    // A URL without credentials keeps the stored ones.
    expect((await call("PATCH", "/api/v1/proxies/open2", { url: "http://open.example:8081" })).body).toMatchObject({ username: "carol", hasPassword: true, port: 8081 });
    expect((await call("PATCH", "/api/v1/proxies/open2", { password: null })).body).toMatchObject({ username: "carol", hasPassword: false });
    expect((await call("PATCH", "/api/v1/proxies/open2", { username: null })).body).toMatchObject({ username: null, hasPassword: false });
    expect((await call("PATCH", "/api/v1/proxies/corp-http", { name: "corp-socks" })).status).toBe(409);
    expect((await call("PATCH", "/api/v1/proxies/open2", { password: "x" }, t.memberKey)).status).toBe(403);

    const audit = await call("GET", "/api/v1/audit?limit=100");
    const actions = audit.body.items.map((e: { action: string }) => e.action);
    expect(actions).toContain("proxy.created");
    expect(actions).toContain("proxy.updated");
  });

  test("routes: via by name, stored by id (rename-safe), loops and unknown proxies refused", async () => {
    const r = await call("PATCH", "/api/v1/proxies/corp-http", {
      routes: [
        { domains: ["intranet.example", "*.intranet.example"], via: "direct" },
        { domains: ["10.1.2.3"], via: "corp-socks" },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.routes).toEqual([
      { domains: ["intranet.example", "*.intranet.example"], via: "direct" },
      { domains: ["10.1.2.3"], via: "corp-socks" },
    ]);
    expect((await call("PATCH", "/api/v1/proxies/corp-socks", { name: "socks" })).status).toBe(200);
    expect((await call("GET", "/api/v1/proxies/corp-http")).body.routes[1].via).toBe("socks");

    const loop = await call("PATCH", "/api/v1/proxies/socks", { routes: [{ domains: ["a.example"], via: "corp-http" }] });
    expect(loop.status).toBe(400);
    expect(loop.body.error.code).toBe("route_loop");
    expect(loop.body.error.message).toContain("socks → corp-http → socks");
    expect((await call("GET", "/api/v1/proxies/socks")).body.routes).toEqual([]);

    const del = await call("DELETE", "/api/v1/proxies/socks");
    expect(del.status).toBe(409);
    expect(del.body.error.message).toContain(`routes of proxy(ies) "corp-http"`);
  });

  test("pool default: set by name, shown in the pool, unknown refused, delete of the proxy refused while set", async () => {
    const set = await call("PATCH", "/api/v1/pools/default", { proxy: "corp-http" });
    expect(set.status).toBe(200);
    expect(set.body.proxy).toBe("corp-http");
    expect((await call("GET", "/api/v1/proxies/corp-http")).body.usedBy.pools).toEqual(["default"]);
    const unknown = await call("PATCH", "/api/v1/pools/default", { proxy: "nope" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe("unknown_proxy");
    const created = await call("POST", "/api/v1/pools", { name: "withproxy", proxy: "nope" });
    expect(created.status).toBe(400);
    expect((await call("GET", "/api/v1/pools/withproxy")).status).toBe(404);

    const del = await call("DELETE", "/api/v1/proxies/corp-http");
    expect(del.status).toBe(409);
    expect(del.body.error.message).toContain(`default proxy of pool(s) "default"`);
    expect((await call("PATCH", "/api/v1/pools/default", { proxy: null })).body.proxy).toBeNull();
  });

  test("delete refused while a live session runs with the proxy; allowed once it ended", async () => {
    const p = (await call("POST", "/api/v1/proxies", { name: "busy", url: "socks5://h.example:1080" })).body;
    const pool = (await call("GET", "/api/v1/pools/default")).body;
    t.deps.db.insert(sessions).values({ id: "ses_busy", poolId: pool.id, ownerType: "api_key", status: "running", config: { proxy: { id: p.id, name: "busy" } }, metadata: {}, timeoutSec: 60, idleTimeoutSec: 60 }).run();
    const del = await call("DELETE", "/api/v1/proxies/busy");
    expect(del.status).toBe(409);
    expect(del.body.error.message).toContain("ses_busy");
    t.deps.db.$client.query("UPDATE sessions SET status = 'completed' WHERE id = 'ses_busy'").run();
    expect((await call("DELETE", "/api/v1/proxies/busy")).status).toBe(204);
    expect((await call("GET", "/api/v1/proxies/busy")).status).toBe(404);
  });

  test("session create: unknown proxy → 400 unknown_proxy, a non-string → 400, nothing created", async () => {
    const before = t.deps.db.select().from(sessions).all().length;
    const unknown = await call("POST", "/api/v1/sessions", { proxy: "nope" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe("unknown_proxy");
    const obj = await call("POST", "/api/v1/sessions", { proxy: { server: "http://x:1" } });
    expect(obj.status).toBe(400);
    expect(t.deps.db.select().from(sessions).all().length).toBe(before);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ["malformed URL", { name: "b1", url: "not a url" }, /not a valid proxy URL/],
    ["socks4 scheme", { name: "b1", url: "socks4://h.example:1080" }, /Unsupported proxy scheme "socks4:\/\/"/],
    ["ftp scheme", { name: "b1", url: "ftp://h.example:21" }, /Unsupported proxy scheme "ftp:\/\/"/],
    ["socks5h scheme", { name: "b1", url: "socks5h://h.example:1080" }, /socks5:\/\/ already lets the proxy resolve/],
    ["missing port", { name: "b1", url: "http://h.example" }, /no port/],
    ["port 0", { name: "b1", url: "http://h.example:0" }, /port must be a number from 1 to 65535/],
    ["port too big", { name: "b1", url: "http://h.example:70000" }, /port must be a number/],
    ["path", { name: "b1", url: "http://h.example:8080/proxy" }, /must not have a path, query or fragment/],
    ["query", { name: "b1", url: "http://h.example:8080?x=1" }, /must not have a path, query or fragment/],
    ["no host", { name: "b1", url: "http://:8080" }, /no host/],
    ["bad host", { name: "b1", url: "http://exa mple:8080" }, /not a valid host name/],
    ["credentials twice", { name: "b1", url: "http://u:p@h.example:1", username: "u" }, /either in "url".*not both/],
    ["password without user", { name: "b1", url: "http://h.example:1", password: "p" }, /needs a "username"/],
    ["colon in http user", { name: "b1", url: "http://h.example:1", username: "a:b", password: "p" }, /cannot contain ":"/],
    ["bad name", { name: "-bad", url: "http://h.example:1" }, /Proxy name/],
    ["name too long", { name: "a".repeat(65), url: "http://h.example:1" }, /name/],
    ["bad route pattern", { name: "b1", url: "http://h.example:1", routes: [{ domains: ["exa mple.com"], via: "direct" }] }, /not a domain pattern/],
    ["wildcard in the middle", { name: "b1", url: "http://h.example:1", routes: [{ domains: ["a.*.com"], via: "direct" }] }, /not a domain pattern/],
    ["bare star", { name: "b1", url: "http://h.example:1", routes: [{ domains: ["*"], via: "direct" }] }, /not a domain pattern/],
    ["via an unknown proxy", { name: "b1", url: "http://h.example:1", routes: [{ domains: ["a.com"], via: "ghost" }] }, /via proxy "ghost", which does not exist/],
    ["via itself", { name: "b1", url: "http://h.example:1", routes: [{ domains: ["a.com"], via: "b1" }] }, /does not exist|itself/],
    ["route without domains", { name: "b1", url: "http://h.example:1", routes: [{ domains: [], via: "direct" }] }, /domains/],
    ["unknown field", { name: "b1", url: "http://h.example:1", server: "x" }, /Unknown field "server"/],
    ["password too long", { name: "b1", url: "http://h.example:1", username: "u", password: "p".repeat(300) }, /password/],
  ];
  for (const [what, body, message] of bad)
    test(`refused with a clear 400, nothing stored: ${what}`, async () => {
      const before = listProxies(t.deps.db).length;
      const res = await call("POST", "/api/v1/proxies", body);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(message);
      expect(listProxies(t.deps.db).length).toBe(before);
      expect(listProxies(t.deps.db).some((p) => p.name === "b1")).toBe(false);
    });

  test("a mistyped URL's error does not echo pieces of the password", async () => {
    const res = await call("POST", "/api/v1/proxies", { name: "b2", url: `http://u:Se/cr#et${PW}@h.example:1` });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).not.toContain("cr#et");
    expect(JSON.stringify(res.body)).not.toContain(PW);
  });

  test("the admin page lists proxies without passwords; a bad form is refused next to its field", async () => {
    const page = await t.call("GET", "/proxies", { auth: t.cookie });
    expect(page.status).toBe(200);
    expect(page.body).toContain("corp-http");
    expect(page.body).toContain("http://proxy.example.com:3128");
    expect(page.body).not.toContain(PW);
    expect((await t.call("GET", "/proxies/corp-http", { auth: t.cookie })).body).not.toContain(PW);
    const form = new URLSearchParams({ name: "ui-bad", url: "socks4://h.example:1", username: "", password: "secret-pw-typed", routes: "" });
    const res = await t.call("POST", "/proxies", { auth: t.cookie, body: form.toString(), headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(400);
    expect(res.body).toContain("Unsupported proxy scheme");
    expect(res.body).not.toContain("secret-pw-typed");
    expect(listProxies(t.deps.db).some((p) => p.name === "ui-bad")).toBe(false);
    const ok = new URLSearchParams({ name: "ui-ok", url: "socks5://h.example:1080", username: "dora", password: PW, routes: "*.lan.example -> direct" });
    const created = await t.call("POST", "/proxies", { auth: t.cookie, body: ok.toString(), headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(created.status).toBe(303);
    expect((await call("GET", "/api/v1/proxies/ui-ok")).body).toMatchObject({ username: "dora", hasPassword: true, routes: [{ domains: ["*.lan.example"], via: "direct" }] });
  });

  test("no response so far contained a password", () => {
    expect(everything.length).toBeGreaterThan(30);
    for (const text of everything) expect(text).not.toContain(PW);
  });
});

describe("log redaction", () => {
  test("proxy URLs with credentials and Basic/Bearer values are redacted", () => {
    expect(redact(`connect socks5://bob:${PW}@h:1080 failed`)).toBe("connect socks5://bob:[redacted]@h:1080 failed");
    expect(redact(`Proxy-Authorization: Basic ${btoa(`a:${PW}`)}`)).not.toContain(btoa(`a:${PW}`));
    const lines: string[] = [];
    const { setLogSink } = require("../../lib/logger") as typeof import("../../lib/logger");
    setLogSink((l) => lines.push(l));
    log.warn("upstream", { password: PW, "proxy-authorization": `Basic x`, url: `http://u:${PW}@h:1` });
    setLogSink((l) => process.stdout.write(l + "\n"));
    expect(lines.join("\n")).not.toContain(PW);
  });
});
