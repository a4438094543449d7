// The gate every request body passes on its way in, in Bun.serve's fetch before Elysia or any
// handler sees it. It applies body-limits.ts, the one table of caps:
// - a Content-Length over the route's cap: 413 at once, nothing read;
// - a route whose cap is above what anonymous callers may send (uploads, rule sets): the
//   credentials are checked first, with the same function the auth plugin uses; a caller who
//   is not signed in (or only a viewer) is refused before a byte of the body is read;
// - an upload: handed on as a stream that counts and fails with 413 at the cap, so the handler
//   streams it (a profile archive is never held whole);
// - any other body: read up to its cap (a chunked body fails with 413 at the cap, whatever it
//   claims), its JSON nesting checked without recursion (400 past MAX_JSON_DEPTH), then handed on.
import type { AppDeps } from "./context";
import { DomainError, Unauthorized } from "../lib/errors";
import type { Logger } from "../lib/logger";
import { errorResponse } from "./errors";
import { bodyLimitFor, largestBodyCap, MAX_JSON_DEPTH, type BodyLimit, type ConfiguredCaps } from "./body-limits";
import { JsonDepthScanner } from "./json-depth";
import { carryPeer, peerOf } from "./peer";
import { jsonAnswerHeaders, logRequest, requestIdFor, targetOf } from "./plugins/request-context";
import { requireRole, resolveActor } from "./plugins/auth";

export class PayloadTooLarge extends DomainError {
  constructor(readonly maxBytes: number) {
    super("payload_too_large", `The request body is too large: this route takes at most ${describeBytes(maxBytes)} (${maxBytes} bytes).`, 413);
  }
}

export class JsonTooDeep extends DomainError {
  constructor(max: number) {
    super("json_too_deep", `The JSON body nests arrays and objects more than ${max} levels deep; flatten it.`, 400);
  }
}

export interface BodyGate {
  /** The request to hand on (perhaps with its body re-wrapped), or the refusal to answer. */
  admit(req: Request): Request | Response | Promise<Request | Response>;
  /** Bun.serve's maxRequestBodySize: the largest cap of any route. */
  readonly maxBytes: number;
}

export interface BodyGateOptions {
  caps: ConfiguredCaps;
  /** Throws (401, 403, 429) unless the request's credentials may send a large body. Never reads the body. */
  authenticate(req: Request): void;
  log?: Logger;
}

export function createBodyGate(opts: BodyGateOptions): BodyGate {
  return {
    maxBytes: largestBodyCap(opts.caps),
    admit(req) {
      const declared = req.headers.get("content-length");
      if (req.body === null && (declared === null || declared === "0")) return req;
      const limit = bodyLimitFor(req.method, pathOf(req.url), opts.caps);
      const refused = (err: unknown) => refusal(req, err, opts.log);
      if (declared !== null && Number(declared) > limit.bytes) return refused(new PayloadTooLarge(limit.bytes));
      if (req.body === null) return req;
      if (limit.needsActor) {
        try {
          opts.authenticate(req);
        } catch (err) {
          req.body.cancel().catch(() => {});
          return refused(err);
        }
      }
      return limit.upload ? withBody(req, cappedStream(req.body, limit.bytes)) : readWhole(req, limit).catch(refused);
    },
  };
}

/** The gate of a running server: large bodies need a signed-in member (or admin) or an API key. */
export function bodyGateFor(deps: AppDeps): BodyGate {
  return createBodyGate({
    caps: { profileArchiveBytes: deps.config.profileMaxBytes, deploymentBundleBytes: deps.config.deploymentBundleMaxBytes },
    authenticate: (req) => void requireRole(resolveActor(deps, req, peerOf(req)).actor, "member"),
    log: deps.log,
  });
}

/** Without a way to authenticate, no caller may send more than the anonymous cap. */
export const anonymousOnlyBodyGate: BodyGate = createBodyGate({
  caps: { profileArchiveBytes: 0 },
  authenticate: () => {
    throw new Unauthorized("This server accepts no large bodies.");
  },
});

/**
 * The whole body, refused (the rest left unread) as soon as it passes its cap or, unless it is
 * a form, nests deeper than MAX_JSON_DEPTH.
 */
async function readWhole(req: Request, limit: BodyLimit): Promise<Request> {
  const depth = isForm(req.headers.get("content-type")) ? undefined : new JsonDepthScanner(MAX_JSON_DEPTH);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of req.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > limit.bytes) throw new PayloadTooLarge(limit.bytes);
    if (depth && !depth.feed(chunk)) throw new JsonTooDeep(MAX_JSON_DEPTH);
    chunks.push(chunk);
  }
  return withBody(req, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
}

/** The body as a stream that errors with PayloadTooLarge once more than `max` bytes came through. */
function cappedStream(body: ReadableStream<Uint8Array>, max: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let total = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        total += value.byteLength;
        if (total > max) {
          reader.cancel().catch(() => {});
          return controller.error(new PayloadTooLarge(max));
        }
        controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

function withBody(req: Request, body: Uint8Array | ReadableStream<Uint8Array>): Request {
  const next = new Request(req.url, { method: req.method, headers: req.headers, body, signal: req.signal, duplex: "half" } as RequestInit);
  carryPeer(req, next);
  return next;
}

/** Form bodies are percent-encoded or multipart: brackets in them are text, not JSON nesting. */
function isForm(contentType: string | null): boolean {
  const type = (contentType ?? "").toLowerCase();
  return type.startsWith("application/x-www-form-urlencoded") || type.startsWith("multipart/form-data");
}

function refusal(req: Request, err: unknown, log: Logger | undefined): Response {
  if (!(err instanceof DomainError)) throw err;
  const requestId = requestIdFor(req);
  const res = errorResponse(err.status, err.code, err.message, { ...jsonAnswerHeaders(requestId), ...err.headers }, requestId);
  if (log) logRequest(log, requestId, req.method, targetOf(req.url), res.status, undefined);
  return res;
}

function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const end = url.indexOf("?", start);
  return end < 0 ? url.slice(start) : url.slice(start, end);
}

function describeBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
