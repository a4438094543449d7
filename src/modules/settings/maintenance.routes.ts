// /api/v1/maintenance — the maintenance switch and scheduled windows.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { strictObject } from "../../http/strict-object";
import { audit } from "../audit/audit.service";
import { activeMaintenance, getMaintenance, setMaintenance } from "./maintenance.service";

const Window = strictObject({
  start: t.String({ maxLength: 40, description: "ISO 8601, e.g. 2030-01-31T22:00:00Z" }),
  end: t.String({ maxLength: 40 }),
  message: t.Optional(t.String({ maxLength: 500 })),
});

const MaintenanceResponse = t.Object({
  enabled: t.Boolean(),
  message: t.String(),
  windows: t.Array(t.Object({ start: t.String(), end: t.String(), message: t.Optional(t.String()) })),
  active: t.Nullable(t.Object({ message: t.String(), until: t.Nullable(t.String()) })),
});

export function maintenanceRoutes(deps: AppDeps) {
  const view = () => ({ ...getMaintenance(deps.db), active: activeMaintenance(deps.db) });
  return new Elysia({ name: "maintenance", prefix: "/api/v1/maintenance" })
    .use(authMacro)
    .get("/", view, { auth: "viewer", response: MaintenanceResponse, detail: { tags: ["maintenance"], summary: "Maintenance switch, windows and whether one is active now" } })
    .put(
      "/",
      (ctx) => {
        setMaintenance(deps.db, ctx.body);
        audit(deps, ctx.actor, "maintenance.updated", null, { ...ctx.body }, requestIp(ctx));
        return view();
      },
      {
        auth: "admin",
        body: strictObject({
          enabled: t.Optional(t.Boolean({ description: "On now, until switched off" })),
          message: t.Optional(t.String({ minLength: 1, maxLength: 500, description: "Shown to clients refused with 503" })),
          windows: t.Optional(t.Array(Window, { maxItems: 50, description: "Scheduled windows; replaces the list" })),
        }),
        response: MaintenanceResponse,
        detail: {
          tags: ["maintenance"],
          summary: "Switch maintenance mode or schedule windows",
          description: "While active, new sessions get 503 with the message, running sessions finish and /readyz reports not ready.",
        },
      },
    );
}
