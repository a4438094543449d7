// Request and response schemas of the runs API, with limits, and the public shape of a run.
import { t } from "elysia";
import { oneOf, strictObject, wholeNumber } from "../../http/strict-object";
import { RUN_STATUSES, type RunEventRow, type RunRow } from "./runs.store";

/** Params as JSON may be at most this large (the deployment's JSON Schema validates the content). */
export const MAX_PARAMS_BYTES = 64 * 1024;

export const TriggerRunBody = strictObject({
  params: t.Optional(t.Record(t.String({ maxLength: 128 }), t.Unknown(), { maxProperties: 100, description: `Validated against the manifest's params JSON Schema (defaults filled in); at most ${MAX_PARAMS_BYTES} bytes as JSON` })),
  version: t.Optional(t.Integer({ minimum: 1, maximum: 1_000_000, description: "A version of the deployment; default: its current version" })),
});

export const DeploymentNameParams = t.Object({ name: t.String({ minLength: 1, maxLength: 64 }) });
export const RunParams = t.Object({ id: t.String({ maxLength: 64 }) });

export const ListRunsQuery = t.Object({
  deployment: t.Optional(t.String({ minLength: 1, maxLength: 64, description: "A deployment's name" })),
  status: t.Optional(oneOf(RUN_STATUSES)),
  limit: t.Optional(wholeNumber("limit", 1, 200, { description: "Page size (default 50)" })),
  cursor: t.Optional(t.String({ maxLength: 200, description: "nextCursor of the previous page" })),
});

export const LogsQuery = t.Object({
  follow: t.Optional(oneOf(["0", "1", "true", "false"], { description: "1: stream the log until the run ends (chunked text/plain)" })),
});

export const RunResponse = t.Object({
  id: t.String(),
  deployment: t.Nullable(t.String()),
  deploymentId: t.String(),
  version: t.Integer(),
  status: oneOf(RUN_STATUSES),
  trigger: t.String(),
  scheduleId: t.Nullable(t.String()),
  rerunOf: t.Nullable(t.String()),
  params: t.Record(t.String(), t.Unknown()),
  attempt: t.Integer({ description: "Attempts started so far" }),
  maxAttempts: t.Integer({ description: "1 + the manifest's retries.max" }),
  nextAttemptAt: t.Nullable(t.String({ description: "When a retry waiting out its backoff may start" })),
  sessionId: t.Nullable(t.String({ description: "The browser session of the latest attempt" })),
  exitCode: t.Nullable(t.Integer()),
  result: t.Unknown({ description: "The parsed result.json of the output dir, or null" }),
  error: t.Nullable(t.String({ description: "Why it failed: the last stderr lines, or what BrowserGrid could not do" })),
  createdAt: t.String(),
  startedAt: t.Nullable(t.String()),
  endedAt: t.Nullable(t.String()),
  durationMs: t.Nullable(t.Integer()),
});

export const TriggeredResponse = t.Object({ id: t.String(), status: oneOf(RUN_STATUSES) });

export const RunEventResponse = t.Object({ id: t.Integer(), type: t.String(), detail: t.Nullable(t.Record(t.String(), t.Unknown())), at: t.String() });

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toPublicRun(r: RunRow, deployment: string | undefined) {
  return {
    id: r.id,
    deployment: deployment ?? null,
    deploymentId: r.deploymentId,
    version: r.version,
    status: r.status,
    trigger: r.trigger,
    scheduleId: r.scheduleId,
    rerunOf: r.rerunOf,
    params: r.params,
    attempt: r.attempt,
    maxAttempts: r.maxAttempts,
    nextAttemptAt: r.status === "queued" ? iso(r.notBefore) : null,
    sessionId: r.sessionId,
    exitCode: r.exitCode,
    result: r.result ?? null,
    error: r.error,
    createdAt: iso(r.createdAt)!,
    startedAt: iso(r.startedAt),
    endedAt: iso(r.endedAt),
    durationMs: r.durationMs,
  };
}

export function toPublicRunEvent(e: RunEventRow) {
  return { id: e.id, type: e.type, detail: e.detail ?? null, at: iso(e.at)! };
}
