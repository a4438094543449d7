// The OpenAPI 3.1 document served at /api/openapi.json, built once from the routes' `t.*`
// schemas (Elysia's generator) and put into the shape that validators, linters and client
// generators read correctly. This is the one place that shapes it:
// - paths without a trailing slash; public routes (auth PUBLIC_ROUTES) say `security: []`;
// - schemas cleaned (schema-shape.ts): numbers are numbers, null is a 3.1 type;
// - JSON routes advertise JSON bodies only (the server refuses others: json-body.ts); routes
//   that stream a body (parse: "none") keep the media type they declare;
// - every operation documents its answers: a 204 has no content, and every error status it can
//   give refers to the one Error schema (error-responses.ts).
import { toOpenAPISchema } from "@elysiajs/openapi";
import { PUBLIC_ROUTES } from "../plugins/auth";
import { cleanSchema } from "./schema-shape";
import { ERROR_SCHEMA, errorResponse, impliedErrorStatuses, isErrorSchema, STATUS_TEXT } from "./error-responses";

export interface DocumentInfo {
  version: string;
  /** BROWSERGRID_PUBLIC_URL: where clients reach this install. */
  publicUrl: string;
}

type Json = Record<string, any>;
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
/** Paths Elysia knows that are no API: the document itself, its page, static assets. */
const EXCLUDED_PATHS = ["/api/openapi.json", "/api/docs", /^\/assets/];
const FORM_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data"];

export function buildApiDocument(app: unknown, info: DocumentInfo): Json {
  const generated = toOpenAPISchema(app as never, { paths: EXCLUDED_PATHS }) as unknown as { paths: Json };
  const paths: Json = {};
  for (const [rawPath, item] of Object.entries(generated.paths)) {
    const path = rawPath.length > 1 ? rawPath.replace(/\/+$/, "") : rawPath;
    for (const method of METHODS) {
      if (!item[method]) continue;
      (paths[path] ??= {})[method] = shapeOperation(method, path, cleanSchema(item[method]) as Json);
    }
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "BrowserGrid API",
      version: info.version,
      description: "Self-hosted browser grid: sessions with a CDP URL each, pools, workers and keys.",
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    servers: [{ url: info.publicUrl, description: "This BrowserGrid (BROWSERGRID_PUBLIC_URL)" }],
    security: [{ bearer: [] }],
    tags: tagsOf(paths),
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "API key bg_<id>_<secret>" } },
      schemas: { Error: ERROR_SCHEMA },
    },
  };
}

/** "/api/v1/users/{id}" → "/api/v1/users/:id", the form PUBLIC_ROUTES and Elysia use. */
const registeredForm = (path: string) => path.replace(/\{([^}]+)\}/g, ":$1");
const isPublic = (method: string, path: string) => PUBLIC_ROUTES.has(`${method.toUpperCase()} ${registeredForm(path)}`);

function shapeOperation(method: string, path: string, op: Json): Json {
  const open = isPublic(method, path);
  if (open) op.security = [];
  else delete op.security;
  const content = op.requestBody?.content as Json | undefined;
  if (content && content["application/json"]) {
    for (const type of FORM_TYPES) delete content[type];
    // Elysia takes a missing body as {}: a body is required only when it needs a field.
    const schema = content["application/json"].schema as Json;
    if (schema.type === "object" && !schema.required?.length && !schema.minProperties) op.requestBody.required = false;
  }

  const declared: Json = op.responses ?? {};
  const responses: Json = {};
  for (const [status, response] of Object.entries(declared)) {
    const described = response.description && !/^Response for status /.test(response.description) ? (response.description as string) : undefined;
    const schema = response.content?.["application/json"]?.schema;
    if (Number(status) >= 400 && (schema === undefined || isErrorSchema(schema))) responses[status] = errorResponse(status, described);
    else if (status === "204" || status === "304") responses[status] = { description: described ?? "Done; no content." };
    else responses[status] = { ...response, description: described ?? STATUS_TEXT[status] ?? "Success." };
  }
  for (const status of impliedErrorStatuses(method, path, op, open)) responses[status] ??= errorResponse(status);
  op.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
  return op;
}

/** What each tag groups; a route with a tag not listed here fails the document test. */
export const TAG_DESCRIPTIONS: Record<string, string> = {
  "api-keys": "Keys for scripts and SDKs: Authorization: Bearer bg_<id>_<secret>",
  artifacts: "Files a session produced: screenshots, downloads",
  audit: "Who changed what, when",
  deployments: "Automation code in immutable versions (bundles with a browsergrid.json manifest), and its secrets",
  auth: "Signing in and out, who is calling, changing your password",
  health: "Liveness and readiness probes; no credentials needed",
  maintenance: "Maintenance windows: no new sessions while one is active",
  pools: "Kinds of browser (image, limits, egress policy) and their warm browsers",
  profiles: "Saved browser state (cookies, storage) to start sessions with",
  proxies: "Upstream proxies the browsers use, with per-domain routes",
  runs: "Runs of a deployment's code beside a browser: trigger, follow, cancel, re-run; logs, result, output files",
  "rule-sets": "Request rules (block, mock, rewrite) applied to a session's browser",
  schedules: "Cron schedules of deployments: when they run, what they did, how their runs went",
  sessions: "Browsers: start one, get its CDP URL, end it",
  users: "Accounts and their roles",
  workers: "Machines that run the browsers",
};

function tagsOf(paths: Json): { name: string; description?: string }[] {
  const names = new Set<string>();
  for (const item of Object.values(paths)) for (const op of Object.values(item as Json)) for (const tag of (op as Json).tags ?? []) names.add(tag);
  return [...names].sort().map((name) => ({ name, ...(TAG_DESCRIPTIONS[name] ? { description: TAG_DESCRIPTIONS[name] } : {}) }));
}
