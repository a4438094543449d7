// Live view over HTTP. Frames go to the page as server-sent events (base64 JPEG, newest frame
// only) and input comes back as small JSON POSTs. SSE rather than a WebSocket: it passes
// through Elysia's auth (cookie, role, CSRF origin check on every POST) like any page,
// reconnects by itself, and leaves the server's WebSocket upgrade path — owned by the CDP
// gateway, with server-wide socket options tuned for it — untouched.
//
// Two doors: /sessions/:id/live/* for signed-in users (watch: viewer; control and sharing:
// the owner or an admin), and /live/:id* for shareable links, public routes that admit only
// a valid, unexpired signature (live.tokens.ts) and never fall back to the cookie.
import { Elysia, t } from "elysia";
import { oneOf } from "../../http/strict-object";
import type { AppDeps } from "../../http/context";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { Conflict, Forbidden } from "../../lib/errors";
import { html, htmlResponse } from "../../../views/html";
import { layout } from "../../../views/layout";
import { page } from "../../../views/ui";
import { audit } from "../audit/audit.service";
import * as store from "../sessions/sessions.store";
import { mayControlSession, visibleSession } from "../sessions/sessions.access";
import { publicLivePage, liveRefused, shareResult } from "./live.html";
import type { LiveInput } from "./live.supervisor";
import { liveQuery, signedLiveUrl, verifyLiveQuery, type LiveGrant } from "./live.tokens";
import { LiveViewer } from "./live.viewer";

const Id = t.Object({ id: t.String({ maxLength: 64, pattern: "^[A-Za-z0-9_]+$" }) });
const LinkQuery = t.Object(
  { t: t.Optional(t.String({ maxLength: 64 })), exp: t.Optional(t.String({ maxLength: 12 })), mode: t.Optional(t.String({ maxLength: 8 })) },
  { additionalProperties: false },
);

export const InputBody = t.Object(
  {
    type: oneOf(["mouse", "key", "text", "navigate", "back", "forward", "reload", "tab"]),
    action: t.Optional(oneOf(["down", "up", "move", "wheel"])),
    x: t.Optional(t.Number({ minimum: 0, maximum: 1 })),
    y: t.Optional(t.Number({ minimum: 0, maximum: 1 })),
    button: t.Optional(oneOf(["left", "middle", "right"])),
    clicks: t.Optional(t.Integer({ minimum: 1, maximum: 3 })),
    dx: t.Optional(t.Number({ minimum: -10000, maximum: 10000 })),
    dy: t.Optional(t.Number({ minimum: -10000, maximum: 10000 })),
    modifiers: t.Optional(t.Integer({ minimum: 0, maximum: 15 })),
    key: t.Optional(t.String({ maxLength: 32 })),
    code: t.Optional(t.String({ maxLength: 32 })),
    keyCode: t.Optional(t.Integer({ minimum: 0, maximum: 255 })),
    text: t.Optional(t.String({ maxLength: 2000 })),
    url: t.Optional(t.String({ maxLength: 2048 })),
    targetId: t.Optional(t.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

const refused = (status: number, message: string) => htmlResponse(layout({ title: "Live view", user: null }, liveRefused(message)), { status });

export function liveRoutes(deps: AppDeps) {
  const { db } = deps;
  const hub = deps.live;
  const now = () => (deps.now ?? Date.now)();

  function running(id: string): store.SessionRow {
    const r = store.getSession(db, id);
    if (!r || r.status !== "running") throw new Conflict("The session is not running: there is nothing to show.", "session_not_running");
    return r;
  }

  function watch(sessionId: string, request: Request, canControl: boolean, expiresAtMs?: number): Response {
    const viewer = new LiveViewer(canControl, request, expiresAtMs);
    void hub.session(sessionId).join(viewer);
    return viewer.response;
  }

  async function control(sessionId: string, body: LiveInput): Promise<Response> {
    const live = hub.watched(sessionId);
    if (!live) throw new Conflict("Open the live view before sending input.", "live_not_open");
    await live.input(body);
    return new Response(null, { status: 204 });
  }

  /** The grant of a shareable link, or a refusal. The cookie never stands in for it. */
  function grant(id: string, q: Record<string, string | undefined>): LiveGrant | null {
    return verifyLiveQuery(deps.installKey, id, q, now());
  }

  return new Elysia({ name: "live" })
    .use(authMacro)
    .get(
      "/sessions/:id/live/stream",
      ({ actor, params, request }) => {
        const r = visibleSession(db, actor, params.id);
        running(r.id);
        return watch(r.id, request, mayControlSession(actor, r));
      },
      { auth: "viewer", params: Id, detail: { hide: true } },
    )
    .post(
      "/sessions/:id/live/input",
      ({ actor, params, body }) => {
        const r = visibleSession(db, actor, params.id);
        if (!mayControlSession(actor, r)) throw new Forbidden("Only the session's owner or an admin can control its browser.");
        running(r.id);
        return control(r.id, body);
      },
      { auth: "member", params: Id, body: InputBody, detail: { hide: true } },
    )
    .post(
      "/sessions/:id/share",
      (ctx) => {
        const { actor, params, body, request } = ctx;
        const r = visibleSession(db, actor, params.id);
        if (!mayControlSession(actor, r)) throw new Forbidden("Only the session's owner or an admin can share its live view.");
        running(r.id);
        const { url, exp } = signedLiveUrl(deps.config.publicUrl, deps.installKey, r.id, body.mode, Number(body.minutes) * 60, now());
        audit(deps, actor, "session.live_link_created", r.id, { mode: body.mode, expiresAt: new Date(exp * 1000).toISOString() }, requestIp(ctx));
        const result = shareResult(url, body.mode, exp);
        if (request.headers.has("hx-request")) return htmlResponse(result);
        return page(actor, "Live link", "/sessions", html`<p class="crumbs"><a href="/sessions/${r.id}">Session ${r.id}</a> /</p><h1>Live link</h1><section class="card">${result}</section>`);
      },
      {
        auth: "member",
        params: Id,
        body: t.Object({ mode: oneOf(["view", "control"]), minutes: oneOf(["15", "60", "240", "1440"]) }, { additionalProperties: false }),
        detail: { hide: true },
      },
    )
    .get(
      "/live/:id",
      ({ params, query }) => {
        const g = grant(params.id, query);
        if (!g) return refused(403, "This live link is invalid or has expired. Ask for a new one.");
        const r = store.getSession(db, params.id);
        if (!r || r.status !== "running") return refused(410, "This session has ended.");
        return htmlResponse(layout({ title: "Live view", user: null }, publicLivePage(r, { query: liveQuery(deps.installKey, g), mode: g.mode, exp: g.exp })));
      },
      { params: Id, query: LinkQuery, detail: { hide: true } },
    )
    .get(
      "/live/:id/stream",
      ({ params, query, request }) => {
        const g = grant(params.id, query);
        if (!g) throw new Forbidden("This live link is invalid or has expired.");
        running(params.id);
        return watch(params.id, request, g.mode === "control", g.exp * 1000);
      },
      { params: Id, query: LinkQuery, detail: { hide: true } },
    )
    .post(
      "/live/:id/input",
      ({ params, query, body }) => {
        const g = grant(params.id, query);
        if (!g || g.mode !== "control") throw new Forbidden("This live link does not allow control.");
        running(params.id);
        return control(params.id, body);
      },
      { params: Id, query: LinkQuery, body: InputBody, detail: { hide: true } },
    );
}
