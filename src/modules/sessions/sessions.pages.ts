// The sessions pages: /sessions (list + filters + create form), /sessions/stream (the list's
// server-sent events), /sessions/:id (detail) and its stream, and the stop form. Members see
// and stop their own sessions, admins everyone's, viewers read all; the CDP URL and live
// control go to the owner and admins only (sessions.access.ts, the API's rules).
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { authMacro } from "../../http/plugins/auth";
import { htmlEventStream } from "../../http/sse";
import { DomainError } from "../../lib/errors";
import { html, htmlResponse } from "../../../views/html";
import { notice, page, seeOther } from "../../../views/ui";
import { listPools, findPoolByName } from "../pools/pools.service";
import { listWorkers } from "../workers/workers.service";
import { roleRank } from "../users/users.service";
import { cdpUrl, ownerOf } from "./sessions.model";
import { canSeeAll, mayControlSession, visibleSession } from "./sessions.access";
import * as store from "./sessions.store";
import { parseCreateForm } from "./sessions.form";
import { createForm, detailPage, eventsTimeline, filterForm, listPage, sessionRows, STATUSES, statusLine, type ListFilters, type RowContext } from "./sessions.html";
import { livePanel } from "../live/live.html";
import { artifactsSection } from "../artifacts/artifacts.html";
import { captureScreenshot } from "../artifacts/artifacts.capture";
import { storageOf } from "../profiles/session-storage";

const LIST_LIMIT = 100;

const FilterQuery = t.Object(
  {
    status: t.Optional(t.String({ maxLength: 16 })),
    pool: t.Optional(t.String({ maxLength: 64 })),
    worker: t.Optional(t.String({ maxLength: 64 })),
    v: t.Optional(t.String({ maxLength: 32 })),
  },
  { additionalProperties: false },
);

const CreateForm = t.Object(
  Object.fromEntries(["pool", "browser", "width", "height", "timeoutSec", "idleTimeoutSec", "locale", "timezone", "keepAlive"].map((k) => [k, t.Optional(t.String({ maxLength: 100 }))])),
  { additionalProperties: false },
);

/** Every state change appends a timeline event: the newest event id is the list's version. */
function eventsVersion(deps: AppDeps): string {
  const r = deps.db.$client.query<{ v: number | null }, []>("SELECT max(id) AS v FROM session_events").get();
  return String(r?.v ?? 0);
}

function sessionVersion(deps: AppDeps, id: string): string {
  const r = deps.db.$client.query<{ v: number | null }, [string]>("SELECT max(id) AS v FROM session_events WHERE session_id = ?").get(id);
  return String(r?.v ?? 0);
}

