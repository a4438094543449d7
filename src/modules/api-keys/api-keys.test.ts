// API keys: shape, roles, revocation, expiry, last use; and what a viewer key may not do.
import { describe, expect, test } from "bun:test";
import { makeTestApp, type TestApp } from "../../../test/helpers/app";
import { authenticateApiKey } from "../../http/plugins/auth";

const MIN = 60_000;

describe("API keys", () => {
  test("create shows the key once; list shows name, prefix, times and role, never the key", async () => {
    const t = await makeTestApp();
    const r = await t.call("POST", "/api/v1/api-keys", { auth: t.memberKey, body: { name: "ci", expiresAt: new Date(Date.now() + 86_400_000).toISOString() } });
    expect(r.status).toBe(201);
    expect(Object.keys(r.body).sort()).toEqual(["createdAt", "expiresAt", "id", "key", "name", "prefix", "role"]);
    expect(r.body.key).toMatch(/^bg_[a-z0-9]{12}_[A-Za-z0-9]{43}$/);
    expect(r.body.key).toMatch(/^bg_[A-Za-z0-9]{8,32}_[A-Za-z0-9]{16,128}$/); // the static-key rule of config.ts
    expect(r.body.key.startsWith(r.body.prefix)).toBe(true);
    expect(r.body.role).toBe("member");
    const list = await t.call("GET", "/api/v1/api-keys", { auth: r.body.key });
    expect(list.body.items.map((k: { name: string }) => k.name).sort()).toEqual(["ci", "member key"]);
    expect(JSON.stringify(list.body)).not.toContain(r.body.key.slice(16));
    const ci = list.body.items.find((k: { name: string }) => k.name === "ci");
    expect(ci).toMatchObject({ id: r.body.id, prefix: r.body.prefix, role: "member", expiresAt: r.body.expiresAt });
    expect(ci.lastUsedAt).not.toBeNull();
  });

  test("a key acts with a lower role chosen at creation; a member cannot mint an admin key", async () => {
    const t = await makeTestApp();
    const denied = await t.call("POST", "/api/v1/api-keys", { auth: t.memberKey, body: { name: "escalate", role: "admin" } });
    expect(denied.status).toBe(403);
    const viewer = await t.call("POST", "/api/v1/api-keys", { auth: t.adminKey, body: { name: "read-only", role: "viewer" } });
    expect((await t.call("GET", "/api/v1/auth/me", { auth: viewer.body.key })).body.role).toBe("viewer");
    expect((await t.call("GET", "/api/v1/users", { auth: viewer.body.key })).status).toBe(403);
  });

  test("revocation is immediate despite the cache", async () => {
    const t = await makeTestApp();
    const k = (await t.call("POST", "/api/v1/api-keys", { auth: t.memberKey, body: { name: "temp" } })).body;
    expect((await t.call("GET", "/api/v1/auth/me", { auth: k.key })).status).toBe(200);
    expect((await t.call("DELETE", `/api/v1/api-keys/${k.id}`, { auth: t.memberKey })).status).toBe(204);
    expect((await t.call("GET", "/api/v1/auth/me", { auth: k.key })).status).toBe(401);
    expect((await t.call("DELETE", `/api/v1/api-keys/${k.id}`, { auth: t.memberKey })).status).toBe(404);
  });

  test("members revoke only their own keys; admins any; ?all=true is for admins", async () => {
    const t = await makeTestApp();
    const adminKeyId = t.adminKey.split("_")[1]!;
    expect((await t.call("DELETE", `/api/v1/api-keys/${adminKeyId}`, { auth: t.memberKey })).status).toBe(404);
    expect((await t.call("GET", "/api/v1/api-keys?all=true", { auth: t.memberKey })).status).toBe(403);
    expect((await t.call("GET", "/api/v1/api-keys?all=true", { auth: t.adminKey })).body.items).toHaveLength(3);
    const memberKeyId = t.memberKey.split("_")[1]!;
    expect((await t.call("DELETE", `/api/v1/api-keys/${memberKeyId}`, { auth: t.adminKey })).status).toBe(204);
    expect((await t.call("GET", "/api/v1/auth/me", { auth: t.memberKey })).status).toBe(401);
  });

  test("expired keys stop working", async () => {
    const t = await makeTestApp();
    const k = (await t.call("POST", "/api/v1/api-keys", { auth: t.adminKey, body: { name: "short", expiresAt: new Date(Date.now() + 10 * MIN).toISOString() } })).body;
    expect((await t.call("GET", "/api/v1/auth/me", { auth: k.key })).status).toBe(200);
    t.advance(11 * MIN);
    expect((await t.call("GET", "/api/v1/auth/me", { auth: k.key })).status).toBe(401);
    expect((await t.call("POST", "/api/v1/api-keys", { auth: t.adminKey, body: { name: "past", expiresAt: "2001-01-01T00:00:00Z" } })).status).toBe(400);
    expect((await t.call("POST", "/api/v1/api-keys", { auth: t.adminKey, body: { name: "junk", expiresAt: "tomorrow" } })).status).toBe(400);
  });

  test("last_used_at is written at most once a minute", async () => {
    const t = await makeTestApp();
    const id = t.viewerKey.split("_")[1]!;
    const used = () => (t.deps.db.$client.query("SELECT last_used_at AS u FROM api_keys WHERE id = ?").get(id) as { u: number | null }).u;
    await t.call("GET", "/api/v1/auth/me", { auth: t.viewerKey });
    const first = used();
    expect(first).not.toBeNull();
    t.advance(10_000);
    await t.call("GET", "/api/v1/auth/me", { auth: t.viewerKey });
    expect(used()).toBe(first);
    t.advance(MIN);
    await t.call("GET", "/api/v1/auth/me", { auth: t.viewerKey });
    expect(used()).toBe(first! + 70_000);
  });

  test("static keys from BROWSERGRID_API_KEYS act as admin; the gateway helper verifies keys", async () => {
    const staticKey = `bg_staticadmin_${"S".repeat(40)}`;
    const t = await makeTestApp({ env: { BROWSERGRID_API_KEYS: staticKey } });
    const me = await t.call("GET", "/api/v1/auth/me", { auth: staticKey });
    expect(me.body).toMatchObject({ type: "static_key", role: "admin", user: null });
    expect((await t.call("GET", "/api/v1/users", { auth: staticKey })).status).toBe(200);
    expect((await t.call("GET", "/api/v1/auth/me", { auth: staticKey.slice(0, -1) + "T" })).status).toBe(401);
    expect(await authenticateApiKey(t.deps, t.memberKey)).toMatchObject({ type: "api_key", role: "member", via: "query" });
    expect(await authenticateApiKey(t.deps, "bg_nope")).toBeNull();
  });

  test("bad input: over-long name, unknown field, bad id", async () => {
    const t = await makeTestApp();
    const before = t.deps.db.$client.query("SELECT count(*) AS n FROM api_keys").get();
    for (const body of [{ name: "n".repeat(101) }, { name: "" }, { name: "ok", scopes: ["*"] }, { name: "ok", role: "root" }]) {
      const r = await t.call("POST", "/api/v1/api-keys", { auth: t.adminKey, body });
      expect(`${JSON.stringify(body).slice(0, 30)} ${r.status}`).toBe(`${JSON.stringify(body).slice(0, 30)} 400`);
      expect(r.body.error.code).toBeString();
    }
    expect(t.deps.db.$client.query("SELECT count(*) AS n FROM api_keys").get()).toEqual(before);
    expect((await t.call("DELETE", "/api/v1/api-keys/..%2F..", { auth: t.adminKey })).status).toBe(400);
  });
});

