// Default-deny, proven over every route the production app registers: routes added later by
// other modules are covered without touching this file. Public routes are listed here
// explicitly, so making a route public is a visible change to a test.
import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { makeTestApp, type TestApp } from "../../../test/helpers/app";
import { PUBLIC_ROUTES } from "./auth";

const PUBLIC = new Set([
  "GET /healthz",
  "GET /readyz",
  "GET /assets/:name",
  "GET /setup",
  "POST /setup",
  "GET /login",
  "POST /login",
  "POST /api/v1/auth/login",
  // OpenAPI describes the product, not this install's data: public on purpose.
  "GET /api/openapi.json",
  "GET /api/docs",
  // Live-view links: public, but each refuses a missing or bad signature (tested below).
  "GET /live/:id",
  "GET /live/:id/stream",
  "POST /live/:id/input",
]);

function routesOf(t: TestApp) {
  return t.app.routes
    .map((r) => ({ method: r.method === "WS" || r.method === "ALL" ? "GET" : r.method, path: r.path }))
    .filter((r) => !PUBLIC.has(`${r.method} ${r.path}`));
}

function concrete(path: string): string {
  return path.replace(/:[A-Za-z0-9_]+\??/g, "x1").replace(/\*/g, "x1");
}

async function probe(t: TestApp, method: string, path: string, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { ...headers } };
  if (!["GET", "HEAD"].includes(method)) {
    init.body = "{}";
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  return t.app.handle(new Request(`http://localhost${concrete(path)}`, init));
}

describe("every registered route refuses anonymous callers", () => {
  test("the public list in the plugin is exactly the one reviewed here", () => {
    expect([...PUBLIC_ROUTES].sort()).toEqual([...PUBLIC].sort());
  });

  for (const withUsers of [true, false]) {
    test(withUsers ? "API → 401 JSON, UI → /login" : "fresh install: API → 401, UI → /setup", async () => {
      const t = await makeTestApp({ withUsers });
      const routes = routesOf(t);
      expect(routes.length).toBeGreaterThan(10);
      for (const r of routes) {
        const res = await probe(t, r.method, r.path);
        const label = `${r.method} ${r.path} → ${res.status}`;
        if (r.path.startsWith("/api/")) {
          expect(label).toBe(`${r.method} ${r.path} → 401`);
          const body = (await res.json()) as { error: { code: string; message: string } };
          expect(body.error.code).toBe("unauthorized");
          expect(typeof body.error.message).toBe("string");
        } else {
          expect(label).toBe(`${r.method} ${r.path} → 303`);
          expect(res.headers.get("location")!).toMatch(withUsers ? /^\/login/ : /^\/setup$/);
        }
      }
    });
  }

  test("a bad credential is refused on every route, never treated as anonymous-but-public", async () => {
    let t = await makeTestApp();
    const routes = routesOf(t).filter((r) => r.path.startsWith("/api/"));
    for (const [i, r] of routes.entries()) {
      // A fresh app every 15 probes: 20 bad keys from one address are rate-limited (tested elsewhere).
      if (i > 0 && i % 15 === 0) t = await makeTestApp({ withUsers: false });
      const res = await probe(t, r.method, r.path, { authorization: "Bearer bg_aaaaaaaaaaaa_" + "A".repeat(43) });
      expect(`${r.method} ${r.path} → ${res.status}`).toBe(`${r.method} ${r.path} → 401`);
    }
  });

  test("public routes answer without credentials", async () => {
    const t = await makeTestApp();
    for (const path of ["/healthz", "/login", "/assets/app.css", "/api/openapi.json"]) {
      const res = await t.app.handle(new Request(`http://localhost${path}`));
      expect(`${path} ${res.status}`).toBe(`${path} 200`);
    }
  });
});

describe("a route that forgets to declare `auth`", () => {
  test("is refused to anonymous callers and to non-admins", async () => {
    const t = await makeTestApp();
    (t.app as unknown as Elysia).use(new Elysia({ name: "forgetful" }).post("/api/v1/forgot", () => ({ ok: true })).get("/forgot", () => "page"));
    expect((await t.call("POST", "/api/v1/forgot")).status).toBe(401);
    expect((await t.call("POST", "/api/v1/forgot", { auth: t.viewerKey })).status).toBe(403);
    expect((await t.call("POST", "/api/v1/forgot", { auth: t.memberKey })).status).toBe(403);
    expect((await t.call("POST", "/api/v1/forgot", { auth: t.adminKey })).status).toBe(200);
    expect((await t.call("GET", "/forgot")).status).toBe(303);
  });
});

describe("malformed credentials", () => {
  const cases: [string, string][] = [
    ["no scheme", "bg_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"],
    ["basic", "Basic YWRtaW46YWRtaW4="],
    ["empty bearer", "Bearer "],
    ["short", "Bearer bg_x_y"],
    ["bad chars", "Bearer bg_aaaaaaaaaaaa_bbbb-bbbb/bbbbbbbbbbbbbbbbbbbb"],
    ["too long", `Bearer bg_aaaaaaaaaaaa_${"b".repeat(5000)}`],
    ["unknown id", `Bearer bg_zzzzzzzzzzzz_${"b".repeat(43)}`],
  ];
  for (const [name, header] of cases)
    test(name, async () => {
      const t = await makeTestApp();
      const r = await t.call("GET", "/api/v1/auth/me", { headers: { authorization: header } });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("unauthorized");
    });

  test("a right id with a wrong secret is refused", async () => {
    const t = await makeTestApp();
    const wrong = t.adminKey.slice(0, -4) + "AAAA";
    expect((await t.call("GET", "/api/v1/auth/me", { auth: wrong })).status).toBe(401);
  });

  test("?token= is only read on WebSocket upgrades", async () => {
    const t = await makeTestApp();
    expect((await t.call("GET", `/api/v1/auth/me?token=${t.adminKey}`)).status).toBe(401);
  });
});
