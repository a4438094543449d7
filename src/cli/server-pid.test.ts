import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PID_FILE, runningServerPid, writeServerPid } from "./server-pid";

const dir = mkdtempSync(join(tmpdir(), "bg-pid-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a live server's pid file names it; removing it leaves none", () => {
  const remove = writeServerPid(dir);
  expect(runningServerPid(dir)).toBe(process.pid);
  remove();
  expect(existsSync(join(dir, PID_FILE))).toBe(false);
  expect(runningServerPid(dir)).toBeNull();
});

test("a file left by a killed server is stale: a dead pid, or a live pid of another process (reused)", async () => {
  const child = Bun.spawn(["true"]);
  await child.exited;
  writeFileSync(join(dir, PID_FILE), JSON.stringify({ pid: child.pid, startTicks: "1" }));
  expect(runningServerPid(dir)).toBeNull();
  writeFileSync(join(dir, PID_FILE), JSON.stringify({ pid: process.pid, startTicks: "1" }));
  expect(runningServerPid(dir)).toBeNull();
  writeFileSync(join(dir, PID_FILE), "not json");
  expect(runningServerPid(dir)).toBeNull();
});
