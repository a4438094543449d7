// DNS rebinding: a page on evil.example whose name is re-pointed at this server reaches it as
// same-origin, with Host: evil.example. Such requests are refused before any route runs, and
// Origin == Host is no proof of our own origin unless that host is one of ours.
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTestApp, PASSWORDS } from "../../../test/helpers/app";
import { loadConfig } from "../../config";
import { requestOrigin } from "./csrf";
import { isAllowedHost } from "../../security/host-allow-list";

const PUBLIC = "https://grid.example.com";
const setupForm = (host: string) =>
  new Request(`http://${host}/setup`, {
    method: "POST",
    headers: { host, origin: `http://${host}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ email: "attacker@evil.example", password: PASSWORDS.admin, confirm: PASSWORDS.admin }).toString(),
  });

describe("Host allow-list", () => {
  test("a rebinding page cannot run first-run setup: 421, no account", async () => {
    const t = await makeTestApp({ withUsers: false, env: { BROWSERGRID_PUBLIC_URL: PUBLIC } });
    const res = await t.app.handle(setupForm("evil.example"));
    expect(res.status).toBe(421);
    expect((await res.json()).error.message).toMatch(/evil\.example.*BROWSERGRID_PUBLIC_URL/);
    expect(t.deps.db.$client.query("SELECT count(*) AS n FROM users").get()).toEqual({ n: 0 });
  });

  test("UI pages and cookie API calls under a foreign Host are refused; ours and loopback names pass", async () => {
    const t = await makeTestApp({ env: { BROWSERGRID_PUBLIC_URL: PUBLIC } });
    const get = (host: string, path = "/api/v1/auth/me") => t.app.handle(new Request(`http://${host}${path}`, { headers: { host, cookie: t.cookie } }));
    for (const host of ["evil.example", "evil.example:7070", "grid.example.com.evil.example", "localhost.evil.example", "127.0.0.1.nip.io"]) {
      expect((await get(host)).status).toBe(421);
      expect((await get(host, "/sessions")).status).toBe(421);
      expect((await get(host, "/login")).status).toBe(421);
    }
    for (const host of ["grid.example.com", "GRID.example.com:443", "localhost:7070", "127.0.0.1:7070", "[::1]:7070", "localhost"]) expect((await get(host)).status).toBe(200);
  });

  test("malformed Host headers are refused", () => {
    const config = loadConfig({ BROWSERGRID_DATA_DIR: mkdtempSync(join(tmpdir(), "bg-")), BROWSERGRID_PUBLIC_URL: PUBLIC });
    for (const host of ["", "evil@localhost", "localhost/x", "local host", "localhost:", "localhost:99999", "[::1", "localhost.", "localhost\t"]) expect(isAllowedHost(host, config)).toBe(false);
  });

  test("a made-up Bearer header does not carry a foreign Host past the guard", async () => {
    const t = await makeTestApp({ withUsers: false, env: { BROWSERGRID_PUBLIC_URL: PUBLIC } });
    const req = setupForm("evil.example");
    req.headers.set("authorization", "Bearer bg_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    expect((await t.app.handle(req)).status).toBe(401);
    expect(t.deps.db.$client.query("SELECT count(*) AS n FROM users").get()).toEqual({ n: 0 });
  });

  test("health probes and bearer-authenticated calls answer under any Host", async () => {
    const t = await makeTestApp({ env: { BROWSERGRID_PUBLIC_URL: PUBLIC } });
    expect((await t.app.handle(new Request("http://172.17.0.1:7070/healthz", { headers: { host: "172.17.0.1:7070" } }))).status).toBe(200);
    const keyed = await t.app.handle(new Request("http://172.17.0.1:7070/api/v1/auth/me", { headers: { host: "172.17.0.1:7070", authorization: `Bearer ${t.adminKey}` } }));
    expect(keyed.status).toBe(200);
  });

  test("the listening address and BROWSERGRID_ALLOWED_HOSTS are ours too", async () => {
    const t = await makeTestApp({ env: { BROWSERGRID_PUBLIC_URL: PUBLIC, BROWSERGRID_HOST: "10.1.2.3", BROWSERGRID_ALLOWED_HOSTS: "grid.internal, 192.168.5.5" } });
    for (const host of ["10.1.2.3:7070", "grid.internal", "192.168.5.5:7070"]) expect((await t.app.handle(new Request(`http://${host}/api/v1/auth/me`, { headers: { host, cookie: t.cookie } }))).status).toBe(200);
    expect(() => loadConfig({ BROWSERGRID_DATA_DIR: mkdtempSync(join(tmpdir(), "bg-")), BROWSERGRID_ALLOWED_HOSTS: "http://x.example/" })).toThrow(/BROWSERGRID_ALLOWED_HOSTS/);
  });
});

describe("Origin", () => {
  const config = loadConfig({ BROWSERGRID_DATA_DIR: mkdtempSync(join(tmpdir(), "bg-")), BROWSERGRID_PUBLIC_URL: PUBLIC });
  const post = (host: string, origin: string) => new Request(`http://${host}/x`, { method: "POST", headers: { host, origin } });

  test("Origin equal to a foreign Host is cross-origin", () => {
    expect(requestOrigin(post("evil.example", "http://evil.example"), config)).toBe("cross-origin");
    expect(requestOrigin(post("evil.example:7070", "http://evil.example:7070"), config)).toBe("cross-origin");
  });

  test("the public origin and a loopback origin naming the request's own host are ours; another local port is not", () => {
    expect(requestOrigin(post("grid.example.com", PUBLIC), config)).toBe("same-origin");
    expect(requestOrigin(post("127.0.0.1:7070", "http://127.0.0.1:7070"), config)).toBe("same-origin");
    expect(requestOrigin(post("localhost:7070", "http://localhost:7070"), config)).toBe("same-origin");
    expect(requestOrigin(post("localhost:7070", "http://localhost:3000"), config)).toBe("cross-origin");
    expect(requestOrigin(post("grid.example.com", "http://grid.example.com"), config)).toBe("cross-origin");
    expect(requestOrigin(post("localhost:7070", "file://"), config)).toBe("cross-origin");
  });
});

describe("behind a real socket", () => {
  test("Host is what the client sent: a foreign name gets 421 and no account, loopback and the public host pass", async () => {
    const { listen } = await import("../server");
    const t = await makeTestApp({ withUsers: false, env: { BROWSERGRID_PUBLIC_URL: PUBLIC } });
    const server = listen({ host: "127.0.0.1", port: 0, app: t.app as never });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const post = (host: string) =>
        fetch(`${base}/setup`, {
          method: "POST",
          redirect: "manual",
          headers: { host, origin: `http://${host}`, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ email: "attacker@evil.example", password: PASSWORDS.admin, confirm: PASSWORDS.admin }).toString(),
        });
      const evil = await post("evil.example");
      expect(evil.status).toBe(421);
      expect((await evil.json()).error.code).toBe("misdirected_request");
      expect((await post(`localhost:${server.port}`)).status).toBe(403); // ours, but no setup token
      expect(t.deps.db.$client.query("SELECT count(*) AS n FROM users").get()).toEqual({ n: 0 });
      expect((await fetch(`${base}/login`, { redirect: "manual", headers: { host: "grid.example.com" } })).status).toBe(303);
      expect((await fetch(`${base}/healthz`, { headers: { host: "evil.example" } })).status).toBe(200);
    } finally {
      server.stop(true);
    }
  });
});