export function sessionPages(deps: AppDeps) {
  const { db } = deps;
  const now = () => (deps.now ?? Date.now)();

  function rowContext(actor: Actor): RowContext {
    const pools = new Map(listPools(db).map((p) => [p.id, p.name]));
    const workers = new Map(listWorkers(db).map((w) => [w.id, w.name]));
    return {
      poolName: (id) => pools.get(id) ?? id,
      workerName: (id) => (id ? (workers.get(id) ?? id) : null),
      canStop: (r) => mayControlSession(actor, r),
      now: now(),
    };
  }

  function query(actor: Actor, f: ListFilters) {
    const status = (STATUSES as readonly string[]).includes(f.status ?? "") ? (f.status as store.SessionRow["status"]) : undefined;
    const pool = f.pool ? findPoolByName(db, f.pool) : undefined;
    if (f.pool && !pool) return [];
    return store.listSessions(db, { status, poolId: pool?.id, workerId: f.worker || undefined, ownerId: canSeeAll(actor) ? undefined : (ownerOf(actor).id ?? ""), limit: LIST_LIMIT });
  }

  const filtersOf = (q: ListFilters): ListFilters => ({ status: q.status || undefined, pool: q.pool || undefined, worker: q.worker || undefined });
  const search = (f: ListFilters) => new URLSearchParams(Object.entries(f).filter(([, v]) => v) as [string, string][]).toString();
  const rowsHtml = (actor: Actor, f: ListFilters) => {
    const qs = search(f);
    return sessionRows(query(actor, f), rowContext(actor), qs !== "", `/sessions${qs ? `?${qs}` : ""}`);
  };
  const isMember = (a: Actor) => roleRank(a.role) >= roleRank("member");
  const artifactsOf = (actor: Actor, r: store.SessionRow, message?: { text: string; bad: boolean }) =>
    artifactsSection(r, storageOf(deps).artifacts.list(r.id), mayControlSession(actor, r), message);

  function renderCreate(actor: Actor, status: number, state: Parameters<typeof createForm>[1], htmx: boolean): Response {
    const form = createForm(listPools(db), state);
    // htmx swaps the form alone (200 so it swaps); without JS the whole page comes back.
    if (htmx) return htmlResponse(form, { status: status >= 400 ? 422 : status });
    return listResponse(actor, {}, form, status);
  }

  function listResponse(actor: Actor, f: ListFilters, create: ReturnType<typeof createForm> | null, status = 200): Response {
    const qs = search(f);
    const v = eventsVersion(deps);
    const rows = query(actor, f);
    return page(
      actor,
      "Sessions",
      "/sessions",
      listPage({
        filters: filterForm(f, listPools(db), listWorkers(db)),
        create: isMember(actor) ? (create ?? createForm(listPools(db))) : null,
        rows: sessionRows(rows, rowContext(actor), qs !== "", `/sessions${qs ? `?${qs}` : ""}`),
        streamUrl: `/sessions/stream?${qs ? `${qs}&` : ""}v=${v}`,
        count: rows.length,
      }),
      { status },
    );
  }

  return new Elysia({ name: "session-pages" })
    .use(authMacro)
    .get("/sessions", ({ actor, query: q }) => listResponse(actor, filtersOf(q), null), { auth: "viewer", query: FilterQuery, detail: { hide: true } })
    .get(
      "/sessions/stream",
      ({ actor, query: q, request }) => {
        const f = filtersOf(q);
        return htmlEventStream(request, { version: () => eventsVersion(deps), render: () => [["session-rows", rowsHtml(actor, f)]] }, { since: q.v });
      },
      { auth: "viewer", query: FilterQuery, detail: { hide: true } },
    )
    .post(
      "/sessions",
      async ({ actor, body, request }) => {
        const htmx = request.headers.has("hx-request");
        const values = body as Record<string, string | undefined>;
        const { input, errors } = parseCreateForm(values);
        if (Object.values(errors).some(Boolean)) return renderCreate(actor, 400, { values, errors, notice: "Fix the marked fields; nothing was started.", bad: true }, htmx);
        try {
          const row = await deps.sessions.create(ownerOf(actor), input);
          if (!htmx) return seeOther(`/sessions/${row.id}`);
          return renderCreate(actor, 200, { notice: html`Session <a href="/sessions/${row.id}"><code>${row.id}</code></a> is running.` }, true);
        } catch (e) {
          if (!(e instanceof DomainError) || e.status >= 500 && e.status !== 503) throw e;
          const field = e.code === "unknown_pool" || e.code === "pool_not_active" ? "pool" : undefined;
          return renderCreate(actor, e.status, { values, errors: field ? { [field]: e.message } : {}, notice: field ? "Nothing was started." : e.message, bad: true }, htmx);
        }
      },
      { auth: "member", body: CreateForm, detail: { hide: true } },
    )
    .get(
      "/sessions/:id",
      async ({ actor, params }) => {
        visibleSession(db, actor, params.id);
        await storageOf(deps).artifacts.settled(params.id); // a session that just ended: its downloads are being copied
        const r = visibleSession(db, actor, params.id);
        const ctx = rowContext(actor);
        const live = !store.isEndingOrEnded(r.status);
        const owner = mayControlSession(actor, r);
        return page(
          actor,
          `Session ${r.id}`,
          "/sessions",
          detailPage({
            row: r,
            pool: ctx.poolName(r.poolId),
            worker: ctx.workerName(r.workerId),
            status: statusLine(r, owner, ctx.now),
            cdpUrl: live && owner ? cdpUrl(deps.config.publicUrl, deps.installKey, r.id) : null,
            connectable: live,
            events: eventsTimeline(store.listEvents(db, r.id)),
            live: r.status === "running" ? livePanel(r, { control: owner, share: owner }) : html``,
            artifacts: artifactsOf(actor, r),
            streamUrl: `/sessions/${r.id}/stream?v=${sessionVersion(deps, r.id)}`,
          }),
        );
      },
      { auth: "viewer", params: t.Object({ id: t.String({ maxLength: 64 }) }), detail: { hide: true } },
    )
    .get(
      "/sessions/:id/stream",
      ({ actor, params, query: q, request }) => {
        visibleSession(db, actor, params.id);
        return htmlEventStream(
          request,
          {
            version: () => sessionVersion(deps, params.id),
            render: () => {
              const r = store.getSession(db, params.id)!;
              return [
                ["session-status", statusLine(r, mayControlSession(actor, r), now())],
                ["session-events", eventsTimeline(store.listEvents(db, params.id))],
              ];
            },
          },
          { since: q.v },
        );
      },
      { auth: "viewer", params: t.Object({ id: t.String({ maxLength: 64 }) }), query: t.Object({ v: t.Optional(t.String({ maxLength: 32 })) }), detail: { hide: true } },
    )
    .post(
      "/sessions/:id/stop",
      async ({ actor, params, body }) => {
        const r = visibleSession(db, actor, params.id);
        if (!mayControlSession(actor, r)) return page(actor, "Not allowed", "/sessions", html`<p class="notice bad" role="alert">Only the session's owner or an admin can stop it.</p>`, { status: 403 });
        await deps.sessions.stop(r.id);
        const back = body.back && /^\/sessions(\/[A-Za-z0-9_]+|\?[A-Za-z0-9_=&%.-]*)?$/.test(body.back) ? body.back : `/sessions/${r.id}`;
        return seeOther(back);
      },
      { auth: "member", params: t.Object({ id: t.String({ maxLength: 64 }) }), body: t.Object({ back: t.Optional(t.String({ maxLength: 300 })) }, { additionalProperties: false }), detail: { hide: true } },
    )
    .post(
      "/sessions/:id/screenshot",
      async ({ actor, params, request }) => {
        const htmx = request.headers.has("hx-request");
        const r = visibleSession(db, actor, params.id);
        let message: { text: string; bad: boolean };
        let status = 200;
        if (!mayControlSession(actor, r)) {
          message = { text: "Only the session's owner or an admin can take screenshots.", bad: true };
          status = 403;
        } else {
          try {
            const a = await captureScreenshot(deps, r);
            if (!htmx) return seeOther(`/sessions/${r.id}#artifact-${a.id}`);
            message = { text: `Screenshot ${a.name} saved.`, bad: false };
          } catch (e) {
            if (!(e instanceof DomainError) || e.status >= 500) throw e;
            message = { text: e.message, bad: true };
            status = e.status;
          }
        }
        // htmx swaps the section alone (422 so a refusal swaps too); without JS a small page.
        if (htmx) return htmlResponse(artifactsOf(actor, r, message), { status: status >= 400 ? 422 : status });
        return page(actor, "Screenshot", "/sessions", html`${notice(message.text, message.bad)}<p><a href="/sessions/${r.id}">Back to session ${r.id}</a></p>`, { status });
      },
      { auth: "member", params: t.Object({ id: t.String({ maxLength: 64 }) }), detail: { hide: true } },
    );
}
