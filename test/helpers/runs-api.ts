// A started grid's deployments and runs as an end-to-end test uses them: deploy a bundle
// (multipart, as a browser form or `curl -F` sends it), trigger, wait for the end, read events
// and logs, run the CLI against it, and ask Docker (by label) what is left of a run.
import { expect } from "bun:test";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ADMIN_KEY, docker, waitFor, type Grid } from "./grid";
import { spawnCollecting } from "./process";
import { bundleWith } from "./run-scripts";

export const RUN_ENDS = ["succeeded", "failed", "timed_out", "cancelled"];
export const SESSION_ENDS = ["completed", "failed", "timed_out", "crashed"];
const MAIN = join(import.meta.dir, "../../src/main.ts");

export function runsApi(grid: Grid, installId: string) {
  const api = {
    async deploy(manifest: Record<string, unknown>, files: Record<string, string>) {
      const form = new FormData();
      form.append("bundle", new Blob([Buffer.from(await bundleWith(manifest, files))], { type: "application/gzip" }), "bundle.tar.gz");
      const res = await fetch(`${grid.url}/api/v1/deployments`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_KEY}` }, body: form, signal: AbortSignal.timeout(60_000) });
      return { status: res.status, body: (await res.json()) as any };
    },
    trigger: (name: string, params: Record<string, unknown>) => grid.api("POST", `/api/v1/deployments/${name}/runs`, { params }),
    async runOf(id: string) {
      const r = await grid.api("GET", `/api/v1/runs/${id}`);
      expect(r.status).toBe(200);
      return r.body;
    },
    waitEnded: (id: string, timeoutMs = 120_000) =>
      waitFor(`run ${id} to end`, async () => {
        const run = await api.runOf(id);
        return RUN_ENDS.includes(run.status) ? run : null;
      }, timeoutMs, 50),
    eventsOf: async (id: string): Promise<{ type: string; detail: any; at: string }[]> => (await grid.api("GET", `/api/v1/runs/${id}/events`)).body.events,
    logOf: async (id: string): Promise<string> => (await grid.api("GET", `/api/v1/runs/${id}/logs`)).body,
    /** The runner containers of one run (all states). */
    runnersOf: (runId: string) => docker.listContainers({ all: true, filters: { label: [`browsergrid.install=${installId}`, "browsergrid.kind=runner", `browsergrid.run=${runId}`] } }),
    allRunners: () => docker.listContainers({ all: true, filters: { label: [`browsergrid.install=${installId}`, "browsergrid.kind=runner"] } }),
    /** The final status of a run's session (ending it may take a moment after the run ended). */
    sessionEnded: (id: string): Promise<string> =>
      waitFor(`session ${id} to end`, async () => {
        const s = await grid.api("GET", `/api/v1/sessions/${id}`);
        return SESSION_ENDS.includes(s.body.status) ? (s.body.status as string) : null;
      }, 15_000, 50),
    /** Waits for the run's browser container to be gone (sessions remove it just after they end); how long after the run's end that was. */
    async browserGoneAfter(run: { sessionId: string; endedAt: string }): Promise<number> {
      await waitFor(`the browser of session ${run.sessionId} to be removed`, async () => (await docker.listContainers({ all: true, filters: { label: [`browsergrid.session=${run.sessionId}`] } })).length === 0, 10_000, 25);
      return Date.now() - Date.parse(run.endedAt);
    },
    /** `browsergrid <args> --url … --key …`, to its exit. */
    async cli(...args: string[]): Promise<{ code: number; out: string }> {
      const { proc, output } = spawnCollecting([process.execPath, "run", MAIN, ...args, "--url", grid.url, "--key", ADMIN_KEY], { env: { PATH: process.env.PATH!, HOME: tmpdir() } });
      const code = await proc.exited;
      return { code, out: output() };
    },
  };
  return api;
}
