// A deployment's `params` is a JSON Schema, but only a documented subset of it (docs/deployments.md):
// a schema BrowserGrid cannot fully check must not be stored as if it could, so any keyword
// outside the subset is refused at deploy time (default-deny), not ignored. Run params are
// checked against it before anything starts; missing properties take their `default`.
//
// Threats: a schema is written by whoever deploys, params by whoever triggers (the API, a
// schedule). Depth, property counts and pattern length are capped so neither a schema nor a
// params object can make the check slow; a pattern is compiled once at deploy time so a broken
// one is refused there, not at every run.
import { BadRequest } from "../../lib/errors";

export const SCHEMA_KEYWORDS = [
  "type",
  "properties",
  "required",
  "additionalProperties",
  "enum",
  "const",
  "default",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "pattern",
  "items",
  "minItems",
  "maxItems",
  "description",
  "title",
] as const;

const TYPES = ["string", "number", "integer", "boolean", "object", "array", "null"] as const;
type TypeName = (typeof TYPES)[number];

export const SCHEMA_LIMITS = { depth: 8, properties: 100, enumValues: 100, patternLength: 512, textLength: 1000 } as const;

export interface ParamsSchema {
  type?: TypeName | TypeName[];
  properties?: Record<string, ParamsSchema>;
  required?: string[];
  additionalProperties?: boolean | ParamsSchema;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: ParamsSchema;
  minItems?: number;
  maxItems?: number;
  description?: string;
  title?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 1_000_000_000;

function refuse(path: string, why: string): never {
  throw new BadRequest(`browsergrid.json ${path}: ${why}.`, "invalid_params_schema");
}

/**
 * Checks a schema from a manifest (at `path`, e.g. "params") and returns it typed. The root of
 * a deployment's params schema must describe an object.
 */
export function checkParamsSchema(schema: unknown, path = "params"): ParamsSchema {
  checkNode(schema, path, 0);
  const root = schema as ParamsSchema;
  const types = typesOf(root);
  if (types && !(types.length === 1 && types[0] === "object")) refuse(path, 'the root must be {"type": "object", "properties": {…}}');
  if (!types) refuse(path, 'the root needs "type": "object"');
  return root;
}

function checkNode(node: unknown, path: string, depth: number): void {
  if (!isObject(node)) refuse(path, "must be a JSON Schema object");
  if (depth > SCHEMA_LIMITS.depth) refuse(path, `nests deeper than ${SCHEMA_LIMITS.depth} levels`);
  for (const key of Object.keys(node))
    if (!(SCHEMA_KEYWORDS as readonly string[]).includes(key)) refuse(path, `keyword "${key.slice(0, 64)}" is not supported (supported: ${SCHEMA_KEYWORDS.join(", ")})`);
  if (node.type !== undefined) {
    const list = Array.isArray(node.type) ? node.type : [node.type];
    if (list.length === 0 || list.some((t) => !(TYPES as readonly unknown[]).includes(t))) refuse(`${path}.type`, `must be one of ${TYPES.join(", ")} (or a list of them)`);
  }
  for (const k of ["description", "title"] as const)
    if (node[k] !== undefined && (typeof node[k] !== "string" || node[k].length > SCHEMA_LIMITS.textLength)) refuse(`${path}.${k}`, `must be a string of at most ${SCHEMA_LIMITS.textLength} characters`);
  for (const k of ["minimum", "maximum"] as const) if (node[k] !== undefined && (typeof node[k] !== "number" || !Number.isFinite(node[k]))) refuse(`${path}.${k}`, "must be a number");
  for (const k of ["minLength", "maxLength", "minItems", "maxItems"] as const) if (node[k] !== undefined && !isCount(node[k])) refuse(`${path}.${k}`, "must be a whole number ≥ 0");
  if (node.pattern !== undefined) {
    if (typeof node.pattern !== "string" || node.pattern.length > SCHEMA_LIMITS.patternLength) refuse(`${path}.pattern`, `must be a string of at most ${SCHEMA_LIMITS.patternLength} characters`);
    try {
      new RegExp(node.pattern, "u");
    } catch (err) {
      refuse(`${path}.pattern`, `is not a valid regular expression (${String((err as Error).message).slice(0, 200)})`);
    }
  }
  if (node.enum !== undefined && (!Array.isArray(node.enum) || node.enum.length === 0 || node.enum.length > SCHEMA_LIMITS.enumValues))
    refuse(`${path}.enum`, `must be a list of 1 to ${SCHEMA_LIMITS.enumValues} values`);
  if (node.required !== undefined) {
    if (!Array.isArray(node.required) || node.required.some((r) => typeof r !== "string" || r.length > 128) || new Set(node.required).size !== node.required.length)
      refuse(`${path}.required`, "must be a list of distinct property names");
  }
  if (node.properties !== undefined) {
    if (!isObject(node.properties)) refuse(`${path}.properties`, "must be an object of schemas");
    const names = Object.keys(node.properties);
    if (names.length > SCHEMA_LIMITS.properties) refuse(`${path}.properties`, `has more than ${SCHEMA_LIMITS.properties} properties`);
    for (const name of names) {
      if (name.length > 128) refuse(`${path}.properties`, "property names are at most 128 characters");
      checkNode(node.properties[name], `${path}.properties.${name}`, depth + 1);
    }
  }
  if (node.additionalProperties !== undefined && typeof node.additionalProperties !== "boolean") checkNode(node.additionalProperties, `${path}.additionalProperties`, depth + 1);
  if (node.items !== undefined) checkNode(node.items, `${path}.items`, depth + 1);
  if (node.default !== undefined) {
    const problem = firstProblem(node as ParamsSchema, node.default, "default");
    if (problem) refuse(`${path}.default`, `does not match its own schema (${problem})`);
  }
}

function typesOf(s: ParamsSchema): TypeName[] | undefined {
  return s.type === undefined ? undefined : Array.isArray(s.type) ? s.type : [s.type];
}

function typeOfValue(v: unknown): TypeName | "other" {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isFinite(v) ? "number" : "other";
  if (typeof v === "string" || typeof v === "boolean" || typeof v === "object") return typeof v as TypeName;
  return "other";
}

function fitsType(t: TypeName, v: unknown): boolean {
  if (t === "integer") return typeof v === "number" && Number.isInteger(v);
  return typeOfValue(v) === t;
}

/** Deep equality of JSON values (enum and const). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && sameJson(a[k], b[k]));
  }
  return false;
}

const show = (v: unknown) => JSON.stringify(v)?.slice(0, 80) ?? String(v);

/** The first thing wrong with `value` at `path`, as "path: reason", or undefined when it fits. Defaults are not applied here. */
function firstProblem(s: ParamsSchema, value: unknown, path: string): string | undefined {
  const types = typesOf(s);
  if (types && !types.some((t) => fitsType(t, value))) return `${path}: must be ${types.length === 1 ? `a${/^[aeiou]/.test(types[0]!) ? "n" : ""} ${types[0]}` : `one of ${types.join(", ")}`}`;
  if (s.enum && !s.enum.some((e) => sameJson(e, value))) return `${path}: must be one of ${s.enum.map(show).join(", ")}`;
  if (s.const !== undefined && !sameJson(s.const, value)) return `${path}: must be ${show(s.const)}`;
  if (typeof value === "number") {
    if (s.minimum !== undefined && value < s.minimum) return `${path}: must be at least ${s.minimum}`;
    if (s.maximum !== undefined && value > s.maximum) return `${path}: must be at most ${s.maximum}`;
  }
  if (typeof value === "string") {
    const length = [...value].length;
    if (s.minLength !== undefined && length < s.minLength) return `${path}: must be at least ${s.minLength} characters long`;
    if (s.maxLength !== undefined && length > s.maxLength) return `${path}: must be at most ${s.maxLength} characters long`;
    if (s.pattern !== undefined && !new RegExp(s.pattern, "u").test(value)) return `${path}: must match the pattern ${s.pattern}`;
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) return `${path}: must have at least ${s.minItems} items`;
    if (s.maxItems !== undefined && value.length > s.maxItems) return `${path}: must have at most ${s.maxItems} items`;
    if (s.items) for (const [i, item] of value.entries()) {
      const p = firstProblem(s.items, item, `${path}[${i}]`);
      if (p) return p;
    }
  }
  if (isObject(value)) {
    const props = s.properties ?? {};
    for (const r of s.required ?? []) if (!(r in value) && props[r]?.default === undefined) return `${path}.${r}: is required`;
    for (const [k, v] of Object.entries(value)) {
      const sub = Object.hasOwn(props, k) ? props[k] : s.additionalProperties;
      if (sub === false) return `${path}.${k}: is not a known parameter${Object.keys(props).length ? ` (known: ${Object.keys(props).slice(0, 20).join(", ")})` : ""}`;
      if (sub && sub !== true) {
        const p = firstProblem(sub, v, `${path}.${k}`);
        if (p) return p;
      }
    }
  }
  return undefined;
}

