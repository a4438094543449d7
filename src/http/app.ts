// The HTTP application: one Elysia instance per feature, composed here in order —
// request plumbing, OpenAPI, public routes, then authenticated feature modules.
import { Elysia } from "elysia";
import { openapi } from "@elysiajs/openapi";
import type { AppDeps } from "./context";
import { requestContext } from "./plugins/request-context";
import { healthRoutes } from "../modules/health/health.routes";
import { assetRoutes } from "../modules/assets/assets.routes";
import { renderApiDocs } from "../modules/docs/docs.pages";

export function createApp(deps: AppDeps) {
  const app: any = new Elysia({ name: "browsergrid" })
    .use(requestContext(deps.log))
    .use(
      openapi({
        provider: null,
        specPath: "/api/openapi.json",
        exclude: { paths: ["/api/openapi.json", "/api/docs", /^\/assets/] },
        documentation: {
          info: {
            title: "BrowserGrid API",
            version: deps.version,
            description: "Self-hosted browser grid: sessions with a CDP URL each, pools, workers and keys.",
          },
          components: {
            securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "API key bg_<id>_<secret>" } },
          },
          security: [{ bearer: [] }],
        },
      }),
    )
    .use(healthRoutes(deps))
    .use(assetRoutes())
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
