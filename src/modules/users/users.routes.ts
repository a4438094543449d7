// /api/v1/users — admins manage accounts. The last enabled admin cannot be deleted,
// demoted or disabled (409), so the install can always be administered.
import { Elysia, t } from "elysia";
import { strictObject } from "../../http/strict-object";
import type { AppDeps } from "../../http/context";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { audit } from "../audit/audit.service";
import { createUser, deleteUser, listUsers, toPublicUser, updateUser } from "./users.service";
import { EmailSchema, ErrorSchema, NewPasswordSchema, RoleSchema, UserIdParams, UserSchema } from "./users.schema";

export function userRoutes(deps: AppDeps) {
  return new Elysia({ name: "users", prefix: "/api/v1/users" })
    .use(authMacro)
    .get("/", () => ({ items: listUsers(deps).map(toPublicUser) }), {
      auth: "admin",
      response: t.Object({ items: t.Array(UserSchema) }),
      detail: { tags: ["users"], summary: "List users (admin)" },
    })
    .post(
      "/",
      async (ctx) => {
        const { body, actor, set } = ctx;
        const u = await createUser(deps, body);
        audit(deps, actor, "user.created", u.id, { email: u.email, role: u.role }, requestIp(ctx));
        set.status = 201;
        return toPublicUser(u);
      },
      {
        auth: "admin",
        body: strictObject({ email: EmailSchema, password: NewPasswordSchema, role: RoleSchema }),
        response: { 201: UserSchema, 400: ErrorSchema, 409: ErrorSchema },
        detail: { tags: ["users"], summary: "Create a user (admin)" },
      },
    )
    .patch(
      "/:id",
      async (ctx) => {
        const { params, body, actor } = ctx;
        const u = await updateUser(deps, params.id, body);
        const changed = { ...(body.role ? { role: body.role } : {}), ...(body.disabled !== undefined ? { disabled: body.disabled } : {}), ...(body.password ? { password: "changed" } : {}) };
        audit(deps, actor, "user.updated", u.id, changed, requestIp(ctx));
        return toPublicUser(u);
      },
      {
        auth: "admin",
        params: UserIdParams,
        body: strictObject(
          { role: t.Optional(RoleSchema), disabled: t.Optional(t.Boolean()), password: t.Optional(NewPasswordSchema) },
          { minProperties: 1 },
        ),
        response: { 200: UserSchema, 404: ErrorSchema, 409: ErrorSchema },
        detail: { tags: ["users"], summary: "Change a user's role, disable them or set a new password (admin)", description: "Disabling a user or making them a viewer also ends their running and queued browser sessions (their cdpUrl tokens and live links stop working); a disabled user's API keys stop working too. The answer comes once the sessions have ended." },
      },
    )
    .delete(
      "/:id",
      async (ctx) => {
        const { params, actor, set } = ctx;
        const u = await deleteUser(deps, params.id);
        audit(deps, actor, "user.deleted", u.id, { email: u.email }, requestIp(ctx));
        set.status = 204;
        return null;
      },
      {
        auth: "admin",
        params: UserIdParams,
        detail: {
          tags: ["users"],
          summary: "Delete a user, their sessions and API keys (admin)",
          description: "Their running and queued browser sessions are ended first (clients closed, containers removed): the answer comes once they have ended. 409 for the last enabled admin.",
          responses: { 204: { description: "Deleted" }, 409: { description: "The last enabled admin cannot be deleted." } },
        },
      },
    );
}
