// The output dir's tar, as a run's code may have shaped it: result.json parsed (capped), files
// stored as the run's artifacts, and links, devices and escaping names skipped, never stored.
import { expect, test } from "bun:test";
import { pack } from "tar-stream";
import { makeTestApp } from "../../../test/helpers/app";
import { storageOf } from "../profiles/session-storage";
import { collectOutput, OUTPUT_LIMITS } from "./runs.output";

async function sessionRow(t: Awaited<ReturnType<typeof makeTestApp>>): Promise<string> {
  const id = "ses_outputtest0000000001";
  t.deps.db.$client
    .query("INSERT INTO sessions (id, status, pool_id, owner_type, config, metadata, timeout_sec, idle_timeout_sec) VALUES (?, 'completed', (SELECT id FROM pools LIMIT 1), 'run', '{}', '{}', 60, 60)")
    .run(id);
  return id;
}

test("result.json parsed, files stored with the run id, links and escaping names skipped", async () => {
  const t = await makeTestApp();
  const sessionId = await sessionRow(t);
  const p = pack();
  p.entry({ name: "output/", type: "directory" });
  p.entry({ name: "output/result.json" }, '{"ok":true}');
  p.entry({ name: "output/sub/page.html" }, "<p>hi</p>");
  p.entry({ name: "output/link", type: "symlink", linkname: "/etc/passwd" });
  p.entry({ name: "output/../../escape.txt" }, "nope");
  p.finalize();
  const out = await collectOutput(p as unknown as NodeJS.ReadableStream, { artifacts: storageOf(t.deps).artifacts, sessionId, runId: "run_abc" });
  expect(out.result).toEqual({ ok: true });
  expect(out.artifacts.map((a) => a.name)).toEqual(["sub/page.html"]);
  expect(out.skipped.map((s) => s.why).sort()).toEqual(["name leaves the output dir", "not a regular file (symlink)"]);
  const rows = storageOf(t.deps).artifacts.listOfRun("run_abc");
  expect(rows.map((r) => [r.name, r.kind, r.sessionId])).toEqual([["sub/page.html", "output", sessionId]]);
});

test("a result.json past its cap is not read", async () => {
  const t = await makeTestApp();
  const sessionId = await sessionRow(t);
  const p = pack();
  p.entry({ name: "output/result.json" }, "1".repeat(OUTPUT_LIMITS.resultBytes + 1));
  p.finalize();
  const out = await collectOutput(p as unknown as NodeJS.ReadableStream, { artifacts: storageOf(t.deps).artifacts, sessionId, runId: "run_abc" });
  expect(out.result).toBeUndefined();
  expect(out.resultProblem).toContain("larger than");
});
