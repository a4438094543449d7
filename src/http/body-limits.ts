// How many bytes of request body each route may receive, enforced by body-gate.ts while the
// body streams in, before anything parses it.
//
// Threat: bodies used to be read whole and parsed before authentication, and the 1 MiB cap only
// looked at Content-Length, so four anonymous chunked 250 MiB logins took the server to 4.5 GB.
// The rule now: an anonymous caller can make the server hold at most ANONYMOUS_BODY_BYTES of
// any body; a larger cap exists only on the routes below, and only once the caller has proved
// who they are (API key or cookie) — before a byte of the body is read.
//
// A route not in the table gets DEFAULT_BODY_BYTES: forgetting a row never opens a larger door.

/** Ordinary JSON and form bodies; the largest one a route may take without an entry below. */
export const DEFAULT_BODY_BYTES = 64 * 1024;
/** The most any caller who has not authenticated can send, on any route. */
export const ANONYMOUS_BODY_BYTES = DEFAULT_BODY_BYTES;
/** Nesting of a JSON body (arrays and objects); deeper bodies get 400 before JSON.parse. */
export const MAX_JSON_DEPTH = 32;
/**
 * One file a client puts into a session's uploads directory (POST /api/v1/sessions/:id/uploads):
 * the outer wall, the largest a pool's `storageMb` may be (768 MiB). The route itself holds each
 * upload to its own pool's `storageMb` while it copies.
 */
export const SESSION_UPLOAD_MAX_BYTES = 768 * 1024 * 1024;

/** Caps that come from the configuration rather than from code. */
export interface ConfiguredCaps {
  /** BROWSERGRID_PROFILE_MAX_MB: an imported profile archive may not be larger than the profile. */
  profileArchiveBytes: number;
  /** BROWSERGRID_DEPLOYMENT_BUNDLE_MAX_MB: a deployment bundle upload (absent: the default, 50 MiB). */
  deploymentBundleBytes?: number;
}

/** The bundle cap when a gate is built without configuration (tests, the JSON-body check). */
const DEFAULT_DEPLOYMENT_BUNDLE_BYTES = 50 * 1024 * 1024;
/** A bundle upload: the archive plus the multipart envelope around it. */
const deploymentUpload = (c: ConfiguredCaps) => (c.deploymentBundleBytes ?? DEFAULT_DEPLOYMENT_BUNDLE_BYTES) + DEFAULT_BODY_BYTES;

export interface BodyRule {
  method: "POST" | "PUT" | "PATCH";
  /** The path with `:param` segments, as the route is registered. */
  path: string;
  /** Why this route needs more than the default, with the schema limits the figure comes from. */
  why: string;
  /** Streamed to the handler (an archive, a file) instead of read whole before routing. */
  upload?: true;
  bytes: number | ((caps: ConfiguredCaps) => number);
}

/** Rule sets: 8 MiB of rules as JSON (RULE_LIMITS.setBytes) plus the set's name and description. */
const RULE_SET_JSON = 9 * 1024 * 1024;
/** The same JSON in a form textarea, where every quote and brace is percent-encoded (×3). */
const RULE_SET_FORM = 3 * RULE_SET_JSON;

