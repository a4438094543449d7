// Authentication and authorization for every HTTP route, default-deny.
//
// Once per request the actor is resolved — Bearer API key (or static key), trusted SSO proxy
// header, then the bg_session cookie — before body validation, so an anonymous caller learns
// nothing about a route's schema. Then, for every route not in PUBLIC_ROUTES: no actor means
// 401 under /api/ and a redirect to /login (or /setup on a fresh install) for UI pages. Routes
// declare their minimum role with the `auth` macro; a route that declares none is admin-only,
// so forgetting the declaration never opens a door. Cookie- and proxy-authenticated requests
// that change state must come from our own origin (csrf.ts). API calls are rate-limited per key.
import { Elysia, type DocumentDecoration } from "elysia";
import type { AppDeps } from "../context";
import type { Actor } from "../../security/actor";
import type { Role } from "../../db/schema";
import { DomainError, Forbidden, Unauthorized } from "../../lib/errors";
import { clientIp, isTrustedProxy } from "../../security/client-ip";
import { isSafeMethod, requestOrigin } from "./csrf";
import { peerOf } from "../peer";
import { authState } from "../../modules/auth/auth.state";
import { readSessionCookie, sessionCookie, clearSessionCookie, validateAuthSession } from "../../modules/auth/auth-sessions.service";
import { verifyApiKey } from "../../modules/api-keys/api-keys.service";
import { findUserByEmail, hasAnyUser, roleRank } from "../../modules/users/users.service";
import { runActorOf, runTokenMayCall } from "../../modules/runs/runs.access";
import { isRunToken } from "../../modules/runs/runs.tokens";

export { authenticateApiKey } from "../../modules/api-keys/api-keys.service";
export { checkWebSocketOrigin } from "./csrf";

/**
 * Routes anyone may call, as "METHOD /path" exactly as registered. Keep this list short and
 * reviewed: everything else needs an actor. The API docs are public on purpose — the OpenAPI
 * document describes the open-source product, not this install's data.
 */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  "GET /healthz",
  "GET /readyz",
  "GET /assets/:name",
  "GET /setup",
  "POST /setup",
  "GET /login",
  "POST /login",
  "POST /api/v1/auth/login",
  "GET /api/openapi.json",
  "GET /api/docs",
  // Shareable live-view links: each handler admits only a valid, unexpired signature
  // (src/modules/live/live.tokens.ts) and never the cookie.
  "GET /live/:id",
  "GET /live/:id/stream",
  "POST /live/:id/input",
]);

/** Public routes that need no actor at all: skip the cookie lookup. */
const NO_ACTOR = new Set(["/healthz", "/readyz", "/assets/:name", "/api/openapi.json"]);

export interface ResolvedAuth {
  actor: Actor | null;
  clientIp: string;
  /** A Set-Cookie to send back (renewed or cleared session), if any. */
  setCookie?: string;
}

/** A UI request without a session: 303 to the login (or setup) page. */
export class RedirectTo extends DomainError {
  constructor(location: string, htmx: boolean) {
    super("login_required", "Sign in first.", 303, { location, ...(htmx ? { "hx-redirect": location } : {}) });
  }
}

function bearerToken(request: Request): string | null {
  const h = request.headers.get("authorization");
  if (h === null) return null;
  const token = bearerOf(h);
  if (token === null) throw new Unauthorized("Send the API key as Authorization: Bearer bg_<id>_<secret>.");
  return token;
}

/** The token of an `Authorization: Bearer …` header value, or null for any other scheme. */
export function bearerOf(authorization: string): string | null {
  return /^bearer /i.test(authorization) ? authorization.slice(7).trim() : null;
}

/** Whose API rate limit a request counts against. */
export function rateKeyOf(actor: Actor): string {
  return actor.keyId ?? actor.userId ?? (actor.runId ? `run:${actor.runId}` : "anonymous");
}

/**
 * Who is calling. Exported for the CDP gateway and other non-Elysia entry points. Throws 401
 * for a bad API key (never silently anonymous) and 429 when an address keeps sending bad keys.
 */
export function resolveActor(deps: AppDeps, request: Request, peer: string | undefined): ResolvedAuth {
  const state = authState(deps);
  const { config } = deps;
  const ip = clientIp(request, peer, config.trustedProxies);

  let token = bearerToken(request);
  let via: Actor["via"] = "bearer";
  if (token === null && (request.headers.get("upgrade") ?? "").toLowerCase() === "websocket") {
    // ?token= only on WebSocket URLs, where clients cannot set headers; the logger redacts it.
    const q = new URL(request.url).searchParams.get("token");
    if (q !== null && q.startsWith("bg_")) [token, via] = [q, "query"];
  }
  if (token !== null && via === "bearer" && isRunToken(token)) {
    // A run's own token (runs.tokens.ts): valid while its run is not over; its rights are runs.access.ts.
    const actor = runActorOf(deps.db, token);
    if (!actor) {
      state.badKeyByAddress.check(ip);
      state.badKeyByAddress.fail(ip);
      throw new Unauthorized("Invalid run token, or its run is over: a run token works only while its run is queued or running.");
    }
    return { actor, clientIp: ip };
  }
  if (token !== null) {
    const actor = verifyApiKey(deps, token, via);
    if (!actor) {
      state.badKeyByAddress.check(ip);
      state.badKeyByAddress.fail(ip);
      throw new Unauthorized("Invalid, revoked or expired API key.");
    }
    return { actor, clientIp: ip };
  }

  if (config.authProxyHeader && isTrustedProxy(peer, config.trustedProxies)) {
    const email = request.headers.get(config.authProxyHeader);
    if (email !== null) {
      const user = email.length <= 254 ? findUserByEmail(deps, email) : undefined;
      if (!user || user.disabledAt !== null) throw new Unauthorized("The signed-in user of the auth proxy has no enabled BrowserGrid account; ask an admin to create it.");
      return { actor: { type: "proxy", userId: user.id, email: user.email, role: user.role, via: "proxy" }, clientIp: ip };
    }
  }

  const cookie = readSessionCookie(request.headers.get("cookie"));
  if (cookie) {
    const s = validateAuthSession(deps, cookie);
    if (!s) return { actor: null, clientIp: ip, setCookie: clearSessionCookie(config) };
    return {
      actor: { type: "user", userId: s.user.id, email: s.user.email, role: s.user.role, via: "cookie", authSessionId: s.sessionId },
      clientIp: ip,
      setCookie: s.renewed ? sessionCookie(config, cookie, s.expiresAt, state.now()) : undefined,
    };
  }
  return { actor: null, clientIp: ip };
}

