// Request and response schemas of the schedules API, with limits; unknown fields are refused.
// Times in responses are ISO 8601 strings (UTC).
import { t } from "elysia";
import { oneOf, strictObject } from "../../http/strict-object";
import { MAX_CRON_LENGTH } from "./schedules.cron";
import { NEXT_RUNS, type ScheduleView } from "./schedules.service";
import { OVERLAP_POLICIES } from "./schedules.store";

const Cron = t.String({
  minLength: 1,
  maxLength: MAX_CRON_LENGTH,
  // Examples in the text, not as `examples`: no other field of the API has them, and the API fuzz's
  // example phase on this body (with its free-form params) tripped an internal error of the fuzzer.
  description: 'croner syntax: 5 fields (minute hour day month weekday), 6 with a leading seconds field, or 7 with a trailing year; L, W, #, @daily and friends. E.g. "*/15 * * * *", "0 30 9 * * MON-FRI"',
});
const Timezone = t.String({ minLength: 1, maxLength: 64, description: 'IANA time zone the cron is read in (default "UTC"), e.g. "Europe/Berlin"' });
const Params = t.Record(t.String({ maxLength: 128 }), t.Unknown(), { maxProperties: 100, description: "Params of every run, checked against the deployment's params schema; each run applies its version's defaults" });
const Overlap = oneOf(OVERLAP_POLICIES, {
  description: "A tick while a run of this schedule is queued or running: skip (default) records a skipped tick; queue triggers, the run waits its turn; allow triggers always",
});
const Enabled = t.Boolean({ description: "false pauses the schedule: no ticks, none replayed on resume" });
const CatchUp = t.Integer({ minimum: 0, maximum: 1, description: "After downtime, how many of the missed ticks run at once (0 or 1, default 1: the latest)" });

export const CreateScheduleBody = strictObject({ cron: Cron, timezone: t.Optional(Timezone), params: t.Optional(Params), overlap: t.Optional(Overlap), enabled: t.Optional(Enabled), catchUp: t.Optional(CatchUp) });
export const UpdateScheduleBody = strictObject({ cron: t.Optional(Cron), timezone: t.Optional(Timezone), params: t.Optional(Params), overlap: t.Optional(Overlap), enabled: t.Optional(Enabled), catchUp: t.Optional(CatchUp) });
export const ScheduleIdParams = t.Object({ id: t.String({ minLength: 1, maxLength: 64, description: "Schedule id (sch_…)" }) });
export const DeploymentNameParams = t.Object({ name: t.String({ minLength: 1, maxLength: 128, description: "Deployment name" }) });
export const ScheduleListQuery = t.Object({ deployment: t.Optional(t.String({ minLength: 1, maxLength: 128, description: "Only this deployment's schedules" })) });

const When = t.String({ description: "ISO 8601, UTC" });

const Stats = t.Object(
  {
    runs: t.Integer(),
    active: t.Integer({ description: "Queued or running now" }),
    succeeded: t.Integer(),
    failed: t.Integer({ description: "failed + timed_out" }),
    cancelled: t.Integer(),
    successRate: t.Nullable(t.Number({ description: "succeeded / (succeeded + failed + timed_out), 0..1; cancelled runs count for neither side" })),
    p50DurationMs: t.Nullable(t.Number({ description: "Median duration of the latest 500 finished runs" })),
    p95DurationMs: t.Nullable(t.Number()),
    lastFailure: t.Nullable(t.Object({ runId: t.String(), status: t.String(), at: When, error: t.Nullable(t.String()) })),
    recentRuns: t.Array(t.Object({ id: t.String(), status: t.String(), durationMs: t.Nullable(t.Number()), createdAt: When }), { description: "The last 20 runs, newest first" }),
  },
  { description: "From the runs this schedule triggered" },
);

const Ticks = t.Object(
  {
    triggered: t.Integer(),
    skipped: t.Integer({ description: "Ticks skipped by overlap skip" }),
    missed: t.Integer({ description: "Ticks that fell in a downtime (or a stall) and did not run" }),
    failed: t.Integer({ description: "Ticks whose trigger was refused" }),
    lastError: t.Nullable(t.Object({ message: t.String(), at: When })),
    recent: t.Array(
      t.Object({
        scheduledAt: When,
        at: When,
        outcome: t.String({ description: "triggered, skipped, missed or failed" }),
        runId: t.Optional(t.String()),
        error: t.Optional(t.String()),
        count: t.Optional(t.Integer()),
        atLeast: t.Optional(t.Boolean()),
      }),
    ),
  },
  { description: "What the clock did since this server started (kept in memory, not stored)" },
);

export const ScheduleResponse = t.Object({
  id: t.String(),
  deployment: t.String({ description: "Deployment name" }),
  deploymentId: t.String(),
  cron: t.String(),
  timezone: t.String(),
  params: t.Record(t.String(), t.Unknown()),
  overlap: t.String(),
  enabled: t.Boolean(),
  catchUp: t.Integer(),
  lastFireAt: t.Nullable(t.String({ description: "Scheduled time of the last tick acted on (persisted before its run is queued), ISO 8601 UTC" })),
  nextRuns: t.Array(When, { description: `The next ${NEXT_RUNS} fire times; empty while paused` }),
  stats: Stats,
  ticks: Ticks,
  createdAt: When,
  updatedAt: When,
});
export const ScheduleListResponse = t.Object({ schedules: t.Array(ScheduleResponse) });

const iso = (ms: number) => new Date(ms).toISOString();

export function toScheduleResponse(v: ScheduleView): typeof ScheduleResponse.static {
  const { row, stats, clock } = v;
  return {
    id: row.id,
    deployment: row.deploymentName,
    deploymentId: row.deploymentId,
    cron: row.cron,
    timezone: row.timezone,
    params: row.params,
    overlap: row.overlap,
    enabled: row.enabled,
    catchUp: row.catchUp,
    lastFireAt: row.lastFireAt === null ? null : iso(row.lastFireAt),
    nextRuns: v.nextRuns.map(iso),
    stats: {
      ...stats,
      lastFailure: stats.lastFailure ? { ...stats.lastFailure, at: iso(stats.lastFailure.at) } : null,
      recentRuns: stats.recentRuns.map((r) => ({ ...r, createdAt: iso(r.createdAt) })),
    },
    ticks: {
      triggered: clock.triggered,
      skipped: clock.skipped,
      missed: clock.missed,
      failed: clock.failed,
      lastError: clock.lastError ? { message: clock.lastError.message, at: iso(clock.lastError.at) } : null,
      recent: clock.recent.map((r) => ({ ...r, scheduledAt: iso(r.scheduledAt), at: iso(r.at) })),
    },
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}
