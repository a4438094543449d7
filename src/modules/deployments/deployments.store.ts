// The rows of deployments and their versions. A version row is written only after its bundle is
// in the blob store (deployments.service.ts), in one transaction with the deployment row, so a
// row never points at a bundle that is not there.
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { deployments, deploymentVersions, runs } from "../../db/schema";

export type DeploymentRow = typeof deployments.$inferSelect;
export type VersionRow = typeof deploymentVersions.$inferSelect;

/** By id (dep_…) or by name. */
export function findDeployment(db: Db, idOrName: string): DeploymentRow | undefined {
  return db.select().from(deployments).where(eq(deployments.name, idOrName)).get() ?? db.select().from(deployments).where(eq(deployments.id, idOrName)).get();
}

export function listDeployments(db: Db): DeploymentRow[] {
  return db.select().from(deployments).orderBy(deployments.name).all();
}

export function listVersions(db: Db, deploymentId: string): VersionRow[] {
  return db.select().from(deploymentVersions).where(eq(deploymentVersions.deploymentId, deploymentId)).orderBy(desc(deploymentVersions.version)).all();
}

export function findVersion(db: Db, deploymentId: string, version: number): VersionRow | undefined {
  return db
    .select()
    .from(deploymentVersions)
    .where(and(eq(deploymentVersions.deploymentId, deploymentId), eq(deploymentVersions.version, version)))
    .get();
}

export function latestVersion(db: Db, deploymentId: string): number {
  return db.select({ n: sql<number>`coalesce(max(${deploymentVersions.version}), 0)` }).from(deploymentVersions).where(eq(deploymentVersions.deploymentId, deploymentId)).get()?.n ?? 0;
}

export function versionCounts(db: Db): Map<string, number> {
  const rows = db.select({ id: deploymentVersions.deploymentId, n: sql<number>`count(*)` }).from(deploymentVersions).groupBy(deploymentVersions.deploymentId).all();
  return new Map(rows.map((r) => [r.id, r.n]));
}

/**
 * Adds a version (and the deployment on its first upload); `activate` makes it current. The
 * version number was reserved by the caller under its per-name lock.
 */
export function insertVersion(db: Db, d: { id: string; name: string; createdBy: string | null; isNew: boolean }, v: Omit<VersionRow, "createdAt">, activate: boolean, now: number): DeploymentRow {
  return db.transaction((tx) => {
    if (d.isNew) tx.insert(deployments).values({ id: d.id, name: d.name, currentVersion: null, createdBy: d.createdBy, createdAt: now, updatedAt: now }).run();
    tx.insert(deploymentVersions).values({ ...v, createdAt: now }).run();
    const set: Partial<DeploymentRow> = { updatedAt: now };
    if (activate || d.isNew) set.currentVersion = v.version;
    return tx.update(deployments).set(set).where(eq(deployments.id, d.id)).returning().get()!;
  });
}

export function setCurrentVersion(db: Db, deploymentId: string, version: number, now: number): DeploymentRow {
  return db.update(deployments).set({ currentVersion: version, updatedAt: now }).where(eq(deployments.id, deploymentId)).returning().get()!;
}

/** Runs of the deployment that are queued or running (they hold its bundle and secrets). */
export function activeRunCount(db: Db, deploymentId: string): number {
  return (
    db
      .select({ n: sql<number>`count(*)` })
      .from(runs)
      .where(and(eq(runs.deploymentId, deploymentId), inArray(runs.status, ["queued", "running"])))
      .get()?.n ?? 0
  );
}

export function deleteDeploymentRow(db: Db, deploymentId: string): void {
  db.delete(deployments).where(eq(deployments.id, deploymentId)).run();
}
