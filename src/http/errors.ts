// One place maps errors to HTTP: domain errors keep their status and message; validation
// errors say which field is wrong; anything else is a 500 logged with its stack and answered
// with a plain message that echoes no internals.
import { t } from "elysia";
import { DomainError } from "../lib/errors";
import type { Logger } from "../lib/logger";

export interface ErrorBody {
  error: { code: string; message: string; requestId?: string };
}

/** ErrorBody as a route schema: `response: { 404: ErrorSchema }`; the OpenAPI document publishes it once, as Error. */
export const ErrorSchema = t.Object({
  error: t.Object({
    code: t.String({ description: "Stable, machine-readable reason, e.g. not_found, invalid_request, capacity_exhausted" }),
    message: t.String({ description: "One sentence for a person: what is wrong and what to do" }),
    requestId: t.Optional(t.String({ description: "Also in the X-Request-Id header and the server log" })),
  }),
});

/** ErrorSchema with what this status means on one route: `response: { 409: errorFor("…") }`. */
export const errorFor = (description: string) => t.Object(ErrorSchema.properties, { description });

export function errorResponse(status: number, code: string, message: string, headers: Record<string, string> = {}, requestId?: string): Response {
  const body: ErrorBody = { error: { code, message, ...(requestId ? { requestId } : {}) } };
  return jsonText(JSON.stringify(body), status, headers);
}

/**
 * A response whose JSON is already text (or its UTF-8 bytes). Handlers that serve remembered JSON return this; the
 * route's `response` schema still documents the shape, but Elysia does not re-check a Response.
 */
export function jsonText(text: string | Uint8Array<ArrayBuffer> | Blob, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { "content-type": JSON_TYPE, ...headers } });
}

export const JSON_TYPE = "application/json;charset=utf-8";

type SchemaPart = { const?: unknown; type?: string; format?: string; minimum?: number; maximum?: number };

interface ValidationLike {
  all?: { path?: string; message?: string; summary?: string; schema?: { anyOf?: SchemaPart[] } }[];
  message?: string;
  /** A schema's own `error` text (wholeNumber), which says the field and what to send. */
  customError?: unknown;
}

/**
 * What is wrong with a value of a union Elysia words by its members' types ("should be one of:
 * 'string', …"): a union of literals (oneOf), or t.Integer / t.Number (a number, or the same
 * as a string). Undefined for any other union.
 */
function unionWording(anyOf: SchemaPart[]): string | undefined {
  if (anyOf.length === 0) return undefined;
  const choices = anyOf.map((s) => s.const);
  if (choices.every((c) => typeof c === "string" || typeof c === "number")) return `must be one of ${choices.map((c) => JSON.stringify(c)).join(", ")}`;
  const isNumber = (s: SchemaPart) => s.type === "integer" || s.type === "number";
  if (!anyOf.every((s) => isNumber(s) || (s.type === "string" && (s.format === "integer" || s.format === "numeric")))) return undefined;
  const n = anyOf.find(isNumber);
  if (!n) return undefined;
  const range = [n.minimum !== undefined ? `from ${n.minimum}` : "", n.maximum !== undefined ? `to ${n.maximum}` : ""].filter(Boolean).join(" ");
  return `must be ${n.type === "integer" ? "a whole number" : "a number"}${range ? ` ${range}` : ""}`;
}

/** Turns Elysia's validation error into one sentence naming the field (and, for a choice or a number, what it takes). */
export function describeValidation(err: ValidationLike): string {
  if (typeof err.customError === "string") return err.customError;
  const first = err.all?.[0];
  if (!first) return "The request body or query is not valid.";
  const field = first.path ? first.path.replace(/^\//, "").replace(/\//g, ".") : "";
  const why = unionWording(first.schema?.anyOf ?? []) ?? first.summary ?? first.message ?? "is not valid";
  if (!field) return `Invalid request: ${why}.`;
  if (/additional|unknown|not allowed|should not be provided/i.test(why) || why === "Never") return `Unknown field "${field}": remove it.`;
  return `Field "${field}": ${why}.`;
}

export function mapError(code: string | number, error: unknown, log: Logger, requestId?: string): Response {
  if (error instanceof DomainError) return errorResponse(error.status, error.code, error.message, error.headers, requestId);
  switch (code) {
    case "VALIDATION":
      return errorResponse(400, "invalid_request", describeValidation(error as ValidationLike), {}, requestId);
    case "NOT_FOUND":
      return errorResponse(404, "not_found", "No such route.", {}, requestId);
    case "PARSE":
      return errorResponse(400, "invalid_body", "The body could not be parsed: send valid JSON with Content-Type: application/json.", {}, requestId);
    case "INVALID_COOKIE_SIGNATURE":
      return errorResponse(401, "unauthorized", "Invalid cookie.", {}, requestId);
  }
  const e = error as { status?: number; message?: string } | undefined;
  if (e?.status === 413 || /too large|exceeds.*size/i.test(String(e?.message))) return errorResponse(413, "payload_too_large", "The request body is too large.", {}, requestId);
  log.error("unhandled error", { err: error, requestId });
  return errorResponse(500, "internal", "Internal error; the server log has the details.", {}, requestId);
}
