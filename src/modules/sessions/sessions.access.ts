// Who may see a session, and who may hold its connect secrets.
//
// A session's connect secrets are its cdpUrl (the token in it opens a CDP connection, and a CDP
// client is as powerful as the browser's user: it runs script in every page, reads cookies and
// steers the browser) and its live links (signed URLs that need no account, so handing one out
// is sharing the session). Threat: a read-only account that can list sessions must not be able
// to take over another user's browser, so secrets go to the session's owner and to admins only.
// Everyone else who may read the session gets it without them (cdpUrl and liveUrl null).
//
// The connect token is per session (sessions.model.ts), so whoever holds it acts with the
// owner's standing: a session lives only while its owner may hold sessions — an enabled account
// with the member role or above, or a static key from the environment (admin). When that ends
// (disabled, deleted, demoted to viewer) the session is ended, and until it has ended the
// gateway refuses its token and the BrowserGrid.* domain refuses to mint links.
import type { Db } from "../../db/client";
import type { Actor } from "../../security/actor";
import { NotFound } from "../../lib/errors";
import { ownerOf } from "./sessions.model";
import * as store from "./sessions.store";

/** The roles that may own sessions and hold connect secrets: one list for the API, the gateway and the domain. */
const SESSION_HOLDER_ROLES: ReadonlySet<string> = new Set(["member", "admin"]);

/** Admins and viewers read every session; members read their own. */
export function canSeeAll(actor: Actor): boolean {
  return actor.role === "admin" || actor.role === "viewer";
}

export function findVisibleSession(db: Db, actor: Actor, id: string): store.SessionRow | undefined {
  const row = store.getSession(db, id);
  return row && (canSeeAll(actor) || (row.ownerId !== null && row.ownerId === ownerOf(actor).id)) ? row : undefined;
}

/** The session if the actor may read it; otherwise 404, the same as for an id that does not exist. */
export function visibleSession(db: Db, actor: Actor, id: string): store.SessionRow {
  const row = findVisibleSession(db, actor, id);
  if (!row) throw new NotFound(`Session ${id}`);
  return row;
}

/**
 * May this actor control the session and receive its connect secrets (cdpUrl, live links of
 * either mode, stop, screenshots)? Admins: every session. Members (and member-or-admin API
 * keys): the sessions they own. Viewers and viewer keys: none, not even their own.
 */
export function mayControlSession(actor: Actor, row: store.SessionRow): boolean {
  if (!SESSION_HOLDER_ROLES.has(actor.role)) return false;
  return actor.role === "admin" || (row.ownerId !== null && row.ownerId === ownerOf(actor).id);
}

/**
 * A short key naming which sessions' secrets an actor receives, for caches of rendered answers:
 * two actors with the same key get the same bytes for the same rows.
 */
export function secretsScopeKey(actor: Actor): string {
  if (actor.role === "admin") return "all";
  if (actor.role !== "member") return "none";
  return `own:${ownerOf(actor).id ?? ""}`;
}

/** Owner types whose id is a user id (sessions created with a cookie, an API key or through the SSO proxy). */
const USER_OWNED = new Set(["user", "api_key", "proxy"]);

/**
 * May the session's owner still hold sessions? Static keys (admins from the environment) may;
 * a user may while their account exists, is enabled and has the member role or above; a run
 * (the browser of a deployment run, src/modules/runs/) while it is queued or running. An
 * unknown owner type may not (default deny).
 */
export function ownerMayHoldSessions(db: Db, row: Pick<store.SessionRow, "ownerType" | "ownerId">): boolean {
  if (row.ownerType === "static_key") return true;
  if (row.ownerType === "run") return row.ownerId !== null && db.$client.query<{ n: number }, [string]>("SELECT count(*) AS n FROM runs WHERE id = ? AND status IN ('queued', 'running')").get(row.ownerId)?.n === 1;
  if (!USER_OWNED.has(row.ownerType) || row.ownerId === null) return false;
  const u = db.$client.query<{ role: string; disabledAt: number | null }, [string]>("SELECT role, disabled_at AS disabledAt FROM users WHERE id = ?").get(row.ownerId);
  return u !== null && u.disabledAt === null && SESSION_HOLDER_ROLES.has(u.role);
}
