// Workers: places browsers run. One endpoint is one worker — the endpoint column is unique
// and registration is an upsert, so restarts and repeated registration never add a row.
import { eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { workers } from "../../db/schema";
import { newId } from "../../lib/ids";

export type Worker = typeof workers.$inferSelect;

export function registerWorker(
  db: Db,
  input: { name: string; poolId: string; endpoint: string; kind: Worker["kind"]; capacity?: number },
): Worker {
  db.insert(workers)
    .values({ id: newId("wrk"), name: input.name, poolId: input.poolId, endpoint: input.endpoint, kind: input.kind, capacity: input.capacity ?? 10 })
    .onConflictDoNothing({ target: workers.endpoint })
    .run();
  return db.select().from(workers).where(eq(workers.endpoint, input.endpoint)).get()!;
}

export function setWorkerStatus(db: Db, id: string, status: Worker["status"]): void {
  db.update(workers).set({ status, lastHeartbeatAt: Date.now() }).where(eq(workers.id, id)).run();
}

export function listWorkers(db: Db, poolId?: string): Worker[] {
  const q = db.select().from(workers);
  return (poolId ? q.where(eq(workers.poolId, poolId)) : q).all();
}
