// Bad configuration stops start-up with one line naming the variable, and creates nothing.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "./config";

const tmp = () => mkdtempSync(join(tmpdir(), "bg-config-"));
const MAIN = join(import.meta.dir, "main.ts");

function serve(env: Record<string, string>, asUser?: string) {
  const cmd = asUser ? ["runuser", "-u", asUser, "--", process.execPath, "run", MAIN, "serve"] : [process.execPath, "run", MAIN, "serve"];
  const p = Bun.spawnSync(cmd, { env: { PATH: process.env.PATH!, HOME: "/tmp", ...env }, stderr: "pipe", stdout: "pipe", timeout: 20_000 });
  return { code: p.exitCode, stderr: p.stderr.toString().trim(), stdout: p.stdout.toString() };
}

describe("loadConfig", () => {
  test("defaults", () => {
    const dir = join(tmp(), "data");
    const c = loadConfig({ BROWSERGRID_DATA_DIR: dir });
    expect(c).toMatchObject({ host: "127.0.0.1", port: 7070, publicUrl: "http://127.0.0.1:7070", logLevel: "info" });
    expect(existsSync(dir)).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
    expect(c).toMatchObject({ engineTimeoutMs: 10_000, heartbeatMs: 5_000 });
    expect(loadConfig({ BROWSERGRID_DATA_DIR: dir, BROWSERGRID_ENGINE_TIMEOUT_MS: "2500", BROWSERGRID_HEARTBEAT_MS: "1000" })).toMatchObject({ engineTimeoutMs: 2_500, heartbeatMs: 1_000 });
    expect(c.runnerPort).toBe(0);
    expect(loadConfig({ BROWSERGRID_DATA_DIR: dir, BROWSERGRID_RUNNER_PORT: "7171" }).runnerPort).toBe(7171);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ["port out of range", { BROWSERGRID_PORT: "70000" }, /^BROWSERGRID_PORT: must be from 1 to 65535/],
    ["port not a number", { BROWSERGRID_PORT: "80a" }, /^BROWSERGRID_PORT: must be a whole number/],
    ["unknown log level", { BROWSERGRID_LOG_LEVEL: "loud" }, /^BROWSERGRID_LOG_LEVEL: must be one of debug, info, warn, error/],
    ["public URL not a URL", { BROWSERGRID_PUBLIC_URL: "grid example" }, /^BROWSERGRID_PUBLIC_URL: /],
    ["public URL not http", { BROWSERGRID_PUBLIC_URL: "ftp://x" }, /^BROWSERGRID_PUBLIC_URL: must start with http/],
    ["malformed static key", { BROWSERGRID_API_KEYS: "hunter2" }, /^BROWSERGRID_API_KEYS: /],
    ["admin email without password", { BROWSERGRID_ADMIN_EMAIL: "a@b.c" }, /^BROWSERGRID_ADMIN_PASSWORD: /],
    ["data dir under a file", { BROWSERGRID_DATA_DIR: "/etc/hostname/data" }, /^BROWSERGRID_DATA_DIR: .*not a directory/],
    ["engine deadline below 200 ms", { BROWSERGRID_ENGINE_TIMEOUT_MS: "50" }, /^BROWSERGRID_ENGINE_TIMEOUT_MS: must be from 200 to 600000/],
    ["engine deadline not a number", { BROWSERGRID_ENGINE_TIMEOUT_MS: "10s" }, /^BROWSERGRID_ENGINE_TIMEOUT_MS: must be a whole number/],
    ["heartbeat of zero", { BROWSERGRID_HEARTBEAT_MS: "0" }, /^BROWSERGRID_HEARTBEAT_MS: must be from 200 to 600000/],
    ["runner door port out of range", { BROWSERGRID_RUNNER_PORT: "65536" }, /^BROWSERGRID_RUNNER_PORT: must be from 0 to 65535/],
    ["runner door port equal to the main port", { BROWSERGRID_PORT: "7171", BROWSERGRID_RUNNER_PORT: "7171" }, /^BROWSERGRID_RUNNER_PORT: must differ from BROWSERGRID_PORT/],
  ];
  for (const [name, env, message] of bad)
    test(`rejects ${name}, creating nothing`, () => {
      const dir = join(tmp(), "data");
      const e = (() => {
        try {
          loadConfig({ BROWSERGRID_DATA_DIR: dir, ...env });
        } catch (err) {
          return err;
        }
      })();
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as Error).message).toMatch(message);
      if (!env.BROWSERGRID_DATA_DIR) expect(existsSync(dir)).toBe(false);
    });
});

describe("browsergrid serve with bad configuration", () => {
  test("port out of range: exit 2, one line naming the variable, no data dir", () => {
    const dir = join(tmp(), "data");
    const r = serve({ BROWSERGRID_DATA_DIR: dir, BROWSERGRID_PORT: "0" });
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("BROWSERGRID_PORT");
    expect(existsSync(dir)).toBe(false);
  });

  test("unknown log level: exit 2, one line, no data dir", () => {
    const dir = join(tmp(), "data");
    const r = serve({ BROWSERGRID_DATA_DIR: dir, BROWSERGRID_LOG_LEVEL: "verbose" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^browsergrid: invalid configuration: BROWSERGRID_LOG_LEVEL: /);
    expect(existsSync(dir)).toBe(false);
  });

  test("unwritable data dir (as an unprivileged user): exit 2, nothing created", () => {
    const parent = tmp();
    chmodSync(parent, 0o755); // readable, not writable, by others
    const dir = join(parent, "data");
    const r = serve({ BROWSERGRID_DATA_DIR: dir }, "nobody");
    expect(r.stderr).toMatch(/^browsergrid: invalid configuration: BROWSERGRID_DATA_DIR: cannot create .* not writable/);
    expect(r.code).toBe(2);
    expect(existsSync(dir)).toBe(false);
  });
});