export const BODY_RULES: readonly BodyRule[] = [
  { method: "POST", path: "/api/v1/profiles/import", upload: true, bytes: (c) => c.profileArchiveBytes, why: "a tar(.gz) profile archive, at most the profile size cap" },
  { method: "POST", path: "/profiles/import", upload: true, bytes: (c) => c.profileArchiveBytes + DEFAULT_BODY_BYTES, why: "the same archive as a multipart form" },
  { method: "POST", path: "/api/v1/deployments", upload: true, bytes: deploymentUpload, why: "a deployment bundle (.tar.gz or .zip, multipart or raw) or its inline JSON form" },
  { method: "POST", path: "/deployments", upload: true, bytes: deploymentUpload, why: "a deployment bundle as a multipart form" },
  { method: "POST", path: "/deployments/:name/versions", upload: true, bytes: deploymentUpload, why: "a new version's bundle as a multipart form" },
  { method: "POST", path: "/api/v1/sessions/:id/uploads", upload: true, bytes: SESSION_UPLOAD_MAX_BYTES, why: "a file for the session's uploads directory" },
  { method: "POST", path: "/api/v1/rule-sets", bytes: RULE_SET_JSON, why: "rules with mock bodies: 1 MiB each, 8 MiB a set" },
  { method: "PUT", path: "/api/v1/rule-sets/:id", bytes: RULE_SET_JSON, why: "rules with mock bodies: 1 MiB each, 8 MiB a set" },
  { method: "PATCH", path: "/api/v1/rule-sets/:id", bytes: RULE_SET_JSON, why: "rules with mock bodies: 1 MiB each, 8 MiB a set" },
  { method: "POST", path: "/rule-sets", bytes: RULE_SET_FORM, why: "a rule set's JSON in a form field" },
  { method: "POST", path: "/rule-sets/:id", bytes: RULE_SET_FORM, why: "a rule set's JSON in a form field" },
  { method: "POST", path: "/api/v1/proxies", bytes: 1024 * 1024, why: "32 routes of 64 domains of up to 253 characters" },
  { method: "PATCH", path: "/api/v1/proxies/:id", bytes: 1024 * 1024, why: "32 routes of 64 domains of up to 253 characters" },
  { method: "POST", path: "/api/v1/pools", bytes: 256 * 1024, why: "an egress allow-list of 256 entries of up to 255 characters" },
  { method: "PATCH", path: "/api/v1/pools/:name", bytes: 256 * 1024, why: "an egress allow-list of 256 entries of up to 255 characters" },
  { method: "POST", path: "/pools", bytes: 256 * 1024, why: "the allow-list textarea, percent-encoded" },
  { method: "POST", path: "/pools/:name", bytes: 256 * 1024, why: "the allow-list textarea, percent-encoded" },
];

export interface BodyLimit {
  bytes: number;
  /** Above ANONYMOUS_BODY_BYTES: the caller must authenticate before the body is read. */
  needsActor: boolean;
  upload: boolean;
}

const SEGMENT = /^[^/]+$/;

function matches(rule: BodyRule, method: string, segments: string[]): boolean {
  if (rule.method !== method) return false;
  const want = rule.path.split("/");
  if (want.length !== segments.length) return false;
  return want.every((w, i) => (w.startsWith(":") ? SEGMENT.test(segments[i]!) : w === segments[i]));
}

/** The cap of a request body by method and path (a trailing slash is the same route). */
export function bodyLimitFor(method: string, pathname: string, caps: ConfiguredCaps): BodyLimit {
  const segments = (pathname.length > 1 ? pathname.replace(/\/$/, "") : pathname).split("/");
  const rule = BODY_RULES.find((r) => matches(r, method.toUpperCase(), segments));
  const bytes = rule === undefined ? DEFAULT_BODY_BYTES : typeof rule.bytes === "number" ? rule.bytes : rule.bytes(caps);
  return { bytes, needsActor: bytes > ANONYMOUS_BODY_BYTES, upload: rule?.upload === true };
}

/** The largest cap of any route: Bun.serve's maxRequestBodySize, the outer wall. */
export function largestBodyCap(caps: ConfiguredCaps): number {
  return Math.max(DEFAULT_BODY_BYTES, ...BODY_RULES.map((r) => (typeof r.bytes === "number" ? r.bytes : r.bytes(caps))));
}

/** A concrete request path for every rule (":id" filled in), plus routes that take the default: for tests. */
export function bodyLimitSamples(): { method: string; path: string; rule: BodyRule | undefined }[] {
  const concrete = (p: string) => p.replace(/:[a-z]+/gi, "x1");
  return [
    ...BODY_RULES.map((rule) => ({ method: rule.method, path: concrete(rule.path), rule })),
    { method: "POST", path: "/api/v1/auth/login", rule: undefined },
    { method: "POST", path: "/setup", rule: undefined },
    { method: "POST", path: "/login", rule: undefined },
    { method: "POST", path: "/api/v1/sessions", rule: undefined },
    { method: "POST", path: "/api/v1/profiles/import/extra", rule: undefined },
    { method: "PUT", path: "/api/v1/profiles/import", rule: undefined },
  ];
}
