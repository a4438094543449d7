// Install-wide settings kept in the database (PocketBase-style), e.g. the install id that
// labels every container this install owns.
import type { Db } from "../../db/client";
import { selectRows } from "../../db/fast-rows";
import { settings } from "../../db/schema";

export function getSetting<T>(db: Db, key: string): T | undefined {
  return selectRows(db.$client, settings, "key = ?", [key])[0]?.value as T | undefined;
}

export function setSetting(db: Db, key: string, value: unknown): void {
  db.insert(settings)
    .values({ key, value, updatedAt: Date.now() })
    .onConflictDoUpdate({ target: settings.key, set: { value, updatedAt: Date.now() } })
    .run();
}

/** Returns the stored value, creating it once with `make()` (first writer wins). */
export function getOrCreateSetting<T>(db: Db, key: string, make: () => T): T {
  db.insert(settings).values({ key, value: make() }).onConflictDoNothing().run();
  return getSetting<T>(db, key)!;
}
