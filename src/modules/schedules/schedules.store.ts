// Schedule rows: reads and writes of the `schedules` table, and the one write the clock makes
// per tick (markTick), which claims a tick exactly once: it moves `lastFireAt` forward only, in
// an immediate transaction, so two clocks (or one clock after a restart) cannot both act on the
// same scheduled time.
import { findDeployment } from "../deployments/deployments.store";
import { and, asc, eq, getTableColumns, isNull, lt, or } from "drizzle-orm";
import type { Db } from "../../db/client";
import { deployments, schedules } from "../../db/schema";

export type ScheduleRow = typeof schedules.$inferSelect;
export type ScheduleWithDeployment = ScheduleRow & { deploymentName: string };
export type OverlapPolicy = ScheduleRow["overlap"];
export const OVERLAP_POLICIES = ["skip", "queue", "allow"] as const satisfies readonly OverlapPolicy[];

/** A deployment by its name: the deployments store's lookup. */
export function deploymentByName(db: Db, name: string): { id: string; name: string } | undefined {
  return findDeployment(db, name);
}

export function insertSchedule(db: Db, row: typeof schedules.$inferInsert): void {
  db.insert(schedules).values(row).run();
}

/** A schedule's columns and its deployment's name. */
const withName = { ...getTableColumns(schedules), deploymentName: deployments.name };

export function getSchedule(db: Db, id: string): ScheduleWithDeployment | undefined {
  return db.select(withName).from(schedules).innerJoin(deployments, eq(deployments.id, schedules.deploymentId)).where(eq(schedules.id, id)).get();
}

/** Oldest first; `deploymentId` narrows to one deployment. */
export function listSchedules(db: Db, opts: { deploymentId?: string; enabledOnly?: boolean } = {}): ScheduleWithDeployment[] {
  const where = and(opts.deploymentId ? eq(schedules.deploymentId, opts.deploymentId) : undefined, opts.enabledOnly ? eq(schedules.enabled, true) : undefined);
  return db.select(withName).from(schedules).innerJoin(deployments, eq(deployments.id, schedules.deploymentId)).where(where).orderBy(asc(schedules.createdAt), asc(schedules.id)).all();
}

export function updateSchedule(db: Db, id: string, patch: Partial<Pick<ScheduleRow, "cron" | "timezone" | "params" | "overlap" | "enabled" | "catchUp">>, now: number): boolean {
  return db.update(schedules).set({ ...patch, updatedAt: now }).where(eq(schedules.id, id)).returning({ id: schedules.id }).all().length > 0;
}

export function deleteSchedule(db: Db, id: string): boolean {
  return db.delete(schedules).where(eq(schedules.id, id)).returning({ id: schedules.id }).all().length > 0;
}

/**
 * Claims the tick scheduled at `scheduledAt` and, in the same transaction, runs `decide` on the
 * row as it is now. Answers "gone" (no such row, or paused), "taken" (this tick or a later one
 * was claimed already), or what `decide` returned. Once this commits the tick is never claimed
 * again, whatever happens to the process after.
 */
export function markTick<T>(db: Db, id: string, scheduledAt: number, decide: (row: ScheduleRow) => T): { claimed: false; why: "gone" | "taken" } | { claimed: true; row: ScheduleRow; decision: T } {
  return db.transaction(
    (tx) => {
      const row = tx.select().from(schedules).where(eq(schedules.id, id)).get();
      if (!row || !row.enabled) return { claimed: false as const, why: "gone" as const };
      const moved = tx
        .update(schedules)
        .set({ lastFireAt: scheduledAt })
        .where(and(eq(schedules.id, id), or(isNull(schedules.lastFireAt), lt(schedules.lastFireAt, scheduledAt))))
        .returning({ id: schedules.id })
        .all().length;
      if (!moved) return { claimed: false as const, why: "taken" as const };
      return { claimed: true as const, row: { ...row, lastFireAt: scheduledAt }, decision: decide(row) };
    },
    { behavior: "immediate" },
  );
}

export function listDeploymentNames(db: Db): string[] {
  return db.select({ name: deployments.name }).from(deployments).orderBy(asc(deployments.name)).all().map((d) => d.name);
}
