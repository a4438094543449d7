// Liveness and readiness, unauthenticated so a load balancer or systemd can ask.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";

const Readiness = t.Object({
  status: t.Union([t.Literal("ready"), t.Literal("not_ready")]),
  checks: t.Array(t.Object({ name: t.String(), ok: t.Boolean(), detail: t.Optional(t.String()) })),
});

export function healthRoutes(deps: AppDeps) {
  return new Elysia({ name: "health" })
    .get("/healthz", () => ({ status: "ok" as const, version: deps.version, uptimeSec: Math.round((Date.now() - deps.startedAt) / 1000) }), {
      detail: { tags: ["health"], summary: "Liveness: the process answers." },
      response: t.Object({ status: t.Literal("ok"), version: t.String(), uptimeSec: t.Number() }),
    })
    .get(
      "/readyz",
      async ({ set }) => {
        const checks = [checkDatabase(deps), ...(await Promise.all(deps.readinessProbes.map((p) => p().catch((e) => ({ name: "probe", ok: false, detail: String(e) })))))];
        const ready = checks.every((c) => c.ok);
        set.status = ready ? 200 : 503;
        return { status: ready ? ("ready" as const) : ("not_ready" as const), checks };
      },
      {
        response: { 200: Readiness, 503: Readiness },
        detail: {
          tags: ["health"],
          summary: "Readiness: database open and at least one worker reachable.",
          description: "503 with the same body while a check fails; `checks` says which. The workers check names each unhealthy worker (its Docker engine answers but misses deadlines) with the reason.",
        },
      },
    );
}

function checkDatabase(deps: AppDeps) {
  try {
    deps.db.$client.query("SELECT 1").get();
    return { name: "database", ok: true };
  } catch (e) {
    return { name: "database", ok: false, detail: "database is not answering" };
  }
}
