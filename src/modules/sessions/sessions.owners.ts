// Sessions follow their owner's account. Threat: a user who is disabled, deleted or made a
// viewer (someone who left, a leaked account being shut) keeps a browser running on the server
// and a cdpUrl token that still opens it. So every live session of theirs — queued, starting,
// running — is ended through the normal stop path: clients closed, a persisting profile saved,
// downloads copied, container removed, token and live links dead.
import type { Db } from "../../db/client";
import { ownerMayHoldSessions } from "./sessions.access";
import type { SessionService } from "./sessions.service";
import * as store from "./sessions.store";

/**
 * Ends the live sessions of user `userId` if the user may no longer hold sessions (call it after
 * the account change is committed). Resolves once they have ended, with their ids.
 */
export async function endSessionsOfUnfitOwner(deps: { db: Db; sessions: SessionService }, userId: string, reason: string): Promise<string[]> {
  const rows = store.liveSessions(deps.db).filter((r) => r.ownerId === userId && r.ownerType !== "static_key" && !ownerMayHoldSessions(deps.db, r));
  await Promise.all(rows.map((r) => deps.sessions.end(r.id, "completed", reason)));
  return rows.map((r) => r.id);
}
