// GET /api/v1/audit — the audit log for admins, newest first, paged by cursor.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import { authMacro } from "../../http/plugins/auth";
import { listAudit } from "./audit.service";

const AuditEntrySchema = t.Object({
  id: t.Number(),
  at: t.String({ format: "date-time" }),
  actorType: t.String(),
  actorId: t.Union([t.String(), t.Null()]),
  action: t.String(),
  target: t.Union([t.String(), t.Null()]),
  ip: t.Union([t.String(), t.Null()]),
  detail: t.Union([t.Record(t.String(), t.Unknown()), t.Null()]),
});

export function auditRoutes(deps: AppDeps) {
  return new Elysia({ name: "audit" }).use(authMacro).get(
    "/api/v1/audit",
    ({ query }) => listAudit(deps, { limit: query.limit ?? 50, cursor: query.cursor !== undefined ? Number(query.cursor) : undefined }),
    {
      auth: "admin",
      query: t.Object(
        {
          limit: t.Optional(t.Integer({ minimum: 1, maximum: 200 })),
          cursor: t.Optional(t.String({ pattern: "^[0-9]{1,15}$", description: "nextCursor of the previous page" })),
        },
        { additionalProperties: false },
      ),
      response: t.Object({ items: t.Array(AuditEntrySchema), nextCursor: t.Union([t.String(), t.Null()]) }),
      detail: { tags: ["audit"], summary: "Read the audit log (admin): sign-ins, user and key changes, and more" },
    },
  );
}
