// The audit log records who did what, when and from where; only admins read it.
import { describe, expect, test } from "bun:test";
import { makeTestApp, PASSWORDS } from "../../../test/helpers/app";
import { audit } from "./audit.service";

describe("audit log", () => {
  test("sign-ins, failures, password changes, user and key changes, logouts are recorded", async () => {
    const t = await makeTestApp();
    await t.call("POST", "/api/v1/auth/login", { body: { email: "member@example.com", password: "wrong-password-x" } });
    const login = await t.call("POST", "/api/v1/auth/login", { body: { email: "member@example.com", password: PASSWORDS.member } });
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    await t.call("POST", "/api/v1/auth/password", { auth: cookie, body: { currentPassword: PASSWORDS.member, newPassword: "member-new-password-1" } });
    const key = (await t.call("POST", "/api/v1/api-keys", { auth: cookie, body: { name: "script" } })).body;
    await t.call("DELETE", `/api/v1/api-keys/${key.id}`, { auth: cookie });
    const user = (await t.call("POST", "/api/v1/users", { auth: t.adminKey, body: { email: "n@example.com", password: "another-long-password", role: "viewer" } })).body;
    await t.call("PATCH", `/api/v1/users/${user.id}`, { auth: t.adminKey, body: { role: "member" } });
    await t.call("DELETE", `/api/v1/users/${user.id}`, { auth: t.adminKey });
    await t.call("POST", "/api/v1/auth/logout", { auth: cookie });

    const r = await t.call("GET", "/api/v1/audit?limit=50", { auth: t.cookie });
    expect(r.status).toBe(200);
    const actions = r.body.items.map((e: { action: string }) => e.action).reverse();
    expect(actions).toEqual([
      "auth.login_failed",
      "auth.login",
      "auth.password_changed",
      "api_key.created",
      "api_key.revoked",
      "user.created",
      "user.updated",
      "user.deleted",
      "auth.logout",
    ]);
    const failed = r.body.items.find((e: { action: string }) => e.action === "auth.login_failed");
    expect(failed).toMatchObject({ actorType: "anonymous", target: t.users.member.id, ip: "unknown", detail: { email: "member@example.com" } });
    const created = r.body.items.find((e: { action: string }) => e.action === "user.created");
    expect(created).toMatchObject({ actorType: "api_key", actorId: t.adminKey.split("_")[1] });
    expect(JSON.stringify(r.body)).not.toMatch(/password-x|member-new-password|another-long-password/);
  });

  test("pages by cursor, newest first; other modules can record", async () => {
    const t = await makeTestApp();
    for (let i = 0; i < 5; i++) audit(t.deps, { type: "system" }, "pool.updated", `pool_${i}`, { i }, null);
    const p1 = await t.call("GET", "/api/v1/audit?limit=2", { auth: t.adminKey });
    expect(p1.body.items.map((e: { target: string }) => e.target)).toEqual(["pool_4", "pool_3"]);
    const p2 = await t.call("GET", `/api/v1/audit?limit=2&cursor=${p1.body.nextCursor}`, { auth: t.adminKey });
    expect(p2.body.items.map((e: { target: string }) => e.target)).toEqual(["pool_2", "pool_1"]);
    const p3 = await t.call("GET", `/api/v1/audit?limit=2&cursor=${p2.body.nextCursor}`, { auth: t.adminKey });
    expect(p3.body.nextCursor).toBeNull();
    expect((await t.call("GET", "/api/v1/audit?limit=500", { auth: t.adminKey })).status).toBe(400);
    expect((await t.call("GET", "/api/v1/audit?cursor=abc", { auth: t.adminKey })).status).toBe(400);
  });

  test("only admins read it", async () => {
    const t = await makeTestApp();
    expect((await t.call("GET", "/api/v1/audit", { auth: t.memberKey })).status).toBe(403);
    expect((await t.call("GET", "/api/v1/audit", { auth: t.viewerKey })).status).toBe(403);
  });
});
