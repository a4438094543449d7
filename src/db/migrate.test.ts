import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import journal from "../../migrations/meta/_journal.json";
import { migrations } from "../../migrations";
import { applyMigrations } from "./migrate";
import { openMemoryDatabase } from "./client";

describe("migrations", () => {
  test("the embedded index lists every SQL file of drizzle-kit's journal, in order", () => {
    const files = readdirSync(join(import.meta.dir, "../../migrations")).filter((f) => f.endsWith(".sql")).sort();
    expect(migrations.map((m) => `${m.tag}.sql`)).toEqual(files);
    expect(migrations.map((m) => m.tag)).toEqual(journal.entries.map((e) => e.tag));
  });

  test("apply once, record them, and a second run changes nothing", () => {
    const db = new Database(":memory:");
    expect(applyMigrations(db)).toEqual(migrations.map((m) => m.tag));
    const schemaBefore = db.query("SELECT sql FROM sqlite_master ORDER BY name").all();
    expect(applyMigrations(db)).toEqual([]);
    expect(db.query("SELECT sql FROM sqlite_master ORDER BY name").all()).toEqual(schemaBefore);
    expect(db.query("SELECT count(*) AS n FROM __migrations").get()).toEqual({ n: migrations.length });
  });

  test("a failing migration rolls back entirely and is not recorded", () => {
    const db = new Database(":memory:");
    applyMigrations(db);
    const bad = [...migrations, { tag: "9999_bad", sql: "CREATE TABLE half (x);--> statement-breakpoint\nTHIS IS NOT SQL" }];
    expect(() => applyMigrations(db, bad)).toThrow();
    expect(db.query("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeNull();
    expect(db.query("SELECT tag FROM __migrations WHERE tag = '9999_bad'").get()).toBeNull();
  });

  test("pending migrations land together: one failing leaves the ones before it unapplied too", () => {
    const db = new Database(":memory:");
    applyMigrations(db, migrations.slice(0, 1));
    const next = [...migrations, { tag: "9999_bad", sql: "THIS IS NOT SQL" }];
    expect(() => applyMigrations(db, next)).toThrow();
    expect(db.query("SELECT tag FROM __migrations ORDER BY tag").all()).toEqual([{ tag: migrations[0]!.tag }]);
    expect(applyMigrations(db)).toEqual(migrations.slice(1).map((m) => m.tag)); // nothing of the failed run was left behind
  });

  test("an applied migration whose text changed stops start-up", () => {
    const db = new Database(":memory:");
    applyMigrations(db);
    const changed = migrations.map((m, i) => (i === 0 ? { ...m, sql: m.sql + "\n-- edited" } : m));
    expect(() => applyMigrations(db, changed)).toThrow(/was changed after it was applied/);
  });

  test("PRAGMAs: WAL is irrelevant in memory, but foreign keys and busy timeout are on", () => {
    const db = openMemoryDatabase();
    expect(db.$client.query("PRAGMA foreign_keys").get()).toEqual({ foreign_keys: 1 });
    expect(db.$client.query("PRAGMA busy_timeout").get()).toEqual({ timeout: 5000 });
    expect(db.$client.query("PRAGMA synchronous").get()).toEqual({ synchronous: 2 });
  });
});
