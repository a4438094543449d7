// `browsergrid runs`: trigger a deployment, follow its log, cancel, re-run, fetch its artifacts,
// over the HTTP API (api-client.ts).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseFlags, type Command } from "./command";
import { ApiClient, apiTarget, paramsFrom, printTable, runApiCommand, UsageError } from "./api-client";
import { enc, listOf } from "./deploy";
import { safeName } from "../storage/blob-store";

const TERMINAL = new Set(["succeeded", "failed", "timed_out", "cancelled"]);

export const runsCommand: Command = {
  name: "runs",
  summary: "Trigger deployment runs, follow their logs, cancel, re-run, download artifacts",
  usage: `browsergrid runs trigger <deployment> [--param key=value ...] [--version N] [--follow] [--json]
browsergrid runs list [--deployment NAME] [--status STATUS] [--json]
browsergrid runs get <run id> [--json]
browsergrid runs logs <run id> [--follow]
browsergrid runs cancel <run id>
browsergrid runs rerun <run id> [--json]
browsergrid runs artifacts <run id> [--download DIR] [--json]

--param values that parse as JSON are sent as JSON (--param n=3 sends a number), others as
strings; the server checks them against the manifest's params schema. "trigger --follow"
prints the log as it arrives and exits 0 when the run succeeded, 1 otherwise.
Statuses: queued, running, succeeded, failed, timed_out, cancelled.

Connection: --url <appliance URL> and --key <API key>, or BROWSERGRID_URL and BROWSERGRID_KEY
(default http://127.0.0.1:$BROWSERGRID_PORT, no key). Exit codes: 0 done, 1 the server refused
(its message is printed) or a followed run did not succeed, 2 usage error, 3 the server could
not be reached.`,
  run(args) {
    return runApiCommand("runs", this.usage, async () => {
      const { flags, positional } = parseFlags(args);
      const [action, id] = positional;
      const api = new ApiClient(apiTarget(flags));
      const out = (v: unknown, human: () => void) => (flags.json ? console.log(JSON.stringify(v, null, 2)) : human());
      const needId = () => {
        if (!id) throw new UsageError(`${action} needs ${action === "trigger" ? "a deployment name" : "a run id"}`);
        return enc(id);
      };
      switch (action) {
        case "trigger": {
          const body: Record<string, unknown> = { params: paramsFrom(args) };
          if (flags.version !== undefined) {
            const v = Number(flags.version);
            if (!Number.isInteger(v) || v < 1) throw new UsageError("--version needs a version number");
            body.version = v;
          }
          const run = await api.request<{ id: string; status: string }>(`/api/v1/deployments/${needId()}/runs`, { json: body });
          if (!flags.follow) {
            out(run, () => console.log(`run ${run.id} ${run.status}`));
            return 0;
          }
          if (!flags.json) console.error(`run ${run.id} ${run.status}; following its log`);
          return followToEnd(api, run.id, Boolean(flags.json));
        }
        case "list": {
          const q = new URLSearchParams();
          if (typeof flags.deployment === "string") q.set("deployment", flags.deployment);
          if (typeof flags.status === "string") q.set("status", flags.status);
          const body = await api.request(`/api/v1/runs${q.size ? `?${q}` : ""}`);
          out(body, () => printTable(listOf(body, "runs"), ["id", "deployment", "version", "status", "attempt", "exitCode", "durationMs", "createdAt"]));
          return 0;
        }
        case "get": {
          const run = await api.request(`/api/v1/runs/${needId()}`);
          out(run, () => console.log(JSON.stringify(run, null, 2)));
          return 0;
        }
        case "logs": {
          if (flags.follow) return followToEnd(api, needId(), false);
          process.stdout.write(await api.request<string>(`/api/v1/runs/${needId()}/logs`, { headers: { accept: "text/plain" } }));
          return 0;
        }
        case "cancel": {
          const run = await api.request<{ status?: string }>(`/api/v1/runs/${needId()}/cancel`, { method: "POST" });
          out(run, () => console.log(`run ${id} ${run?.status ?? "cancelled"}`));
          return 0;
        }
        case "rerun": {
          const run = await api.request<{ id: string; status: string }>(`/api/v1/runs/${needId()}/rerun`, { method: "POST" });
          out(run, () => console.log(`run ${run.id} ${run.status} (re-run of ${id})`));
          return 0;
        }
        case "artifacts": {
          const body = await api.request(`/api/v1/runs/${needId()}/artifacts`);
          const list = listOf<{ id: string; name: string; size: number; url?: string }>(body, "artifacts");
          if (typeof flags.download !== "string") {
            out(body, () => printTable(list as unknown as Record<string, unknown>[], ["id", "name", "size", "contentType"]));
            return 0;
          }
          mkdirSync(flags.download, { recursive: true });
          for (const a of list) {
            const path = a.url && a.url.startsWith("/") ? a.url : `/api/v1/runs/${needId()}/artifacts/${enc(a.id)}`;
            const res = await api.send(path, { headers: { accept: "*/*" }, timeoutMs: 300_000 });
            const file = join(flags.download, safeName(a.name, a.id));
            writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
            if (!flags.json) console.log(`${file}  ${a.size} bytes`);
          }
          if (flags.json) console.log(JSON.stringify(list, null, 2));
          return 0;
        }
        default:
          throw new UsageError(action ? `unknown action "${action}"` : "give an action");
      }
    });
  },
};

/** Streams a run's log until it ends; exit 0 when it succeeded, 1 otherwise. */
async function followToEnd(api: ApiClient, runId: string, json: boolean): Promise<number> {
  const res = await api.send(`/api/v1/runs/${enc(runId)}/logs?follow=1`, { headers: { accept: "text/plain" }, timeoutMs: 0 });
  if (res.body) {
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const text = decoder.decode(chunk, { stream: true });
      if (json) process.stderr.write(text);
      else process.stdout.write(text);
    }
  }
  // The stream ends with the run; its final state may lag by a moment.
  let run: { status: string; exitCode?: number | null; error?: string | null } = { status: "running" };
  for (let i = 0; i < 50 && !TERMINAL.has(run.status); i++) {
    run = await api.request(`/api/v1/runs/${enc(runId)}`);
    if (!TERMINAL.has(run.status)) await Bun.sleep(200);
  }
  if (json) console.log(JSON.stringify(run, null, 2));
  else console.error(`run ${runId} ${run.status}${run.exitCode != null ? ` (exit code ${run.exitCode})` : ""}${run.error ? `: ${run.error.split("\n").slice(-1)[0]}` : ""}`);
  return run.status === "succeeded" ? 0 : 1;
}
