// /api/v1/deployments/:name/runs and /api/v1/runs — thin handlers over RunsService. Every
// signed-in role reads runs; members and admins trigger, cancel and re-run; a run's own token
// reads its run and nothing else (runs.access.ts).
import { artifactAttachment } from "../artifacts/artifacts.routes";
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { errorFor } from "../../http/errors";
import { BadRequest, NotFound, Unavailable } from "../../lib/errors";
import type { Actor } from "../../security/actor";
import { audit } from "../audit/audit.service";
import { storageOf } from "../profiles/session-storage";
import type { RunsService } from "./runs.service";
import { visibleRun } from "./runs.access";
import { deploymentIdByName, deploymentName, listRunEvents, listRuns, RUN_STATUSES, type RunStatus } from "./runs.store";
import { DeploymentNameParams, ListRunsQuery, LogsQuery, MAX_PARAMS_BYTES, RunEventResponse, RunParams, RunResponse, toPublicRun, toPublicRunEvent, TriggerRunBody, TriggeredResponse } from "./runs.schema";

/** The run service, or 503 where runs are not wired (no deployments or runners in this process). */
export function runsOf(deps: Pick<AppDeps, "runs">): RunsService {
  if (!deps.runs) throw new Unavailable("Runs are not available in this process (no deployments or runner support is configured).", "runs_unavailable");
  return deps.runs;
}

const createdByOf = (actor: Actor) => actor.userId ?? actor.keyId ?? null;

function cursorOf(raw: string | undefined): { createdAt: number; id: string } | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d{1,16})\.(run_[a-z0-9]{20})$/.exec(Buffer.from(raw, "base64url").toString());
  if (!m) throw new BadRequest("Invalid cursor: pass the nextCursor value of the previous page unchanged.");
  return { createdAt: Number(m[1]), id: m[2]! };
}

const RunArtifactResponse = t.Object({
  id: t.String(),
  sessionId: t.String(),
  kind: t.String({ description: "output" }),
  name: t.String({ description: "Its path under the output dir" }),
  contentType: t.String(),
  size: t.Number(),
  sha256: t.String(),
  createdAt: t.String(),
  url: t.String({ description: "Path to download the file" }),
});

