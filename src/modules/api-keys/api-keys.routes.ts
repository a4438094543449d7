// /api/v1/api-keys — create (the full key is in the 201 answer and nowhere else, ever),
// list and revoke. Members manage their own keys; admins may list and revoke everyone's.
import { Elysia, t } from "elysia";
import { strictObject } from "../../http/strict-object";
import type { AppDeps } from "../../http/context";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { BadRequest, Forbidden } from "../../lib/errors";
import { errorFor } from "../../http/errors";
import { audit } from "../audit/audit.service";
import { createApiKey, listApiKeys, revokeApiKey, toPublicApiKey } from "./api-keys.service";
import { ErrorSchema, RoleSchema } from "../users/users.schema";

const ApiKeySchema = t.Object({
  id: t.String(),
  name: t.String(),
  prefix: t.String(),
  role: RoleSchema,
  userId: t.String(),
  createdAt: t.String({ format: "date-time" }),
  lastUsedAt: t.Union([t.String({ format: "date-time" }), t.Null()]),
  expiresAt: t.Union([t.String({ format: "date-time" }), t.Null()]),
});

const CreatedKeySchema = t.Object({
  id: t.String(),
  name: t.String(),
  prefix: t.String(),
  key: t.String({ description: "The full key: shown this once, store it now" }),
  role: RoleSchema,
  createdAt: t.String({ format: "date-time" }),
  expiresAt: t.Union([t.String({ format: "date-time" }), t.Null()]),
});

function parseExpiry(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const ms = Date.parse(raw);
  if (!/^\d{4}-\d{2}-\d{2}/.test(raw) || Number.isNaN(ms)) throw new BadRequest('Field "expiresAt": use an ISO 8601 date-time such as 2030-01-31T00:00:00Z.', "invalid_expiry");
  return ms;
}

export function apiKeyRoutes(deps: AppDeps) {
  return new Elysia({ name: "api-keys", prefix: "/api/v1/api-keys" })
    .use(authMacro)
    .post(
      "/",
      (ctx) => {
        const { body, actor, set } = ctx;
        if (!actor.userId) throw new Forbidden("Static keys cannot own API keys; create keys as a user or with `browsergrid keys create`.");
        const { row, key } = createApiKey(deps, { userId: actor.userId, role: actor.role }, { name: body.name, role: body.role, expiresAt: parseExpiry(body.expiresAt) });
        audit(deps, actor, "api_key.created", row.id, { name: row.name, role: row.role }, requestIp(ctx));
        set.status = 201;
        const k = toPublicApiKey(row);
        return { id: k.id, name: k.name, prefix: k.prefix, key, role: k.role, createdAt: k.createdAt, expiresAt: k.expiresAt };
      },
      {
        auth: "member",
        body: strictObject(
          {
            name: t.String({ minLength: 1, maxLength: 100 }),
            role: t.Optional(RoleSchema),
            expiresAt: t.Optional(t.String({ maxLength: 40, description: "ISO 8601 date-time; omit for a key that does not expire" })),
          },
          {},
        ),
        response: { 201: CreatedKeySchema, 400: ErrorSchema, 403: ErrorSchema },
        detail: { tags: ["api-keys"], summary: "Create an API key (at most your own role); the key is shown only in this answer" },
      },
    )
    .get(
      "/",
      ({ query, actor }) => {
        const all = query.all === "true";
        if (all && actor.role !== "admin") throw new Forbidden("Only admins can list every user's keys.");
        if (!all && !actor.userId) return { items: [] };
        return { items: listApiKeys(deps, all ? undefined : actor.userId!).map(toPublicApiKey) };
      },
      {
        auth: "viewer",
        query: t.Object({ all: t.Optional(t.Union([t.Literal("true"), t.Literal("false")])) }, { additionalProperties: false }),
        response: { 200: t.Object({ items: t.Array(ApiKeySchema) }), 403: errorFor("?all=true is for admins only.") },
        detail: { tags: ["api-keys"], summary: "List your API keys (admins: every user's with ?all=true)" },
      },
    )
    .delete(
      "/:id",
      (ctx) => {
        const { params, actor, set } = ctx;
        const k = revokeApiKey(deps, params.id, actor.role === "admin" ? undefined : (actor.userId ?? ""));
        audit(deps, actor, "api_key.revoked", k.id, { name: k.name }, requestIp(ctx));
        set.status = 204;
        return null;
      },
      {
        auth: "member",
        params: t.Object({ id: t.String({ minLength: 1, maxLength: 32, pattern: "^[A-Za-z0-9]+$" }) }, { additionalProperties: false }),
        detail: { tags: ["api-keys"], summary: "Revoke an API key (yours; admins: any)", responses: { 204: { description: "Revoked" } } },
      },
    );
}