/** `value` with the defaults of missing object properties filled in, recursively (copies, never the schema's own objects). */
function withDefaults(s: ParamsSchema, value: unknown): unknown {
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const sub = Object.hasOwn(s.properties ?? {}, k) ? s.properties![k] : s.additionalProperties;
      out[k] = sub && sub !== true ? withDefaults(sub, v) : v;
    }
    for (const [k, sub] of Object.entries(s.properties ?? {})) if (!(k in out) && sub.default !== undefined) out[k] = structuredClone(sub.default);
    return out;
  }
  if (Array.isArray(value) && s.items) return value.map((v) => withDefaults(s.items!, v));
  return value;
}

/** Largest params object accepted, as JSON. */
export const MAX_PARAMS_BYTES = 64 * 1024;

/**
 * Run params checked against a deployment's schema (none: any object), with defaults applied.
 * 400 `invalid_params` naming the path of the first problem (`params.url: must be a string`).
 */
export function validateParamsAgainst(schema: ParamsSchema | undefined, params: unknown): Record<string, unknown> {
  const given = params === undefined ? {} : params;
  if (!isObject(given)) throw new BadRequest("params: must be a JSON object.", "invalid_params");
  const json = JSON.stringify(given);
  if (json.length > MAX_PARAMS_BYTES) throw new BadRequest(`params: must be at most ${MAX_PARAMS_BYTES} bytes as JSON.`, "invalid_params");
  if (!schema) return JSON.parse(json) as Record<string, unknown>;
  const filled = withDefaults(schema, JSON.parse(json)) as Record<string, unknown>;
  const problem = firstProblem(schema, filled, "params");
  if (problem) throw new BadRequest(`${problem}.`, "invalid_params");
  return filled;
}
