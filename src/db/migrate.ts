// Applies the SQL migrations embedded in the binary (migrations/index.ts), each in its own
// transaction, recorded by tag and checksum. Running it again changes nothing; a recorded
// migration whose text has changed stops start-up rather than leaving a half-known schema.
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
  const applied: string[] = [];
  for (const m of list) {
    const checksum = new Bun.CryptoHasher("sha256").update(m.sql).digest("hex");
    const recorded = done.get(m.tag);
    if (recorded !== undefined) {
      if (recorded !== checksum) throw new Error(`migration ${m.tag} was changed after it was applied; restore its original text`);
      continue;
    }
    const statements = m.sql.split("--> statement-breakpoint").map((s) => s.trim()).filter(Boolean);
    sqlite.transaction(() => {
      for (const s of statements) sqlite.exec(s);
      sqlite.query("INSERT INTO __migrations (tag, checksum, applied_at) VALUES (?, ?, ?)").run(m.tag, checksum, Date.now());
    })();
    applied.push(m.tag);
  }
  return applied;
}
