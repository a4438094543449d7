// The JSON API takes JSON objects only, and says so in its document:
// - Elysia would parse a form or multipart body into the same object and hand it to a route
//   whose document says it takes JSON: a body that is not JSON is refused with 415 before
//   anything parses it;
// - Elysia turns a JSON `false`, `0` or `[]` into an object that passes an all-optional schema:
//   a JSON body whose top value is not an object is refused with 400;
// - a request without a body is an empty object, so a route's schema alone decides whether a
//   body is required (one with a required field or minProperties), as the document says.
// Routes that stream a body of their own (body-limits.ts `upload`: profile archives, session
// uploads) are not JSON routes; the UI's form routes live outside /api/.
import { Elysia } from "elysia";
import { BadRequest, DomainError } from "../../lib/errors";
import { bodyLimitFor } from "../body-limits";

export class UnsupportedMediaType extends DomainError {
  constructor(got: string | null) {
    super("unsupported_media_type", `Send the body as JSON with Content-Type: application/json${got ? ` (got ${got.slice(0, 100)})` : ""}.`, 415);
  }
}

const JSON_MEDIA = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** Whether a request carries body bytes (a declared length above 0, or a chunked body). */
function hasBody(req: Request): boolean {
  const length = req.headers.get("content-length");
  return length !== null ? length !== "0" : req.headers.has("transfer-encoding");
}

const isApiWrite = (req: Request) => req.method !== "GET" && req.method !== "HEAD" && new URL(req.url).pathname.startsWith("/api/");
const streamsItsBody = (req: Request) => bodyLimitFor(req.method, new URL(req.url).pathname, { profileArchiveBytes: 0 }).upload;

/**
 * The body an /api/ route gets: the JSON object sent, or {} when none was sent. A transform
 * hook, so it runs once the route is known (a wrong method gets its 405 first), after Elysia's
 * own parser and before validation; routes with `parse: "none"` (uploads) keep their stream.
 */
export function jsonObjectBody(request: Request, body: unknown): Record<string, unknown> | undefined {
  if (!isApiWrite(request) || streamsItsBody(request)) return undefined;
  const type = request.headers.get("content-type");
  if (body === undefined && !hasBody(request) && !type) return {};
  if (type === null || !JSON_MEDIA.test(type)) throw new UnsupportedMediaType(type);
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new BadRequest('The body must be a JSON object: {"field": value, …}.', "invalid_body");
  return body as Record<string, unknown>;
}

export const jsonBodiesOnly = new Elysia({ name: "json-bodies-only" }).onTransform({ as: "global" }, (ctx) => {
  const body = jsonObjectBody(ctx.request, ctx.body);
  if (body !== undefined) (ctx as { body: unknown }).body = body;
});
