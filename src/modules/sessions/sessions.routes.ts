// /api/v1/sessions — thin handlers over SessionService. Members see and stop their own
// sessions; viewers read all; admins do everything. A session's connect secrets (cdpUrl,
// liveUrl) go to its owner and to admins only (sessions.access.ts).
import { Elysia, t } from "elysia";
import type { Actor } from "../../security/actor";
import { BadRequest } from "../../lib/errors";
import type { SessionService } from "./sessions.service";
import * as store from "./sessions.store";
import { CreateSessionBody, LIST_LIMITS, ListSessionsQuery, MAX_METADATA_BYTES, SESSION_STATUSES, SessionEvent, SessionParams, SessionResponse } from "./sessions.schema";
import { ownerOf, toPublicEvent } from "./sessions.model";
import type { Db } from "../../db/client";
import { namesOf } from "./sessions.names";
import { authMacro } from "../../http/plugins/auth";
import { errorFor, jsonText } from "../../http/errors";
import type { FastRoute } from "../../http/fast-reads";
import { canSeeAll, findVisibleSession, visibleSession } from "./sessions.access";

// Other modules' session routes (artifacts, rule sets) look sessions up through here.
export { canSeeAll, visibleSession } from "./sessions.access";

/** A page of GET /api/v1/sessions as JSON (each row's JSON is remembered, sessions.model.ts). */
function listPage(deps: { db: Db; sessions: SessionService }, actor: Actor, query: { status?: store.SessionRow["status"]; pool?: string; limit?: number | string; cursor?: string }): Blob | string {
  const limit = Number(query.limit ?? 50);
  const poolId = query.pool ? namesOf(deps.db).poolId(query.pool) : undefined;
  if (query.pool && !poolId) return `{"sessions":[],"nextCursor":null}`;
  const rows = store.listSessions(deps.db, {
    status: query.status,
    poolId,
    ownerId: canSeeAll(actor) ? undefined : (ownerOf(actor).id ?? ""),
    limit,
    cursor: decodeCursor(query.cursor),
  });
  const last = rows.length === limit ? rows[rows.length - 1] : undefined;
  const nextCursor = last ? Buffer.from(`${last.createdAt}.${last.id}`).toString("base64url") : null;
  return deps.sessions.toPublicJsonPage(actor, rows, `{"sessions":`, `,"nextCursor":${JSON.stringify(nextCursor)}}`);
}

const LIST_QUERY_KEYS = new Set(["status", "pool", "limit", "cursor"]);

/**
 * A list query as ListSessionsQuery accepts it, or undefined for anything else (an unknown or
 * repeated key, an empty value, a status, limit, pool or cursor the route would refuse): those
 * go to Elysia, which answers with its own error.
 */
function listQueryOf(search: URLSearchParams): Record<string, string> | undefined {
  const q: Record<string, string> = {};
  for (const [key, value] of search) {
    if (!LIST_QUERY_KEYS.has(key) || key in q || value === "") return undefined;
    q[key] = value;
  }
  if (q.status !== undefined && !(SESSION_STATUSES as readonly string[]).includes(q.status)) return undefined;
  if (q.pool !== undefined && q.pool.length > LIST_LIMITS.poolMaxLength) return undefined;
  if (q.limit !== undefined && (!/^[1-9][0-9]{0,2}$/.test(q.limit) || Number(q.limit) > LIST_LIMITS.limitMax)) return undefined;
  if (q.cursor !== undefined && (q.cursor.length > LIST_LIMITS.cursorMaxLength || parseCursor(q.cursor) === undefined)) return undefined;
  return q;
}

/**
 * The two plain reads, also answered before the framework (src/http/fast-reads.ts) with the
 * same handlers and roles as the routes below: a list (with its filters and paging) and one
 * session by id.
 */
export function sessionFastReads(deps: { db: Db; sessions: SessionService }): FastRoute[] {
  return [
    { path: "/api/v1/sessions", role: "viewer", query: listQueryOf, answer: (actor, _id, query) => listPage(deps, actor, (query ?? {}) as Parameters<typeof listPage>[2]) },
    {
      path: "/api/v1/sessions/:id",
      role: "viewer",
      answer: (actor, id) => {
        const row = findVisibleSession(deps.db, actor, id!);
        return row ? deps.sessions.toPublicJson(actor, row) : undefined;
      },
    },
  ];
}

