// SQLite is a local file: WAL for concurrent readers, busy_timeout instead of SQLITE_BUSY
// errors, foreign keys enforced, synchronous=FULL so a committed row survives power loss.
import { Database } from "bun:sqlite";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { join } from "node:path";
import * as schema from "./schema";
import { applyMigrations } from "./migrate";

export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database };

export function openDatabase(path: string): Db {
  const sqlite = new Database(path, { create: true, strict: true });
  sqlite.exec("PRAGMA journal_mode = WAL");
  sqlite.exec("PRAGMA busy_timeout = 5000");
  sqlite.exec("PRAGMA foreign_keys = ON");
  sqlite.exec("PRAGMA synchronous = FULL");
  applyMigrations(sqlite);
  return drizzle(sqlite, { schema }) as Db;
}

/**
 * Runs `write` without waiting for the disk (synchronous = NORMAL for its commit): for records
 * whose loss in a power cut is harmless, such as timeline notes written while a CDP client
 * connects (an fsync here is ≈ 1.3 ms p50 and tens of ms at the tail, and it blocks the one
 * event loop that relays CDP messages). Ordering is kept: the WAL is append-only, so the next
 * durable commit makes these rows durable too. Inside a transaction it changes nothing.
 */
export function withoutFsync<T>(db: Db, write: () => T): T {
  const c = db.$client;
  if (c.inTransaction) return write();
  c.exec("PRAGMA synchronous = NORMAL");
  try {
    return write();
  } finally {
    c.exec("PRAGMA synchronous = FULL");
  }
}

export function databasePath(dataDir: string): string {
  return join(dataDir, "browsergrid.db");
}

/** An in-memory database with every migration applied, for unit tests. */
export function openMemoryDatabase(): Db {
  return openDatabase(":memory:");
}
