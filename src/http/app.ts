// The HTTP application: one Elysia instance per feature, composed here in order —
// request plumbing, public routes, then authenticated feature modules; the OpenAPI document
// (openapi/document.ts) is built from all of them.
import { Elysia } from "elysia";
import type { AppDeps } from "./context";
import { requestContext } from "./plugins/request-context";
import { authPlugin } from "./plugins/auth";
import { hostGuard } from "./plugins/host-guard";
import { jsonBodiesOnly } from "./plugins/json-body";
import { authRoutes } from "../modules/auth/auth.routes";
import { authPages } from "../modules/auth/auth.pages";
import { userRoutes } from "../modules/users/users.routes";
import { apiKeyRoutes } from "../modules/api-keys/api-keys.routes";
import { auditRoutes } from "../modules/audit/audit.routes";
import { dashboardPages } from "../modules/dashboard/dashboard.pages";
import { healthRoutes } from "../modules/health/health.routes";
import { assetRoutes } from "../modules/assets/assets.routes";
import { renderApiDocs } from "../modules/docs/docs.html";
import { sessionRoutes } from "../modules/sessions/sessions.routes";
import { poolRoutes } from "../modules/pools/pools.routes";
import { workerRoutes } from "../modules/workers/workers.routes";
import { maintenanceRoutes } from "../modules/settings/maintenance.routes";
import { sessionPages } from "../modules/sessions/sessions.pages";
import { liveRoutes } from "../modules/live/live.routes";
import { profileRoutes } from "../modules/profiles/profiles.routes";
import { artifactRoutes } from "../modules/artifacts/artifacts.routes";
import { apiKeyPages } from "../modules/api-keys/api-keys.pages";
import { userPages } from "../modules/users/users.pages";
import { auditPages } from "../modules/audit/audit.pages";
import { connectPages } from "../modules/connect/connect.pages";
import { poolPages } from "../modules/pools/pools.pages";
import { workerPages } from "../modules/workers/workers.pages";
import { profilePages } from "../modules/profiles/profiles.pages";
import { settingsPages } from "../modules/settings/settings.pages";
import { ruleSetRoutes, sessionRuleSetRoutes } from "../modules/rule-sets/rule-sets.routes";
import { ruleSetPages } from "../modules/rule-sets/rule-sets.pages";
import { proxyRoutes } from "../modules/proxies/proxies.routes";
import { proxyPages } from "../modules/proxies/proxies.pages";
import { uploadRoutes } from "../modules/uploads/uploads.routes";
import { deploymentRoutes } from "../modules/deployments/deployments.routes";
import { deploymentPages } from "../modules/deployments/deployments.pages";
import { scheduleRoutes } from "../modules/schedules/schedules.routes";
import { scheduleDeploymentSlots, schedulePages } from "../modules/schedules/schedules.pages";
import { runRoutes } from "../modules/runs/runs.routes";
import { runPages } from "../modules/runs/runs.pages";
import { runsDeploymentSlots } from "../modules/runs/runs.deployment-section";
import { buildApiDocument } from "./openapi/document";
import { allowedMethodsOf } from "./allowed-methods";

export function createApp(deps: AppDeps) {
  let apiDocument: Record<string, unknown> | undefined;
  const app: any = new Elysia({ name: "browsergrid" })
    .use(requestContext(deps.log, allowedMethodsOf(() => app.routes)))
    .use(jsonBodiesOnly)
    .use(hostGuard(deps))
    .use(authPlugin(deps))
    .use(healthRoutes(deps))
    .use(assetRoutes())
    .use(authPages(deps))
    .use(authRoutes(deps))
    .use(userRoutes(deps))
    .use(apiKeyRoutes(deps))
    .use(auditRoutes(deps))
    .use(dashboardPages(deps))
    .use(sessionRoutes(deps))
    .use(poolRoutes(deps))
    .use(workerRoutes(deps))
    .use(maintenanceRoutes(deps))
    .use(sessionPages(deps))
    .use(liveRoutes(deps))
    .use(profileRoutes(deps))
    .use(artifactRoutes(deps))
    .use(uploadRoutes(deps))
    .use(ruleSetRoutes(deps))
    .use(sessionRuleSetRoutes(deps))
    .use(proxyRoutes(deps))
    .use(deploymentRoutes(deps))
    .use(scheduleRoutes(deps))
    .use(runRoutes(deps))
    .use(apiKeyPages(deps))
    .use(userPages(deps))
    .use(auditPages(deps))
    .use(connectPages(deps))
    .use(poolPages(deps))
    .use(workerPages(deps))
    .use(profilePages(deps))
    .use(ruleSetPages(deps))
    .use(proxyPages(deps))
    .use(deploymentPages(deps, { ...runsDeploymentSlots(deps), ...scheduleDeploymentSlots(deps) }))
    .use(schedulePages(deps))
    .use(settingsPages(deps))
    .use(runPages(deps))
    // Built on first request, once every route is registered; public (auth PUBLIC_ROUTES).
    .get("/api/openapi.json", () => (apiDocument ??= buildApiDocument(app, { version: deps.version, publicUrl: deps.config.publicUrl })), { detail: { hide: true } })
    .get(
      "/api/docs",
      async (): Promise<Response> => {
        const res: Response = await app.handle(new Request("http://localhost/api/openapi.json"));
        return renderApiDocs(await res.json());
      },
      { detail: { hide: true } },
    );
  return app as Elysia;
}

export type App = ReturnType<typeof createApp>;
