// Per-request plumbing: a request id (echoed as X-Request-Id), security headers with a
// strict Content-Security-Policy, and one access-log line per request with credentials
// redacted from the URL. Body sizes are capped before Elysia, in src/http/body-gate.ts.
import { Elysia } from "elysia";
import type { Logger } from "../../lib/logger";
import { randomId } from "../../lib/ids";
import { errorResponse, JSON_TYPE, mapError } from "../errors";

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
};

/** The headers of a JSON answer built outside Elysia (src/http/fast-reads.ts), as stamp() leaves them. */
export function jsonAnswerHeaders(requestId: string): Record<string, string> {
  return { "content-type": JSON_TYPE, ...SECURITY_HEADERS, "x-request-id": requestId };
}

/** The request id and the security headers a handler did not set, on an answer's own headers. */
function stamp(headers: Headers, requestId: string): void {
  headers.set("x-request-id", requestId);
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) if (!headers.has(k)) headers.set(k, v);
}

/** The caller's X-Request-Id when it is a sane token, else a new one. */
export function requestIdFor(request: Request): string {
  const incoming = request.headers.get("x-request-id");
  return incoming && /^[A-Za-z0-9._-]{1,64}$/.test(incoming) ? incoming : randomId(12);
}

/**
 * `allowedMethods` (allowed-methods.ts) turns "no such route" into 405 with Allow when the path
 * exists under other methods.
 */
export function requestContext(log: Logger, allowedMethods?: (pathname: string) => string[]) {
  return new Elysia({ name: "request-context" })
    .derive({ as: "global" }, ({ request }) => ({ requestId: requestIdFor(request), requestStart: performance.now() }))
    .onAfterHandle({ as: "global" }, (ctx) => {
      const { set, requestId } = ctx;
      (ctx as { handledAt?: number }).handledAt = performance.now();
      const value = (ctx as { responseValue?: unknown }).responseValue;
      if (value instanceof Response && Object.keys(set.headers).length === 0 && (set.status === undefined || set.status === 200)) {
        // A handler's own Response (remembered JSON, files) gets the headers directly: anything
        // in `set` makes Elysia copy it into a new Response whose body is a stream.
        return stamp(value.headers, requestId);
      }
      set.headers["x-request-id"] = requestId;
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) set.headers[k] ??= v;
    })
    .onError({ as: "global" }, (ctx) => {
      // No route matched (404) or the request failed before routing: no derive has run yet.
      const requestId = ((ctx as { requestId?: string }).requestId ??= requestIdFor(ctx.request));
      (ctx as { handledAt?: number }).handledAt = performance.now();
      const allow = ctx.code === "NOT_FOUND" && allowedMethods ? allowedMethods(new URL(ctx.request.url).pathname) : [];
      const res = allow.length
        ? errorResponse(405, "method_not_allowed", `${ctx.request.method.slice(0, 16)} is not allowed here: use ${allow.join(", ")}.`, { allow: allow.join(", ") }, requestId)
        : mapError(ctx.code, ctx.error, log, requestId);
      ctx.set.status = res.status;
      stamp(res.headers, requestId);
      return res;
    })
    .onAfterResponse({ as: "global" }, (ctx) => {
      // After-response hooks run later, in a batch: `ms` is measured to when the answer was ready.
      const { request, set, requestId, requestStart, handledAt } = ctx as typeof ctx & { requestId?: string; requestStart?: number; handledAt?: number };
      const value = (ctx as { responseValue?: unknown }).responseValue;
      const status = value instanceof Response ? value.status : typeof set.status === "number" ? set.status : 200;
      logRequest(log, requestId, request.method, targetOf(request.url), status, requestStart ? (handledAt ?? performance.now()) - requestStart : undefined);
    });
}

/** The access-log line of a request; `path` with its query (the logger redacts credentials in it). */
export function logRequest(log: Logger, requestId: string | undefined, method: string, path: string, status: number, ms: number | undefined): void {
  log.info("http", { requestId, method, path, status, ms: ms === undefined ? undefined : Math.round(ms * 100) / 100 });
}

/** Path and query of an absolute request URL ("http://host/a?b" → "/a?b"). */
export function targetOf(url: string): string {
  const at = url.indexOf("/", url.indexOf("//") + 2);
  return at < 0 ? "/" : url.slice(at);
}
