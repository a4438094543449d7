// `browsergrid schedules list`: the cron schedules in BROWSERGRID_DATA_DIR, with their next fire
// times and run statistics, read from the database directly. Read-only on purpose: creating,
// changing and pausing go through the API or the UI, so the running server's clock re-arms at
// once (a row changed behind its back would keep its old timer).
import type { Command } from "./command";
import { parseFlags } from "./command";
import { runOnDatabase } from "./cli-deps";
import { NotFound } from "../lib/errors";
import { deploymentByName, listSchedules } from "../modules/schedules/schedules.store";
import { scheduleViews } from "../modules/schedules/schedules.service";
import { toScheduleResponse } from "../modules/schedules/schedules.schema";

const noClock = () => ({ triggered: 0, skipped: 0, missed: 0, failed: 0, lastError: null, recent: [] });
const pct = (x: number | null) => (x === null ? "-" : `${Math.round(x * 100)}%`);
const secs = (ms: number | null) => (ms === null ? "-" : `${(ms / 1000).toFixed(1)}s`);

export const schedulesCommand: Command = {
  name: "schedules",
  summary: "List cron schedules with their next runs and statistics",
  usage: `browsergrid schedules list [--deployment <name>] [--json]

Reads the database in BROWSERGRID_DATA_DIR. Each line: id, deployment, cron and time zone,
overlap, enabled or paused, next fire time (UTC), runs, success rate, p50/p95 duration.
--json prints what GET /api/v1/schedules answers, except "ticks" (kept by the running server).
Create, change, pause and delete schedules with the API (POST /api/v1/deployments/<name>/schedules,
PATCH|DELETE /api/v1/schedules/<id>) or the Schedules page, so the server re-arms them at once.`,
  async run(args) {
    const { flags, positional } = parseFlags(args);
    return runOnDatabase("schedules", this.usage, ["list"], positional[0], (deps) => {
      let deploymentId: string | undefined;
      if (typeof flags.deployment === "string") {
        deploymentId = deploymentByName(deps.db, flags.deployment)?.id;
        if (!deploymentId) throw new NotFound(`Deployment "${flags.deployment}"`);
      }
      const views = scheduleViews(deps.db, listSchedules(deps.db, { deploymentId }), Date.now(), noClock);
      if (flags.json) {
        console.log(JSON.stringify(views.map((v) => { const { ticks: _ticks, ...rest } = toScheduleResponse(v); return rest; }), null, 2));
        return 0;
      }
      for (const { row, nextRuns, stats } of views)
        console.log(
          `${row.id}  ${row.deploymentName.padEnd(20)} ${`${row.cron} ${row.timezone}`.padEnd(28)} ${row.overlap.padEnd(5)} ${(row.enabled ? "enabled" : "paused").padEnd(7)}  next ${nextRuns[0] ? new Date(nextRuns[0]).toISOString() : "-"}  runs ${stats.runs}  ok ${pct(stats.successRate)}  p50 ${secs(stats.p50DurationMs)}  p95 ${secs(stats.p95DurationMs)}`,
        );
      if (!views.length) console.log("no schedules");
      return 0;
    });
  },
};
