import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { openDatabase } from "./client";
import { dataGeneration, GenerationCache, insertReturning, OTHER_WRITERS_WINDOW_MS, updateReturning } from "./fast-rows";
import { pools, sessions } from "./schema";

function setup() {
  const path = join(mkdtempSync(join(tmpdir(), "bg-gen-")), "t.db");
  const a = new Database(path);
  a.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  a.run("INSERT INTO t (v) VALUES ('one')");
  const read = () => a.query<{ id: number; v: string }, []>("SELECT id, v FROM t ORDER BY id").all();
  return { a, other: new Database(path), read, cache: new GenerationCache<{ id: number; v: string }>(4) };
}

test("cached rows are served until this connection writes or another one commits", () => {
  const { a, other, read, cache } = setup();
  let reads = 0;
  const get = () => cache.get("all", dataGeneration(a), () => (reads++, read()), a.inTransaction);
  expect(get().map((r) => r.v)).toEqual(["one"]);
  expect(get().map((r) => r.v)).toEqual(["one"]);
  expect(reads).toBe(1);

  a.run("UPDATE t SET v = 'two'");
  expect(get().map((r) => r.v)).toEqual(["two"]);
  other.run("UPDATE t SET v = 'three'"); // another process, e.g. a CLI command
  Bun.sleepSync(OTHER_WRITERS_WINDOW_MS + 1); // its commit is seen within this window
  expect(get().map((r) => r.v)).toEqual(["three"]);
  expect(reads).toBe(3);
  expect(Object.isFrozen(get()[0])).toBe(true);
});

test("a read inside a transaction that is rolled back never reaches the cache", () => {
  const { a, read, cache } = setup();
  const get = () => cache.get("all", dataGeneration(a), read, a.inTransaction);
  expect(get().map((r) => r.v)).toEqual(["one"]);
  a.exec("BEGIN");
  a.run("UPDATE t SET v = 'uncommitted'");
  expect(get().map((r) => r.v)).toEqual(["uncommitted"]);
  a.exec("ROLLBACK");
  expect(get().map((r) => r.v)).toEqual(["one"]);
});

test("insertReturning and updateReturning write and return rows exactly as the query builder does", () => {
  const db = openDatabase(join(mkdtempSync(join(tmpdir(), "bg-write-")), "t.db"));
  const pool = db.insert(pools).values({ id: "pool_fast_rows", name: "default" }).returning().get();
  const base = { poolId: pool.id, ownerType: "static_key", status: "running" as const, config: { browser: "headless-shell", n: [1, 2] }, metadata: { a: "x" }, timeoutSec: 60, idleTimeoutSec: 30, workerId: undefined };
  const fast = insertReturning(db.$client, sessions, { ...base, id: "ses_fast" });
  const built = db.insert(sessions).values({ ...base, id: "ses_built" }).returning().get();
  // Defaults (keep_alive, created_at, bytes) come from the column definitions; JSON decodes.
  expect({ ...fast, id: "", createdAt: 0 }).toEqual({ ...built, id: "", createdAt: 0 });
  expect(fast.keepAlive).toBe(false);
  expect(fast.config).toEqual({ browser: "headless-shell", n: [1, 2] });
  expect(fast.workerId).toBeNull();
  expect(Math.abs(fast.createdAt - Date.now())).toBeLessThan(60_000);

  const updated = updateReturning(db.$client, sessions, { keepAlive: true, metadata: { b: 1 }, endReason: undefined }, "id = ? AND status IN (?)", ["ses_fast", "running"]);
  expect(updated).toEqual(db.select().from(sessions).where(eq(sessions.id, "ses_fast")).get()!);
  expect(updated!.keepAlive).toBe(true);
  expect(updated!.metadata).toEqual({ b: 1 });
  expect(updateReturning(db.$client, sessions, { keepAlive: false }, "id = ? AND status IN (?)", ["ses_fast", "queued"])).toBeUndefined();
  expect(() => insertReturning(db.$client, sessions, { ...base, id: "ses_bad", colour: "red" } as never)).toThrow('sessions has no column "colour"');
  expect(db.select().from(sessions).all().map((r) => r.id).sort()).toEqual(["ses_built", "ses_fast"]);
});
