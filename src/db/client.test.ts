import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, withoutFsync } from "./client";

const synchronous = (db: ReturnType<typeof openDatabase>) => (db.$client.query("PRAGMA synchronous").get() as { synchronous: number }).synchronous;

test("withoutFsync commits its write with synchronous=NORMAL and puts FULL back, even when the write throws", () => {
  const db = openDatabase(join(mkdtempSync(join(tmpdir(), "bg-sync-")), "t.db"));
  db.$client.exec("CREATE TABLE t (v TEXT)");
  expect(synchronous(db)).toBe(2); // FULL
  let during = -1;
  withoutFsync(db, () => {
    during = synchronous(db);
    db.$client.run("INSERT INTO t VALUES ('a')");
  });
  expect(during).toBe(1); // NORMAL
  expect(synchronous(db)).toBe(2);
  expect(() => withoutFsync(db, () => db.$client.run("INSERT INTO nowhere VALUES (1)"))).toThrow();
  expect(synchronous(db)).toBe(2);
  // Inside a transaction the setting is left alone: the transaction's own commit decides.
  db.$client.transaction(() => withoutFsync(db, () => (during = synchronous(db))))();
  expect(during).toBe(2);
  expect(db.$client.query("SELECT count(*) AS n FROM t").get()).toEqual({ n: 1 });
});
