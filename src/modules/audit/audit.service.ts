// The audit log: who did what, to what, when and from where. Written for sign-ins (good and
// bad), sign-outs, password changes, user and key changes and setup; other modules record
// their own actions with `audit()`. Details never hold secrets — callers pass names and ids.
import { and, desc, lt } from "drizzle-orm";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { auditLog } from "../../db/schema";

/** An authenticated actor, or a named system actor ("cli", "system", "anonymous"). */
export type AuditActor = Actor | { type: "cli" | "system" | "anonymous"; id?: string | null } | null;

export interface AuditEntry {
  id: number;
  at: string;
  actorType: string;
  actorId: string | null;
  action: string;
  target: string | null;
  ip: string | null;
  detail: Record<string, unknown> | null;
}

function actorFields(actor: AuditActor): { actorType: string; actorId: string | null } {
  if (!actor) return { actorType: "anonymous", actorId: null };
  if ("via" in actor) return { actorType: actor.type, actorId: actor.type === "user" || actor.type === "proxy" ? actor.userId : (actor.keyId ?? actor.userId) };
  return { actorType: actor.type, actorId: actor.id ?? null };
}

/** Records one action. Never throws: a failed audit write is logged, the action stands. */
export function audit(
  deps: Pick<AppDeps, "db" | "log"> & { now?: () => number },
  actor: AuditActor,
  action: string,
  target: string | null,
  detail: Record<string, unknown> | null,
  ip: string | null,
): void {
  try {
    deps.db
      .insert(auditLog)
      .values({ ...actorFields(actor), action, target, detail, ip, at: (deps.now ?? Date.now)() })
      .run();
  } catch (err) {
    deps.log.error("audit write failed", { err, action, target });
  }
}

/** Newest first; `cursor` is the id of the last entry of the previous page. */
export function listAudit(deps: Pick<AppDeps, "db">, opts: { limit: number; cursor?: number }): { items: AuditEntry[]; nextCursor: string | null } {
  const rows = deps.db
    .select()
    .from(auditLog)
    .where(opts.cursor !== undefined ? and(lt(auditLog.id, opts.cursor)) : undefined)
    .orderBy(desc(auditLog.id))
    .limit(opts.limit + 1)
    .all();
  const page = rows.slice(0, opts.limit);
  return {
    items: page.map((r) => ({
      id: r.id,
      at: new Date(r.at).toISOString(),
      actorType: r.actorType,
      actorId: r.actorId,
      action: r.action,
      target: r.target,
      ip: r.ip,
      detail: (r.detail as Record<string, unknown> | null) ?? null,
    })),
    nextCursor: rows.length > opts.limit ? String(page[page.length - 1]!.id) : null,
  };
}
