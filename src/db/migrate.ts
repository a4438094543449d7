// Applies the SQL migrations embedded in the binary (migrations/index.ts), recorded by tag and
// checksum, all pending ones in one transaction: an upgrade lands whole or not at all, and a new
// database is created with one commit (one fsync) instead of one per migration. Running it again
// changes nothing; a recorded migration whose text has changed stops start-up rather than
// leaving a half-known schema.
import type { Database } from "bun:sqlite";
import { migrations } from "../../migrations";

export function applyMigrations(sqlite: Database, list = migrations): string[] {
  sqlite.exec(`CREATE TABLE IF NOT EXISTS __migrations (
    tag TEXT PRIMARY KEY NOT NULL,
    checksum TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const done = new Map(
    sqlite
      .query<{ tag: string; checksum: string }, []>("SELECT tag, checksum FROM __migrations")
      .all()
      .map((r) => [r.tag, r.checksum]),
  );
  const pending: { tag: string; sql: string; checksum: string }[] = [];
  for (const m of list) {
    const checksum = new Bun.CryptoHasher("sha256").update(m.sql).digest("hex");
    const recorded = done.get(m.tag);
    if (recorded === undefined) pending.push({ ...m, checksum });
    else if (recorded !== checksum) throw new Error(`migration ${m.tag} was changed after it was applied; restore its original text`);
  }
  if (pending.length === 0) return [];
  // A migration that rebuilds a table (create new, copy, drop old, rename) must run with foreign
  // keys off, or dropping the old table deletes the rows that point at it (ON DELETE CASCADE).
  // SQLite ignores that PRAGMA inside a transaction, so it is set around it, and every
  // reference is checked before the commit: a migration that leaves one dangling rolls back.
  const foreignKeys = sqlite.query<{ foreign_keys: number }, []>("PRAGMA foreign_keys").get()?.foreign_keys ?? 0;
  if (foreignKeys) sqlite.exec("PRAGMA foreign_keys = OFF");
  try {
    sqlite.transaction(() => {
      for (const m of pending) {
        for (const s of m.sql.split("--> statement-breakpoint").map((x) => x.trim()).filter(Boolean)) sqlite.exec(s);
        sqlite.query("INSERT INTO __migrations (tag, checksum, applied_at) VALUES (?, ?, ?)").run(m.tag, m.checksum, Date.now());
      }
      const dangling = sqlite.query<{ table: string; parent: string }, []>("PRAGMA foreign_key_check").all();
      if (dangling.length) throw new Error(`migrations left ${dangling.length} dangling reference(s), e.g. ${dangling[0]!.table} → ${dangling[0]!.parent}; nothing was applied`);
    })();
  } finally {
    if (foreignKeys) sqlite.exec("PRAGMA foreign_keys = ON");
  }
  return pending.map((m) => m.tag);
}
