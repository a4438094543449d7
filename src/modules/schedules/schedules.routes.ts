// /api/v1/deployments/:name/schedules and /api/v1/schedules — cron schedules of deployments.
// Viewers read; members create, change and delete, and every change is audited. A schedule is
// checked fully (deployment, cron, time zone, params) before anything is stored.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { ErrorSchema, errorFor } from "../../http/errors";
import { audit } from "../audit/audit.service";
import type { ScheduleService } from "./schedules.service";
import { CreateScheduleBody, DeploymentNameParams, ScheduleIdParams, ScheduleListQuery, ScheduleListResponse, ScheduleResponse, UpdateScheduleBody, toScheduleResponse } from "./schedules.schema";

const tags = ["schedules"];


const CREATE_DESCRIPTION =
  "Runs the deployment's current version by cron. `cron` is croner syntax (seconds field allowed), read in `timezone` (IANA, default UTC). `params` are checked against the deployment's params schema now and applied to every run. `overlap` decides a tick while a run of this schedule is queued or running: `skip` (default) records a skipped tick, `queue` triggers and the run waits its turn, `allow` triggers always. After a server restart the ticks missed meanwhile are recorded and, with `catchUp: 1` (default), the latest of them runs at once; a tick never runs twice. 400 names a cron that does not parse, an unknown time zone or a param that fails the schema; 404 an unknown deployment; nothing is stored then.";

/** No routes (and none in the API document) on a server built without the runs service schedules trigger. */
export function scheduleRoutes(deps: AppDeps) {
  const svc: ScheduleService | undefined = deps.schedules;
  if (!svc) return new Elysia({ name: "schedules" });
  return new Elysia({ name: "schedules" })
    .use(authMacro)
    .post(
      "/api/v1/deployments/:name/schedules",
      async (ctx) => {
        const v = await svc.create(ctx.params.name, ctx.body, ctx.actor.userId ?? null);
        audit(deps, ctx.actor, "schedule.created", v.row.id, { deployment: v.row.deploymentName, cron: v.row.cron, timezone: v.row.timezone, overlap: v.row.overlap, enabled: v.row.enabled }, requestIp(ctx));
        ctx.set.status = 201;
        return toScheduleResponse(v);
      },
      {
        auth: "member",
        params: DeploymentNameParams,
        body: CreateScheduleBody,
        response: { 201: ScheduleResponse, 400: errorFor("A cron that does not parse, an unknown time zone, params that fail the schema, or an unknown field"), 404: errorFor("No such deployment (or it has no version yet)") },
        detail: { tags, summary: "Schedule a deployment by cron", description: CREATE_DESCRIPTION },
      },
    )
    .get("/api/v1/deployments/:name/schedules", ({ params }) => ({ schedules: svc.list({ deployment: params.name }).map(toScheduleResponse) }), {
      auth: "viewer",
      params: DeploymentNameParams,
      response: { 200: ScheduleListResponse, 404: ErrorSchema },
      detail: { tags, summary: "List a deployment's schedules", description: "Same shape as GET /api/v1/schedules." },
    })
    .get("/api/v1/schedules", ({ query }) => ({ schedules: svc.list({ deployment: query.deployment }).map(toScheduleResponse) }), {
      auth: "viewer",
      query: ScheduleListQuery,
      response: { 200: ScheduleListResponse, 404: ErrorSchema },
      detail: {
        tags,
        summary: "List schedules",
        description:
          "Oldest first, each with its deployment's name, `nextRuns` (the next 5 fire times; empty while paused), `stats` from its runs (runs, success rate, p50/p95 duration, last failure and reason, last 20 runs) and `ticks` (what the clock did since the server started: triggered, skipped, missed, failed, last error).",
      },
    })
    .get("/api/v1/schedules/:id", ({ params }) => toScheduleResponse(svc.get(params.id)), {
      auth: "viewer",
      params: ScheduleIdParams,
      response: { 200: ScheduleResponse, 404: ErrorSchema },
      detail: { tags, summary: "Get a schedule" },
    })
    .patch(
      "/api/v1/schedules/:id",
      async (ctx) => {
        const v = await svc.update(ctx.params.id, ctx.body);
        audit(deps, ctx.actor, "schedule.updated", v.row.id, { deployment: v.row.deploymentName, fields: Object.keys(ctx.body) }, requestIp(ctx));
        return toScheduleResponse(v);
      },
      {
        auth: "member",
        params: ScheduleIdParams,
        body: UpdateScheduleBody,
        response: { 200: ScheduleResponse, 400: ErrorSchema, 404: ErrorSchema },
        detail: {
          tags,
          summary: "Change, pause or resume a schedule",
          description: "Any of the create fields. The clock re-arms at once: `enabled: false` pauses (no ticks; none of the paused ones is replayed on resume). Checked like a create; a refusal changes nothing.",
        },
      },
    )
    .delete(
      "/api/v1/schedules/:id",
      (ctx) => {
        const row = svc.remove(ctx.params.id);
        audit(deps, ctx.actor, "schedule.deleted", row.id, { deployment: row.deploymentName, cron: row.cron }, requestIp(ctx));
        ctx.set.status = 204;
        return null;
      },
      {
        auth: "member",
        params: ScheduleIdParams,
        response: { 204: t.Null(), 404: ErrorSchema },
        detail: { tags, summary: "Delete a schedule", description: "Its timer is dropped at once; runs it started are kept (and keep their schedule id)." },
      },
    );
}
