// Users: admins manage them, nobody else can; the last admin is protected; bad input stores nothing.
import { describe, expect, test } from "bun:test";
import { makeTestApp, PASSWORDS } from "../../../test/helpers/app";

const count = (t: Awaited<ReturnType<typeof makeTestApp>>) => (t.deps.db.$client.query("SELECT count(*) AS n FROM users").get() as { n: number }).n;

describe("users API", () => {
  test("admin creates, lists, updates and deletes users", async () => {
    const t = await makeTestApp();
    const created = await t.call("POST", "/api/v1/users", { auth: t.adminKey, body: { email: "New@Example.com", password: "a-long-enough-password", role: "member" } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: "new@example.com", role: "member", disabled: false });
    expect(Object.keys(created.body).sort()).toEqual(["createdAt", "disabled", "email", "id", "role", "updatedAt"]);
    const list = await t.call("GET", "/api/v1/users", { auth: t.cookie });
    expect(list.body.items.map((u: { email: string }) => u.email)).toContain("new@example.com");
    const patched = await t.call("PATCH", `/api/v1/users/${created.body.id}`, { auth: t.adminKey, body: { role: "viewer" } });
    expect(patched.body.role).toBe("viewer");
    expect((await t.call("POST", "/api/v1/users", { auth: t.adminKey, body: { email: "new@example.com", password: "a-long-enough-password", role: "member" } })).status).toBe(409);
    expect((await t.call("DELETE", `/api/v1/users/${created.body.id}`, { auth: t.adminKey })).status).toBe(204);
    expect((await t.call("DELETE", `/api/v1/users/${created.body.id}`, { auth: t.adminKey })).status).toBe(404);
  });

  test("members and viewers cannot manage users", async () => {
    const t = await makeTestApp();
    for (const key of [t.memberKey, t.viewerKey]) {
      expect((await t.call("GET", "/api/v1/users", { auth: key })).status).toBe(403);
      expect((await t.call("POST", "/api/v1/users", { auth: key, body: { email: "x@example.com", password: "a-long-enough-password", role: "admin" } })).status).toBe(403);
      expect((await t.call("PATCH", `/api/v1/users/${t.users.member.id}`, { auth: key, body: { role: "admin" } })).status).toBe(403);
      expect((await t.call("DELETE", `/api/v1/users/${t.users.admin.id}`, { auth: key })).status).toBe(403);
    }
    expect(count(t)).toBe(3);
    expect(t.deps.db.$client.query("SELECT role FROM users WHERE id = ?").get(t.users.member.id)).toEqual({ role: "member" });
  });

  test("the last enabled admin cannot be deleted, demoted or disabled", async () => {
    const t = await makeTestApp();
    const id = t.users.admin.id;
    for (const [method, body] of [["DELETE", undefined], ["PATCH", { role: "member" }], ["PATCH", { disabled: true }]] as const) {
      const r = await t.call(method, `/api/v1/users/${id}`, { auth: t.adminKey, body });
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe("last_admin");
    }
    await t.call("PATCH", `/api/v1/users/${t.users.member.id}`, { auth: t.adminKey, body: { role: "admin" } });
    expect((await t.call("PATCH", `/api/v1/users/${id}`, { auth: t.adminKey, body: { role: "viewer" } })).status).toBe(200);
  });

  test("disabling a user stops their sessions and keys at once", async () => {
    const t = await makeTestApp();
    const login = await t.call("POST", "/api/v1/auth/login", { body: { email: "member@example.com", password: PASSWORDS.member } });
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    expect((await t.call("GET", "/api/v1/auth/me", { auth: t.memberKey })).status).toBe(200);
    await t.call("PATCH", `/api/v1/users/${t.users.member.id}`, { auth: t.adminKey, body: { disabled: true } });
    expect((await t.call("GET", "/api/v1/auth/me", { auth: t.memberKey })).status).toBe(401);
    expect((await t.call("GET", "/api/v1/auth/me", { auth: cookie })).status).toBe(401);
    expect((await t.call("POST", "/api/v1/auth/login", { body: { email: "member@example.com", password: PASSWORDS.member } })).status).toBe(401);
  });

  test("a demoted owner's keys lose the role at once", async () => {
    const t = await makeTestApp();
    await t.call("PATCH", `/api/v1/users/${t.users.member.id}`, { auth: t.adminKey, body: { role: "viewer" } });
    expect((await t.call("GET", "/api/v1/auth/me", { auth: t.memberKey })).body.role).toBe("viewer");
  });

  describe("bad input: clear 4xx in the error shape, nothing stored", () => {
    const cases: [string, unknown][] = [
      ["over-long email", { email: `${"a".repeat(250)}@example.com`, password: "a-long-enough-password", role: "member" }],
      ["not an email", { email: "nobody", password: "a-long-enough-password", role: "member" }],
      ["over-long password", { email: "x@example.com", password: "p".repeat(257), role: "member" }],
      ["short password", { email: "x@example.com", password: "short", role: "member" }],
      ["email as password", { email: "longer.name@example.com", password: "longer.name@example.com", role: "member" }],
      ["unknown field", { email: "x@example.com", password: "a-long-enough-password", role: "member", isAdmin: true }],
      ["unknown role", { email: "x@example.com", password: "a-long-enough-password", role: "root" }],
      ["missing role", { email: "x@example.com", password: "a-long-enough-password" }],
      ["not JSON", "{email:"],
    ];
    for (const [name, body] of cases)
      test(name, async () => {
        const t = await makeTestApp();
        const r = await t.call("POST", "/api/v1/users", { auth: t.adminKey, body });
        expect(r.status).toBe(400);
        expect(typeof r.body.error.code).toBe("string");
        expect(r.body.error.message.length).toBeGreaterThan(5);
        expect(count(t)).toBe(3);
      });

    test("PATCH with nothing to change or an unknown field", async () => {
      const t = await makeTestApp();
      expect((await t.call("PATCH", `/api/v1/users/${t.users.member.id}`, { auth: t.adminKey, body: {} })).status).toBe(400);
      const r = await t.call("PATCH", `/api/v1/users/${t.users.member.id}`, { auth: t.adminKey, body: { email: "a@b.c" } });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain("email");
    });
  });
});
