// `browsergrid schedules`: cron schedules of deployments, over the HTTP API (api-client.ts).
import { parseFlags, type Command } from "./command";
import { ApiClient, apiTarget, paramsFrom, printTable, runApiCommand, UsageError } from "./api-client";
import { enc, listOf } from "./deploy";

const OVERLAP = new Set(["skip", "queue", "allow"]);

export const schedulesCommand: Command = {
  name: "schedules",
  summary: "Create, list, pause, resume and delete cron schedules of deployments",
  usage: `browsergrid schedules create <deployment> --cron "<expr>" [--timezone TZ] [--overlap skip|queue|allow] [--param key=value ...] [--paused] [--json]
browsergrid schedules list [--json]
browsergrid schedules pause <schedule id>
browsergrid schedules resume <schedule id>
browsergrid schedules delete <schedule id>

Cron expressions have 5 fields, or 6 with seconds first ("*/10 * * * * *" = every 10 s); the
timezone is an IANA name (default UTC). Overlap: skip (default; a tick while a run of this
schedule is queued or running is skipped), queue (it waits), allow (runs at once).

Connection: --url <appliance URL> and --key <API key>, or BROWSERGRID_URL and BROWSERGRID_KEY
(default http://127.0.0.1:$BROWSERGRID_PORT, no key). Exit codes: 0 done, 1 the server refused
(its message is printed), 2 usage error, 3 the server could not be reached.`,
  run(args) {
    return runApiCommand("schedules", this.usage, async () => {
      const { flags, positional } = parseFlags(args);
      const [action, target] = positional;
      const api = new ApiClient(apiTarget(flags));
      const out = (v: unknown, human: () => void) => (flags.json ? console.log(JSON.stringify(v, null, 2)) : human());
      const need = (what: string) => {
        if (!target) throw new UsageError(`${action} needs ${what}`);
        return enc(target);
      };
      switch (action) {
        case "create": {
          if (typeof flags.cron !== "string") throw new UsageError('create needs --cron "<expression>"');
          if (flags.overlap !== undefined && !OVERLAP.has(String(flags.overlap))) throw new UsageError("--overlap is skip, queue or allow");
          const body: Record<string, unknown> = { cron: flags.cron, params: paramsFrom(args), enabled: !flags.paused };
          if (typeof flags.timezone === "string") body.timezone = flags.timezone;
          if (typeof flags.overlap === "string") body.overlap = flags.overlap;
          const s = await api.request<{ id: string; nextRuns?: string[] }>(`/api/v1/deployments/${need("a deployment name")}/schedules`, { json: body });
          out(s, () => console.log(`schedule ${s.id} created${s.nextRuns?.length ? `; next run ${s.nextRuns[0]}` : ""}`));
          return 0;
        }
        case "list": {
          const body = await api.request("/api/v1/schedules");
          const rows = listOf<Record<string, unknown>>(body, "schedules").map((s) => ({ ...s, next: Array.isArray(s.nextRuns) ? s.nextRuns[0] : null }));
          out(body, () => printTable(rows, ["id", "deployment", "cron", "timezone", "overlap", "enabled", "next"]));
          return 0;
        }
        case "pause":
        case "resume": {
          const s = await api.request(`/api/v1/schedules/${need("a schedule id")}`, { method: "PATCH", json: { enabled: action === "resume" } });
          out(s, () => console.log(`schedule ${target} ${action === "resume" ? "resumed" : "paused"}`));
          return 0;
        }
        case "delete": {
          await api.request(`/api/v1/schedules/${need("a schedule id")}`, { method: "DELETE" });
          out({ deleted: target }, () => console.log(`deleted schedule ${target}`));
          return 0;
        }
        default:
          throw new UsageError(action ? `unknown action "${action}"` : "give an action");
      }
    });
  },
};