export function runRoutes(deps: AppDeps) {
  const { db } = deps;
  const publicRun = (id: string, actor: Actor) => {
    const run = visibleRun(db, actor, id);
    return toPublicRun(run, deploymentName(db, run.deploymentId));
  };
  return new Elysia({ name: "runs" })
    .use(authMacro)
    .post(
      "/api/v1/deployments/:name/runs",
      async (ctx) => {
        const { params, body, actor, set } = ctx;
        if (body.params && JSON.stringify(body.params).length > MAX_PARAMS_BYTES) throw new BadRequest(`Field "params" is larger than ${MAX_PARAMS_BYTES} bytes as JSON; pass less.`);
        const run = await runsOf(deps).trigger({ deploymentName: params.name, params: body.params, version: body.version, trigger: "api", createdBy: createdByOf(actor) });
        audit(deps, actor, "run.triggered", run.id, { deployment: params.name, version: run.version }, requestIp(ctx));
        set.status = 202;
        return { id: run.id, status: run.status };
      },
      {
        auth: "member",
        params: DeploymentNameParams,
        body: TriggerRunBody,
        response: { 202: TriggeredResponse, 400: errorFor("The params do not match the deployment's params schema (the message names the field), or the body is malformed."), 404: errorFor("No such deployment, or no such version of it.") },
        detail: {
          tags: ["runs"],
          summary: "Run a deployment",
          description:
            "Validates the params against the version's JSON Schema (filling in defaults) before anything is stored: a 400 leaves no run behind. The run is queued (202) and starts when the deployment has fewer running runs than its manifest's `concurrency` (default 1), oldest first. Follow it with GET /api/v1/runs/:id or its logs.",
        },
      },
    )
    .get(
      "/api/v1/runs",
      ({ query }) => {
        const limit = Number(query.limit ?? 50);
        const deploymentId = query.deployment ? deploymentIdByName(db, query.deployment) : undefined;
        if (query.deployment && !deploymentId) return { runs: [], nextCursor: null };
        const rows = listRuns(db, { deploymentId, status: query.status as RunStatus | undefined, limit, cursor: cursorOf(query.cursor) });
        const names = new Map<string, string | undefined>();
        const nameOf = (id: string) => (names.has(id) ? names.get(id) : names.set(id, deploymentName(db, id)).get(id));
        const last = rows.length === limit ? rows[rows.length - 1] : undefined;
        return { runs: rows.map((r) => toPublicRun(r, nameOf(r.deploymentId))), nextCursor: last ? Buffer.from(`${last.createdAt}.${last.id}`).toString("base64url") : null };
      },
      {
        auth: "viewer",
        query: ListRunsQuery,
        response: t.Object({ runs: t.Array(RunResponse), nextCursor: t.Nullable(t.String()) }),
        detail: { tags: ["runs"], summary: "List runs, newest first", description: `Filter by deployment name and status (${RUN_STATUSES.join(", ")}); page with limit and the previous page's nextCursor.` },
      },
    )
    .get("/api/v1/runs/:id", ({ params, actor }) => publicRun(params.id, actor), {
      auth: "viewer",
      params: RunParams,
      response: { 200: RunResponse, 404: errorFor("No such run.") },
      detail: {
        tags: ["runs"],
        summary: "Get one run",
        description: "Status (queued, running, succeeded, failed, timed_out, cancelled), attempt, exitCode, result (result.json), error (the stderr tail of a failed run), sessionId, durationMs. A run's own token (BROWSERGRID_RUN_TOKEN) may read its run here.",
      },
    })
    .get("/api/v1/runs/:id/events", ({ params, actor }) => ({ events: listRunEvents(db, visibleRun(db, actor, params.id).id).map(toPublicRunEvent) }), {
      auth: "viewer",
      params: RunParams,
      response: { 200: t.Object({ events: t.Array(RunEventResponse) }), 404: errorFor("No such run.") },
      detail: { tags: ["runs"], summary: "A run's timeline, oldest first", description: "queued, attempt_started (with its session), exited (exit code), output (result.json and files taken), retry_scheduled (backoff), and the end (succeeded, failed, timed_out, cancelled) with its reason." },
    })
    .get(
      "/api/v1/runs/:id/logs",
      async ({ params, query, actor, request }) => {
        const run = visibleRun(db, actor, params.id);
        const svc = runsOf(deps);
        const headers = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" };
        if (query.follow !== "1" && query.follow !== "true") return new Response(await svc.logs.text(run), { headers });
        const enc = new TextEncoder();
        let unsubscribe = () => {};
        const body = new ReadableStream<Uint8Array>({
          async start(controller) {
            unsubscribe = await svc.logs.follow(run, (chunk) => {
              try {
                if (chunk === null) controller.close();
                else controller.enqueue(enc.encode(chunk));
              } catch {}
            });
            request.signal.addEventListener("abort", () => unsubscribe(), { once: true });
          },
          cancel: () => unsubscribe(),
        });
        return new Response(body, { headers });
      },
      {
        auth: "viewer",
        params: RunParams,
        query: LogsQuery,
        detail: {
          tags: ["runs"],
          summary: "A run's log (text)",
          description:
            "One line per output line: `<ISO time> <stdout|stderr|system> <text>`, every attempt in order, secret values replaced by ***. With ?follow=1 the answer streams (chunked text/plain): what is there, then each new line as the code prints it, ending when the run ends. Kept up to 8 MiB per run.",
          responses: { 200: { description: "The log", content: { "text/plain": { schema: { type: "string" } } } } },
        },
      },
    )
    .get(
      "/api/v1/runs/:id/artifacts",
      ({ params, actor }) => {
        const run = visibleRun(db, actor, params.id);
        const { artifacts } = storageOf(deps);
        return { artifacts: artifacts.listOfRun(run.id).map((a) => ({ ...artifacts.toPublic(a), url: `/api/v1/runs/${run.id}/artifacts/${a.id}` })) };
      },
      {
        auth: "viewer",
        params: RunParams,
        response: { 200: t.Object({ artifacts: t.Array(RunArtifactResponse) }), 404: errorFor("No such run.") },
        detail: { tags: ["runs"], summary: "A run's output files", description: "Files the code wrote to BROWSERGRID_OUTPUT_DIR (all but result.json), kind \"output\", oldest first; `url` downloads one." },
      },
    )
    .get(
      "/api/v1/runs/:id/artifacts/:artifactId",
      ({ params, actor }) => {
        const run = visibleRun(db, actor, params.id);
        const { artifacts } = storageOf(deps);
        const a = artifacts.listOfRun(run.id).find((x) => x.id === params.artifactId);
        if (!a) throw new NotFound(`Artifact ${params.artifactId}`);
        return artifactAttachment(artifacts, a);
      },
      {
        auth: "viewer",
        params: t.Object({ id: t.String({ maxLength: 64 }), artifactId: t.String({ maxLength: 64 }) }),
        detail: {
          tags: ["runs"],
          summary: "Download one output file of a run",
          description: "The file as a sandboxed attachment, with its SHA-256 in X-Checksum-SHA256: it was written by the run's code and is untrusted content.",
          responses: { 200: { description: "The file", content: { "*/*": { schema: { type: "string", format: "binary" } } } } },
        },
      },
    )
    .post(
      "/api/v1/runs/:id/cancel",
      async (ctx) => {
        const { params, actor } = ctx;
        const run = visibleRun(db, actor, params.id);
        const done = await runsOf(deps).cancel(run.id);
        audit(deps, actor, "run.cancelled", run.id, { status: done.status }, requestIp(ctx));
        return toPublicRun(done, deploymentName(db, done.deploymentId));
      },
      {
        auth: "member",
        params: RunParams,
        response: { 200: RunResponse, 404: errorFor("No such run.") },
        detail: { tags: ["runs"], summary: "Cancel a run", description: "A queued run ends without starting. A running one has its runner container killed and its session ended before the answer (within about a second). A run that has ended is answered as it is." },
      },
    )
    .post(
      "/api/v1/runs/:id/rerun",
      async (ctx) => {
        const { params, actor, set } = ctx;
        const run = visibleRun(db, actor, params.id);
        const again = await runsOf(deps).rerun(run.id, createdByOf(actor));
        audit(deps, actor, "run.rerun", again.id, { rerunOf: run.id }, requestIp(ctx));
        set.status = 202;
        return { id: again.id, status: again.status };
      },
      {
        auth: "member",
        params: RunParams,
        response: { 202: TriggeredResponse, 404: errorFor("No such run, or its deployment version is gone.") },
        detail: { tags: ["runs"], summary: "Run again with the same params and version", description: "A new run (trigger \"rerun\", rerunOf = this run), queued like any other." },
      },
    );
}
