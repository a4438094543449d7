// Who may see a run, and what a run's own token may do — one definition for the API routes,
// the pages and the auth plugin.
//
// People: every signed-in role reads every run (deployments are shared by the install, like
// pools); members and admins trigger, cancel and re-run (the routes' `auth` roles).
// A run's code holds BROWSERGRID_RUN_TOKEN. Threat: code from a bundle (and every dependency it
// pulled in) runs with that token, so it must open nothing but its own run: it may read its run
// (GET /api/v1/runs/:id and its events) and the session its browser runs in (GET
// /api/v1/sessions/:id), while the run is not over. Everything else answers 403, whatever the
// route's role says: the auth plugin asks runTokenMayCall before any route's own check.
import type { Actor } from "../../security/actor";
import type { Db } from "../../db/client";
import { NotFound } from "../../lib/errors";
import { getRun, type RunRow } from "./runs.store";
import { runOfToken } from "./runs.tokens";

/** The routes a run token may call, as registered ("METHOD /path"), and which id each must name. */
const RUN_TOKEN_ROUTES: ReadonlyMap<string, "run" | "session"> = new Map([
  ["GET /api/v1/runs/:id", "run"],
  ["GET /api/v1/runs/:id/events", "run"],
  ["GET /api/v1/sessions/:id", "session"],
]);

/** The actor of a run token, or null when the token opens nothing (runs.tokens.ts). */
export function runActorOf(db: Db, token: string): Actor | null {
  const run = runOfToken(db, token);
  if (!run) return null;
  return { type: "run", userId: null, role: "viewer", via: "bearer", runId: run.id };
}

/**
 * May this run actor call this route with these params? Only the listed reads, only of its own
 * run and of that run's current session (read from the database now, so a later attempt's
 * session is the one allowed).
 */
export function runTokenMayCall(db: Db, actor: Actor, method: string, route: string, params: Record<string, string | undefined> | undefined): boolean {
  const names = RUN_TOKEN_ROUTES.get(`${method} ${route}`);
  if (!names || !actor.runId) return false;
  const id = params?.id;
  if (names === "run") return id === actor.runId;
  const run = getRun(db, actor.runId);
  return run !== undefined && run.sessionId !== null && id === run.sessionId;
}

/** May `actor` read `run`? */
export function maySeeRun(actor: Actor, run: Pick<RunRow, "id">): boolean {
  if (actor.type === "run") return actor.runId === run.id;
  return true;
}

/** The run if the actor may read it; otherwise 404, the same as for an id that does not exist. */
export function visibleRun(db: Db, actor: Actor, id: string): RunRow {
  const run = getRun(db, id);
  if (!run || !maySeeRun(actor, run)) throw new NotFound(`Run ${id}`);
  return run;
}