/** The client address resolved by authPlugin, from any handler's context. */
export function requestIp(ctx: object): string {
  return (ctx as { clientIp?: string }).clientIp || "unknown";
}

export function requireRole(actor: Actor | null, need: Role): Actor {
  if (!actor) throw new Unauthorized();
  if (roleRank(actor.role) < roleRank(need)) throw new Forbidden(`This needs the ${need} role; you act as ${actor.role}.`);
  return actor;
}

function hasUsers(deps: AppDeps): boolean {
  const s = authState(deps);
  if (!s.hasUsers) s.hasUsers = hasAnyUser(deps);
  return s.hasUsers;
}

/** Marks, on the request context, that the route declared its role with the macro. */
const DECLARED = Symbol("auth-declared");

type WithActor = { actor?: Actor | null };

/**
 * The `auth` route option, usable by any feature module without deps:
 * `.use(authMacro).get(path, ({ actor }) => …, { auth: "viewer" | "member" | "admin" })`.
 * The actor itself is resolved by authPlugin(deps), built and registered once in app.ts; a module used
 * without it has no actor and so refuses everything.
 */
export const authMacro = new Elysia({ name: "auth-macro" }).macro({
  auth: (need: Role) => ({
    /** The OpenAPI document states it, and derives the 403 it may answer (openapi/error-responses.ts). */
    detail: { "x-min-role": need } as DocumentDecoration,
    transform(ctx) {
      (ctx as unknown as Record<symbol, unknown>)[DECLARED] = true;
      requireRole((ctx as WithActor).actor ?? null, need);
    },
    resolve(ctx) {
      return { actor: (ctx as WithActor).actor as Actor };
    },
  }),
});

/** Each app's plugin has its own seed, so Elysia never mistakes one app's for another's. */
let seq = 0;

/** The plugin that resolves the actor of every request; createApp builds it once per app. */
export function authPlugin(deps: AppDeps) {
  const state = authState(deps);
  return new Elysia({ name: "auth", seed: ++seq })
    .derive({ as: "global" }, ({ request, route, server, set }): { actor: Actor | null; clientIp: string } => {
      if (NO_ACTOR.has(route)) return { actor: null, clientIp: "" };
      const r = resolveActor(deps, request, peerOf(request) ?? server?.requestIP(request)?.address);
      if (r.setCookie) set.headers["set-cookie"] = r.setCookie;
      return { actor: r.actor, clientIp: r.clientIp };
    })
    .onTransform({ as: "global" }, ({ request, route, actor, path, params }) => {
      const method = request.method;
      if (PUBLIC_ROUTES.has(`${method} ${route}`)) {
        // Login and setup forms: refuse a cross-site post (login CSRF); scripts without Origin pass.
        if (!isSafeMethod(method) && requestOrigin(request, deps.config) === "cross-origin") throw new Forbidden("Cross-origin request refused.");
        return;
      }
      if (!actor) {
        const api = path.startsWith("/api/");
        if (!hasUsers(deps)) {
          if (api) throw new Unauthorized("No account exists yet: open /setup in a browser or run `browsergrid admin create`.");
          throw new RedirectTo("/setup", request.headers.has("hx-request"));
        }
        if (api) throw new Unauthorized();
        const next = method === "GET" ? path + new URL(request.url).search : "/";
        throw new RedirectTo(next === "/" ? "/login" : `/login?next=${encodeURIComponent(next)}`, request.headers.has("hx-request"));
      }
      if (!isSafeMethod(method) && (actor.via === "cookie" || actor.via === "proxy") && requestOrigin(request, deps.config) !== "same-origin")
        throw new Forbidden("Cross-origin request refused: state-changing requests must come from BrowserGrid's own pages.");
      // A run's token opens its own run and its session, nothing else (runs.access.ts).
      if (actor.type === "run" && !runTokenMayCall(deps.db, actor, method, route, params as Record<string, string | undefined>))
        throw new Forbidden("A run token may only read its own run (GET /api/v1/runs/:id, /events) and its session (GET /api/v1/sessions/:id).");
      if (path.startsWith("/api/")) state.apiRate.take(rateKeyOf(actor));
    })
    .onBeforeHandle({ as: "global" }, (ctx) => {
      const { request, route, actor } = ctx;
      if (PUBLIC_ROUTES.has(`${request.method} ${route}`) || (ctx as Record<symbol, unknown>)[DECLARED]) return;
      // Default-deny: a route without an `auth` declaration is for admins only.
      requireRole(actor, "admin");
    })
    .use(authMacro);
}
