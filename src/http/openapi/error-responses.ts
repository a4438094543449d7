// The error statuses of the API, documented from the rules that produce them, in one place.
// Every error answer has one shape (src/http/errors.ts ErrorBody), published once as
// components.schemas.Error. The statuses that follow from how a route is declared are added
// here; the ones that come from a route's own domain errors (409, 410, 429 capacity, 503, …)
// are declared on the route (`response: { 409: ErrorSchema }`) and keep their description.

import { ErrorSchema } from "../errors";
import { cleanSchema } from "./schema-shape";
import { HOST_EXEMPT_PATHS } from "../plugins/host-guard";

type Operation = { security?: unknown[]; parameters?: { in: string }[]; requestBody?: unknown; responses?: Record<string, unknown>; "x-min-role"?: string };

/**
 * components.schemas.Error: the one body of every error answer. Elysia adds keywords to a
 * schema in place once a route using it is compiled, so the shape is compared, and published,
 * without them: no other property is ever sent.
 */
export const ERROR_SCHEMA = closed(cleanSchema(JSON.parse(JSON.stringify(ErrorSchema))) as Record<string, unknown>);
const ERROR_SHAPE = JSON.stringify(shapeOf(ERROR_SCHEMA));

function closed(schema: Record<string, any>): Record<string, unknown> {
  const error = { ...schema.properties.error, additionalProperties: false };
  return { ...schema, additionalProperties: false, properties: { error } };
}

/** The schema without the keywords that say nothing about which properties it has. */
function shapeOf(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(shapeOf);
  if (!schema || typeof schema !== "object") return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([k]) => k !== "description" && k !== "additionalProperties")
      .map(([k, v]) => [k, shapeOf(v)]),
  );
}

/** Whether a route's declared schema for an error status is the shared one (else the route answers its own shape). */
export const isErrorSchema = (schema: unknown) => JSON.stringify(shapeOf(schema)) === ERROR_SHAPE;

/** What each status means on any route; a route's own description of it wins. */
export const STATUS_TEXT: Record<string, string> = {
  "400": "Invalid request: a parameter or body field is wrong (the message names it), or the body is not valid JSON.",
  "401": "No valid credentials: send Authorization: Bearer <api key>.",
  "403": "Your role does not allow this, or a signed-in browser request came from another origin.",
  "404": "Not found.",
  "409": "Conflict with the current state.",
  "410": "Gone.",
  "411": "Length Required: send Content-Length.",
  "413": "The request body is larger than this route takes.",
  "415": "The body must be JSON: send Content-Type: application/json.",
  "421": "The Host header names no address of this server: a request without an API key must use BROWSERGRID_PUBLIC_URL or an allowed host.",
  "429": "Too many requests: wait for Retry-After seconds.",
  "503": "Unavailable for now: try again later.",
};

const SAFE_METHODS = new Set(["get", "head", "options"]);

/**
 * The statuses a route answers because of how it is declared:
 * - authenticated (non-empty security): 401; 429 from the per-key API rate limit; 403 when it
 *   needs more than the viewer role (`x-min-role`), or changes state (cross-origin refusal);
 * - parameters or a body: 400 (validation, unparsable JSON);
 * - a path parameter: 404 (nothing by that id or name);
 * - a body: 413 (body-limits.ts) and, for JSON bodies, 415;
 * - every route but the health probes: 421 (host-guard.ts, for requests without an API key).
 */
export function impliedErrorStatuses(method: string, path: string, op: Operation, isPublic: boolean): string[] {
  const out: string[] = [];
  if (!HOST_EXEMPT_PATHS.has(path)) out.push("421");
  if (!isPublic) {
    out.push("401", "429");
    if (op["x-min-role"] !== "viewer" || !SAFE_METHODS.has(method)) out.push("403");
  }
  if (op.parameters?.length || op.requestBody) out.push("400");
  if (op.parameters?.some((p) => p.in === "path")) out.push("404");
  if (op.requestBody) out.push("413");
  const content = (op.requestBody as { content?: Record<string, unknown> } | undefined)?.content;
  if (content && "application/json" in content) out.push("415");
  return out;
}

const Retry = { "Retry-After": { description: "Seconds to wait before trying again", schema: { type: "integer", minimum: 1 } } };

/** The response object of an error status, referring to the one Error schema. */
export function errorResponse(status: string, description?: string) {
  return {
    description: description ?? STATUS_TEXT[status] ?? `Error ${status}`,
    ...(status === "429" ? { headers: Retry } : {}),
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  };
}
