// A copy of the database must not let anyone sign in: dump every table and row the way
// `sqlite3 .dump` would, and look for every secret that went through the app.
import { expect, test } from "bun:test";
import { makeTestApp, PASSWORDS } from "../../../test/helpers/app";
import { ensureSetupToken } from "./setup-token";

test("a full database dump holds no password, session token or API key in clear", async () => {
  const t = await makeTestApp({ withUsers: false });
  const secrets: string[] = [];
  const setupPw = "setup-admin-password-1";
  const setupToken = ensureSetupToken(t.deps.config).token;
  const setup = await t.app.handle(
    new Request("http://localhost/setup", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://localhost" },
      body: new URLSearchParams({ email: "root@example.com", password: setupPw, confirm: setupPw, token: setupToken }).toString(),
    }),
  );
  const cookie = setup.headers.get("set-cookie")!.split(";")[0]!;
  secrets.push(setupPw, setupToken, cookie.slice("bg_session=".length));
  const member = await t.call("POST", "/api/v1/users", { auth: cookie, body: { email: "m@example.com", password: PASSWORDS.member, role: "member" } });
  expect(member.status).toBe(201);
  secrets.push(PASSWORDS.member);
  const login = await t.call("POST", "/api/v1/auth/login", { body: { email: "m@example.com", password: PASSWORDS.member } });
  const memberCookie = login.headers.get("set-cookie")!.split(";")[0]!;
  secrets.push(memberCookie.slice("bg_session=".length));
  const key = (await t.call("POST", "/api/v1/api-keys", { auth: memberCookie, body: { name: "k" } })).body.key as string;
  secrets.push(key, key.split("_")[2]!);
  await t.call("GET", "/api/v1/auth/me", { auth: key });
  await t.call("POST", "/api/v1/auth/password", { auth: memberCookie, body: { currentPassword: PASSWORDS.member, newPassword: "changed-member-password" } });
  secrets.push("changed-member-password");
  await t.call("POST", "/api/v1/auth/login", { body: { email: "m@example.com", password: "a-wrong-guess-password" } });
  secrets.push("a-wrong-guess-password");

  const db = t.deps.db.$client;
  const tables = db.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table'").all();
  expect(tables.map((x) => x.name)).toContain("auth_sessions");
  let dump = "";
  for (const { name } of tables) for (const row of db.query(`SELECT * FROM "${name}"`).all()) dump += `${name} ${JSON.stringify(row)}\n`;
  expect(dump).toContain("root@example.com");
  expect(dump).toContain("$argon2id$v=19$m=19456,t=2,p=1$");
  for (const s of secrets) expect(dump.includes(s) ? `leaked: ${s.slice(0, 6)}…` : "ok").toBe("ok");
});
