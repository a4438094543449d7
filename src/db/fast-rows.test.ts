import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dataGeneration, GenerationCache, OTHER_WRITERS_WINDOW_MS } from "./fast-rows";

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
