// Work pools: named capacity with defaults. Every install has a pool named "default".
import { eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { pools } from "../../db/schema";
import { newId } from "../../lib/ids";

export type Pool = typeof pools.$inferSelect;

export function ensureDefaultPool(db: Db): Pool {
  const existing = db.select().from(pools).where(eq(pools.name, "default")).get();
  if (existing) return existing;
  db.insert(pools).values({ id: newId("pool"), name: "default" }).onConflictDoNothing().run();
  return db.select().from(pools).where(eq(pools.name, "default")).get()!;
}

export function findPoolByName(db: Db, name: string): Pool | undefined {
  return db.select().from(pools).where(eq(pools.name, name)).get();
}

export function findPoolById(db: Db, id: string): Pool | undefined {
  return db.select().from(pools).where(eq(pools.id, id)).get();
}

export function listPools(db: Db): Pool[] {
  return db.select().from(pools).orderBy(pools.name).all();
}