function parseCursor(cursor: string): { createdAt: number; id: string } | undefined {
  const m = /^(\d{1,16})\.([a-z0-9_]{1,64})$/.exec(Buffer.from(cursor, "base64url").toString());
  return m ? { createdAt: Number(m[1]), id: m[2]! } : undefined;
}

function decodeCursor(cursor: string | undefined): { createdAt: number; id: string } | undefined {
  if (!cursor) return undefined;
  const c = parseCursor(cursor);
  if (!c) throw new BadRequest("Invalid cursor: pass the nextCursor value of the previous page unchanged.");
  return c;
}

export function sessionRoutes(deps: { db: Db; sessions: SessionService }) {
  const { db, sessions } = deps;
  return new Elysia({ name: "sessions", prefix: "/api/v1/sessions" })
    .use(authMacro)
    .post(
      "/",
      async ({ body, actor, set, request }) => {
        if (body.metadata && JSON.stringify(body.metadata).length > MAX_METADATA_BYTES)
          throw new BadRequest(`Field "metadata" is larger than ${MAX_METADATA_BYTES} bytes as JSON; store less.`);
        // The request's signal aborts when the client closes its connection: a queued create then leaves the queue.
        const row = await sessions.create(ownerOf(actor), body, { signal: request.signal });
        set.status = 201;
        return sessions.toPublicFor(actor, row);
      },
      {
        auth: "member",
        body: CreateSessionBody,
        response: {
          201: SessionResponse,
          409: errorFor("The profile is held by another persisting session."),
          429: errorFor("The pool is full and no slot freed within its queue timeout: retry after Retry-After seconds."),
          503: errorFor("No new sessions now: maintenance, a pool that is draining or paused, a server shutting down, or a browser that could not start."),
        },
        detail: {
          tags: ["sessions"],
          summary: "Start a browser session",
          description:
            "Answers 201 once the browser accepts CDP. When the pool is full the request waits in the pool's FIFO queue up to its queue timeout, then gets 429 with Retry-After. A client that closes its connection while waiting leaves the queue: its session ends failed and no browser is started. 503 worker_unhealthy (with the reason) when no worker of the pool is online and one is unhealthy (its Docker engine is stuck): nothing is queued or stored; 503 engine_timeout when a Docker engine call of the start passed its deadline (the session ends failed).",
        },
      },
    )
    .get(
      "/",
      ({ query, actor }) => jsonText(listPage(deps, actor, query)),
      {
        auth: "viewer",
        query: ListSessionsQuery,
        response: t.Object({ sessions: t.Array(SessionResponse), nextCursor: t.Nullable(t.String()) }),
        detail: { tags: ["sessions"], summary: "List sessions, newest first", description: "Members list their own sessions; viewers and admins list all. cdpUrl and liveUrl are given to a session's owner and to admins only, and are null for everyone else." },
      },
    )
    .get("/:id", ({ params, actor }) => jsonText(sessions.toPublicJson(actor, visibleSession(db, actor, params.id))), {
      auth: "viewer",
      params: SessionParams,
      response: SessionResponse,
      detail: { tags: ["sessions"], summary: "Get one session", description: "cdpUrl and liveUrl are given to the session's owner and to admins only, and are null for everyone else (viewers)." },
    })
    .delete(
      "/:id",
      async ({ params, actor }) => {
        visibleSession(db, actor, params.id);
        return sessions.toPublicFor(actor, await sessions.stop(params.id));
      },
      {
        auth: "member",
        params: SessionParams,
        response: SessionResponse,
        detail: { tags: ["sessions"], summary: "Stop a session", description: "Answers once the session has ended (clients closed, a persisting profile saved): status completed, and the cdpUrl stops working. Right after the answer its downloads are copied into artifacts (GET /api/v1/sessions/:id/artifacts waits for that) and the container is removed." },
      },
    )
    .get(
      "/:id/events",
      ({ params, actor }) => {
        visibleSession(db, actor, params.id);
        return { events: store.listEvents(db, params.id).map(toPublicEvent) };
      },
      {
        auth: "viewer",
        params: SessionParams,
        response: t.Object({ events: t.Array(SessionEvent) }),
        detail: { tags: ["sessions"], summary: "A session's lifecycle timeline" },
      },
    );
}
