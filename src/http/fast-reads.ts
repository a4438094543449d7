// Plain API reads, answered before the framework.
//
// A GET of a registered read route — no query string, or one the route parses itself the way
// Elysia would accept it, and an API key in `Authorization: Bearer` —
// runs the same steps as through Elysia: the key check (verifyApiKey), the route's role, the
// per-key rate limit, the route's own handler, the request id and security headers, the
// access-log line. It skips the framework's per-request machinery, which cost more than the
// read itself (GET /api/v1/sessions with 50 rows: ≈ 190 → ≈ 100 µs of server CPU, bench/api.ts).
//
// Everything else goes on to Elysia, and so does any request that would not end in a 200: a
// bad or missing key, a lower role, a spent rate limit, a session the caller may not see. Elysia
// then answers it the usual way, so errors have one path; the steps here have no side effect
// when they decline (a bad key is counted by the auth plugin alone, the rate-limit token is
// taken only for an answer that is sent).
import type { Role } from "../db/schema";
import { verifyApiKey } from "../modules/api-keys/api-keys.service";
import { authState } from "../modules/auth/auth.state";
import { roleRank } from "../modules/users/users.service";
import type { AppDeps } from "./context";
import type { Actor } from "../security/actor";
import { bearerOf, rateKeyOf } from "./plugins/auth";
import { jsonAnswerHeaders, logRequest, requestIdFor, targetOf } from "./plugins/request-context";

export interface FastRoute {
  /** As registered with Elysia: "/api/v1/sessions", or with one last parameter "/api/v1/sessions/:id". */
  path: string;
  /** The role the Elysia route declares with the `auth` macro. */
  role: Role;
  /**
   * The query strings the route answers itself: their parameters, or undefined to let Elysia
   * answer (anything its schema would refuse or read differently). Without it, a route takes
   * no query string here.
   */
  query?(search: URLSearchParams): Record<string, string> | undefined;
  /** The 200 answer's JSON, or undefined to let Elysia answer (a 404, say). */
  answer(actor: Actor, param: string | undefined, query: Record<string, string> | undefined): string | Uint8Array<ArrayBuffer> | Blob | undefined;
}

export type FastRead = (req: Request) => Response | undefined;

/** A parameter Elysia would take as it is (no percent-escapes to decode, within every route's maxLength). */
const PLAIN_PARAM = /^[A-Za-z0-9_-]{1,64}$/;

export function fastReads(deps: AppDeps, routes: FastRoute[]): FastRead {
  const exact = new Map<string, FastRoute>();
  const withParam = new Map<string, FastRoute>();
  for (const r of routes) {
    const colon = r.path.indexOf("/:");
    if (colon < 0) exact.set(r.path, r);
    else if (r.path.indexOf("/", colon + 1) < 0) withParam.set(r.path.slice(0, colon), r);
    else throw new Error(`fast read ${r.path}: only a last parameter is supported`);
  }
  return (req) => {
    if (req.method !== "GET") return undefined;
    const target = targetOf(req.url);
    const q = target.indexOf("?");
    const path = q < 0 ? target : target.slice(0, q);
    let route = exact.get(path);
    let param: string | undefined;
    if (route === undefined) {
      const slash = path.lastIndexOf("/");
      route = withParam.get(path.slice(0, slash));
      param = path.slice(slash + 1);
      if (route === undefined || !PLAIN_PARAM.test(param)) return undefined;
    }
    let query: Record<string, string> | undefined;
    if (q >= 0) {
      // Percent-escapes and "+" are left to Elysia's own decoding.
      if (route.query === undefined || /[%+#]/.test(target)) return undefined;
      query = route.query(new URLSearchParams(target.slice(q + 1)));
      if (query === undefined) return undefined;
    }
    const authorization = req.headers.get("authorization");
    const token = authorization === null ? null : bearerOf(authorization);
    if (token === null) return undefined;
    const start = performance.now();
    const actor = verifyApiKey(deps, token, "bearer");
    if (actor === null || roleRank(actor.role) < roleRank(route.role)) return undefined;
    const body = route.answer(actor, param, query);
    if (body === undefined || authState(deps).apiRate.tryTake(rateKeyOf(actor)) > 0) return undefined;
    const requestId = requestIdFor(req);
    const res = new Response(body, { status: 200, headers: jsonAnswerHeaders(requestId) });
    logRequest(deps.log, requestId, "GET", target, 200, performance.now() - start);
    return res;
  };
}
