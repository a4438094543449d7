// `browsergrid workers` and the pools a worker serves, against a real data directory, as an
// operator runs them: add with --pools, list shows them, update replaces them, bad lists are
// refused with a message and change nothing.
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../main.ts");

function run(dataDir: string, args: string[]) {
  const p = Bun.spawnSync([process.execPath, "run", MAIN, ...args], {
    env: { PATH: process.env.PATH!, HOME: dataDir, BROWSERGRID_DATA_DIR: dataDir, BROWSERGRID_LOG_LEVEL: "error" },
    stdin: "ignore",
  });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}

test("workers add --pools, list, update --pools; unknown or empty pools refused", () => {
  const dir = mkdtempSync(join(tmpdir(), "bg-cli-workers-"));
  expect(run(dir, ["workers", "--help"]).out).toContain("--pools all|<pool>,<pool>");
  expect(run(dir, ["pools", "create", "gpu"]).code).toBe(0);
  expect(run(dir, ["pools", "create", "eu"]).code).toBe(0);
  const unknown = run(dir, ["workers", "add", "local", "--pools", "gpu,nope"]);
  expect(unknown.code).toBe(1);
  expect(unknown.err).toContain('Unknown pool "nope"');
  expect(JSON.parse(run(dir, ["workers", "list", "--json"]).out)).toEqual([]);

  const added = run(dir, ["workers", "add", "local", "--pools", "gpu,eu", "--capacity", "4"]);
  expect(added.code).toBe(0);
  const [w] = JSON.parse(run(dir, ["workers", "list", "--json"]).out);
  expect(w).toMatchObject({ kind: "local", capacity: 4, pools: ["eu", "gpu"] });
  expect(JSON.parse(run(dir, ["workers", "list", "--pool", "default", "--json"]).out)).toEqual([]);

  expect(run(dir, ["workers", "update", w.id, "--pools", "default"]).out).toContain("pools default");
  expect(JSON.parse(run(dir, ["workers", "list", "--pool", "default", "--json"]).out)).toHaveLength(1);
  const empty = run(dir, ["workers", "update", w.id, "--pools", ","]);
  expect(empty.code).toBe(1);
  expect(empty.err).toContain("at least one pool");
  expect(run(dir, ["workers", "update", w.id, "--pools", "all"]).out).toContain("pools all");
  expect(run(dir, ["workers", "list"]).out).toContain("pools: all pools");
}, 60_000);
