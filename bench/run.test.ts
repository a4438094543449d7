// The benchmark suite's plumbing, not its numbers: `bench/run.ts --quick --only api` runs and
// writes a summary that parses and carries every SPEC.md target. No timing is asserted here —
// benchmarks are run with `bun run bench`, never as tests.
import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

test("bench/run.ts --quick --only api writes a summary report", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bg-bench-smoke-"));
  const p = Bun.spawn([process.execPath, "run", join(import.meta.dir, "run.ts"), "--quick", "--only", "api"], {
    env: { ...process.env, BENCH_RESULTS_DIR: dir },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) console.error(out, err);
  expect(code).toBe(0);
  const files = readdirSync(dir);
  const summary = files.find((f) => f.startsWith("summary-") && f.endsWith(".json"));
  expect(summary).toBeDefined();
  expect(files.some((f) => f.startsWith("summary-") && f.endsWith(".md"))).toBe(true);
  expect(files.some((f) => f.startsWith("api-") && f.endsWith(".json"))).toBe(true);
  const s = JSON.parse(readFileSync(join(dir, summary!), "utf8"));
  expect(s.benches.api.ok).toBe(true);
  expect(s.targets).toHaveLength(12);
  const list = s.targets.find((t: { target: string }) => t.target === "api-list");
  expect(typeof list.met).toBe("boolean");
  expect(list.measured).toContain("req/s");
}, 60_000);