describe("a viewer key cannot create, change or delete anything", () => {
  // Acting on one's own sign-in is not changing the grid.
  const ALLOWED = new Set(["POST /api/v1/auth/logout", "POST /api/v1/auth/password", "POST /api/v1/auth/login"]);

  test("every state-changing API route answers 403 to a viewer key", async () => {
    const t: TestApp = await makeTestApp();
    const writes = t.app.routes.filter((r) => r.path.startsWith("/api/") && !["GET", "HEAD"].includes(r.method) && !ALLOWED.has(`${r.method} ${r.path}`));
    expect(writes.length).toBeGreaterThan(5);
    const before = JSON.stringify(t.deps.db.$client.query("SELECT (SELECT count(*) FROM users) u, (SELECT count(*) FROM api_keys WHERE revoked_at IS NULL) k").get());
    for (const r of writes) {
      const path = r.path.replace(/:[A-Za-z0-9_]+/g, r.path.startsWith("/api/v1/users") ? t.users.member.id : t.memberKey.split("_")[1]!);
      const res = await t.call(r.method, path, { auth: t.viewerKey, body: {} });
      expect(`${r.method} ${r.path} → ${res.status}`).toBe(`${r.method} ${r.path} → 403`);
    }
    expect(JSON.stringify(t.deps.db.$client.query("SELECT (SELECT count(*) FROM users) u, (SELECT count(*) FROM api_keys WHERE revoked_at IS NULL) k").get())).toBe(before);
  });
});
