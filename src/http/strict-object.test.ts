// oneOf() accepts only its values and, unlike t.UnionEnum, never invents a missing field.
import { expect, test } from "bun:test";
import { Elysia, t } from "elysia";
import { oneOf, strictObject } from "./strict-object";
import { makeTestApp, ORIGIN } from "../../test/helpers/app";

test("a missing optional oneOf field stays missing; other values are refused", async () => {
  const app = new Elysia().post("/x", ({ body }) => body, { body: strictObject({ role: t.Optional(t.String()), disabled: t.Optional(oneOf(["true", "false"])) }) });
  const post = (body: unknown) => app.handle(new Request("http://localhost/x", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));
  expect(await (await post({ role: "viewer" })).json()).toEqual({ role: "viewer" });
  expect((await post({ disabled: "maybe" })).status).toBe(422);
});

test("changing a user's role in the UI leaves the account enabled", async () => {
  const t0 = await makeTestApp();
  const res = await t0.app.handle(
    new Request(`http://localhost/users/${t0.users.member.id}`, {
      method: "POST",
      headers: { cookie: t0.cookie, origin: ORIGIN, "content-type": "application/x-www-form-urlencoded" },
      body: "role=viewer",
    }),
  );
  expect(res.status).toBe(303);
  const users = await t0.call("GET", "/api/v1/users", { auth: t0.adminKey });
  const member = (users.body.items as { id: string }[]).find((u) => u.id === t0.users.member.id);
  expect(member).toMatchObject({ role: "viewer", disabled: false });
});
