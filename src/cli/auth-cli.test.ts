// `browsergrid admin` and `browsergrid keys` against a real data directory, as an operator runs them.
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";

const MAIN = join(import.meta.dir, "../main.ts");

function run(dataDir: string, args: string[], stdin?: string) {
  const p = Bun.spawnSync([process.execPath, "run", MAIN, ...args], {
    env: { PATH: process.env.PATH!, HOME: dataDir, BROWSERGRID_DATA_DIR: dataDir, BROWSERGRID_LOG_LEVEL: "error" },
    stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
  });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
}

test("admin create, keys create/list/revoke; weak passwords refused; --help everywhere", () => {
  const dir = mkdtempSync(join(tmpdir(), "bg-cli-"));
  for (const c of ["admin", "keys"]) expect(run(dir, [c, "--help"]).out).toContain(`browsergrid ${c}`);
  const weak = run(dir, ["admin", "create", "--email", "ops@example.com", "--password-stdin"], "short\n");
  expect(weak.code).toBe(1);
  expect(weak.err).toContain("at least 12");
  expect(run(dir, ["admin", "create", "--email", "ops@example.com"]).err).toContain("--password-stdin");
  writeFileSync(join(dir, "setup-token"), "a-first-run-token-a-server-wrote\n", { mode: 0o600 });
  expect(run(dir, ["admin", "create", "--email", "ops@example.com", "--password-stdin"], "operator-password-1\n").code).toBe(0);
  expect(existsSync(join(dir, "setup-token"))).toBe(false); // an account exists: the first-run token is gone
  const created = run(dir, ["keys", "create", "--email", "ops@example.com", "--name", "deploy", "--role", "member"]);
  expect(created.code).toBe(0);
  const key = created.out.trim();
  expect(key).toMatch(/^bg_[a-z0-9]{12}_[A-Za-z0-9]{43}$/);
  const list = JSON.parse(run(dir, ["keys", "list", "--json"]).out);
  expect(list).toMatchObject([{ name: "deploy", role: "member", owner: "ops@example.com" }]);
  expect(JSON.stringify(list)).not.toContain(key.split("_")[2]);
  expect(run(dir, ["keys", "revoke", list[0].id]).code).toBe(0);
  expect(run(dir, ["keys", "list"]).out).toContain("no API keys");
  const db = new Database(join(dir, "browsergrid.db"), { readonly: true });
  expect(db.query("SELECT action FROM audit_log ORDER BY id").all()).toEqual([{ action: "user.created" }, { action: "api_key.created" }, { action: "api_key.revoked" }]);
  db.close();
}, 60_000);
