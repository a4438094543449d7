// The rule language of rule sets: validation (every refusal names the rule index and what to
// fix), URL globs, matching and the Fetch patterns that pause only what a rule can match.
//
// Order: rules are walked in order (the session's rule sets in the order given, each set's rules
// in order). A matching modifyRequestHeaders / modifyResponseHeaders rule is collected and the
// walk goes on; the first matching block, mock or redirect ends it. So "first match wins" for
// what happens to a request, and header rewrites listed before it still apply when it lets the
// request through.
//
// Globs are matched by a two-pointer scan, never compiled to a RegExp: a pattern like
// `*a*a*a*a*b` cannot make the matcher backtrack exponentially on a long URL.
import { BadRequest } from "../../lib/errors";

export const RESOURCE_TYPES = [
  "Document",
  "Stylesheet",
  "Image",
  "Media",
  "Font",
  "Script",
  "TextTrack",
  "XHR",
  "Fetch",
  "Prefetch",
  "EventSource",
  "WebSocket",
  "Manifest",
  "SignedExchange",
  "Ping",
  "CSPViolationReport",
  "Preflight",
  "Other",
] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export const RULE_LIMITS = {
  rules: 1000,
  urlPattern: 2048,
  mockBodyBytes: 1024 * 1024,
  /** A whole rule set as JSON (rules with mock bodies). */
  setBytes: 8 * 1024 * 1024,
  headers: 64,
  headerValue: 8192,
  methods: 16,
} as const;

export type RuleAction =
  | { type: "block" }
  | { type: "mock"; status: number; headers?: Record<string, string>; body?: string; bodyBase64?: string }
  | { type: "modifyRequestHeaders"; set?: Record<string, string>; remove?: string[] }
  | { type: "modifyResponseHeaders"; set?: Record<string, string>; remove?: string[] }
  | { type: "redirect"; url: string };

export interface Rule {
  match: { urlPattern?: string; resourceTypes?: ResourceType[]; methods?: string[] };
  action: RuleAction;
}

const ACTIONS = ["block", "mock", "modifyRequestHeaders", "modifyResponseHeaders", "redirect"] as const;
const TYPE_BY_LOWER = new Map(RESOURCE_TYPES.map((t) => [t.toLowerCase(), t]));
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const CONTROL = /[\u0000-\u001f\u007f]/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

class RuleError extends BadRequest {
  constructor(index: number, message: string) {
    super(`Rule ${index}: ${message}`, "invalid_rule");
  }
}

function onlyKeys(i: number, where: string, o: Obj, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new RuleError(i, `unknown field "${where}${k}"; allowed: ${allowed.join(", ")}.`);
}

function headerName(i: number, where: string, name: unknown): string {
  if (typeof name !== "string" || !TOKEN.test(name) || name.length > 256) throw new RuleError(i, `${where}: ${JSON.stringify(String(name).slice(0, 64))} is not a valid HTTP header name.`);
  return name;
}

function headerMap(i: number, where: string, v: unknown): Record<string, string> {
  if (!isObj(v)) throw new RuleError(i, `${where} must be an object of header name → value.`);
  const entries = Object.entries(v);
  if (entries.length > RULE_LIMITS.headers) throw new RuleError(i, `${where} has more than ${RULE_LIMITS.headers} headers.`);
  const out: Record<string, string> = {};
  for (const [name, value] of entries) {
    headerName(i, where, name);
    if (typeof value !== "string") throw new RuleError(i, `${where}.${name} must be a string.`);
    if (value.length > RULE_LIMITS.headerValue || /[\r\n\u0000]/.test(value)) throw new RuleError(i, `${where}.${name}: the value must be at most ${RULE_LIMITS.headerValue} characters without CR, LF or NUL.`);
    out[name] = value;
  }
  return out;
}

function headerEdit(i: number, a: Obj): { set?: Record<string, string>; remove?: string[] } {
  onlyKeys(i, "action.", a, ["type", "set", "remove"]);
  const out: { set?: Record<string, string>; remove?: string[] } = {};
  if (a.set !== undefined) out.set = headerMap(i, "action.set", a.set);
  if (a.remove !== undefined) {
    if (!Array.isArray(a.remove) || a.remove.length > RULE_LIMITS.headers) throw new RuleError(i, `action.remove must be a list of at most ${RULE_LIMITS.headers} header names.`);
    out.remove = a.remove.map((n) => headerName(i, "action.remove", n));
  }
  if (!out.set && !out.remove?.length) throw new RuleError(i, `action ${a.type} needs "set" or "remove".`);
  return out;
}

/** The URL pattern's own problems, or null. */
export function urlPatternProblem(p: unknown): string | null {
  if (typeof p !== "string" || p.length === 0) return "match.urlPattern must be a non-empty string.";
  if (p.length > RULE_LIMITS.urlPattern) return `match.urlPattern is longer than ${RULE_LIMITS.urlPattern} characters.`;
  if (CONTROL.test(p)) return "match.urlPattern contains a control character.";
  if (/^re:/i.test(p)) return 'match.urlPattern is a glob ("*" any characters, "?" one character); regular expressions ("re:…") are not supported.';
  if (/(^|[^\\])(\\\\)*\\$/.test(p)) return 'match.urlPattern ends in an unfinished "\\" escape.';
  return null;
}

function validateMatch(i: number, m: unknown): Rule["match"] {
  if (!isObj(m)) throw new RuleError(i, '"match" must be an object with urlPattern, resourceTypes and/or methods.');
  onlyKeys(i, "match.", m, ["urlPattern", "resourceTypes", "methods"]);
  const out: Rule["match"] = {};
  if (m.urlPattern !== undefined) {
    const problem = urlPatternProblem(m.urlPattern);
    if (problem) throw new RuleError(i, problem);
    out.urlPattern = m.urlPattern as string;
  }
  if (m.resourceTypes !== undefined) {
    if (!Array.isArray(m.resourceTypes) || m.resourceTypes.length === 0 || m.resourceTypes.length > RESOURCE_TYPES.length)
      throw new RuleError(i, `match.resourceTypes must be a non-empty list of: ${RESOURCE_TYPES.join(", ")}.`);
    out.resourceTypes = [
      ...new Set(
        m.resourceTypes.map((t) => {
          const known = typeof t === "string" ? TYPE_BY_LOWER.get(t.toLowerCase()) : undefined;
          if (!known) throw new RuleError(i, `match.resourceTypes: unknown resource type ${JSON.stringify(String(t).slice(0, 40))}; known: ${RESOURCE_TYPES.join(", ")}.`);
          return known;
        }),
      ),
    ];
  }
  if (m.methods !== undefined) {
    if (!Array.isArray(m.methods) || m.methods.length === 0 || m.methods.length > RULE_LIMITS.methods)
      throw new RuleError(i, `match.methods must be a non-empty list of at most ${RULE_LIMITS.methods} HTTP methods.`);
    out.methods = [
      ...new Set(
        m.methods.map((x) => {
          if (typeof x !== "string" || !TOKEN.test(x) || x.length > 32) throw new RuleError(i, `match.methods: ${JSON.stringify(String(x).slice(0, 40))} is not an HTTP method.`);
          return x.toUpperCase();
        }),
      ),
    ];
  }
  if (!out.urlPattern && !out.resourceTypes && !out.methods) throw new RuleError(i, '"match" needs at least one of urlPattern, resourceTypes, methods.');
  return out;
}

function validateAction(i: number, a: unknown): RuleAction {
  if (!isObj(a) || typeof a.type !== "string" || !(ACTIONS as readonly string[]).includes(a.type))
    throw new RuleError(i, `"action.type" must be one of: ${ACTIONS.join(", ")}.`);
  switch (a.type) {
    case "block":
      onlyKeys(i, "action.", a, ["type"]);
      return { type: "block" };
    case "mock": {
      onlyKeys(i, "action.", a, ["type", "status", "headers", "body", "bodyBase64"]);
      if (typeof a.status !== "number" || !Number.isInteger(a.status) || a.status < 100 || a.status > 599) throw new RuleError(i, "action.status must be a whole number from 100 to 599.");
      if (a.body !== undefined && a.bodyBase64 !== undefined) throw new RuleError(i, 'give either action.body or action.bodyBase64, not both.');
      const out: RuleAction = { type: "mock", status: a.status };
      if (a.headers !== undefined) out.headers = headerMap(i, "action.headers", a.headers);
      if (a.body !== undefined) {
        if (typeof a.body !== "string") throw new RuleError(i, "action.body must be a string (use bodyBase64 for bytes).");
        if (Buffer.byteLength(a.body) > RULE_LIMITS.mockBodyBytes) throw new RuleError(i, `action.body is larger than the mock body limit of ${RULE_LIMITS.mockBodyBytes} bytes (1 MiB).`);
        out.body = a.body;
      }
      if (a.bodyBase64 !== undefined) {
        if (typeof a.bodyBase64 !== "string" || !BASE64.test(a.bodyBase64)) throw new RuleError(i, "action.bodyBase64 must be standard base64 (A-Z, a-z, 0-9, +, /, = padding).");
        if ((a.bodyBase64.length / 4) * 3 - (a.bodyBase64.match(/=*$/)![0].length) > RULE_LIMITS.mockBodyBytes)
          throw new RuleError(i, `action.bodyBase64 decodes to more than the mock body limit of ${RULE_LIMITS.mockBodyBytes} bytes (1 MiB).`);
        out.bodyBase64 = a.bodyBase64;
      }
      return out;
    }
    case "modifyRequestHeaders":
    case "modifyResponseHeaders":
      return { type: a.type, ...headerEdit(i, a) };
    case "redirect": {
      onlyKeys(i, "action.", a, ["type", "url"]);
      let u: URL | null = null;
      try {
        u = typeof a.url === "string" && a.url.length <= RULE_LIMITS.urlPattern && !CONTROL.test(a.url) ? new URL(a.url) : null;
      } catch {}
      if (!u || (u.protocol !== "http:" && u.protocol !== "https:")) throw new RuleError(i, `action.url must be an absolute http(s) URL of at most ${RULE_LIMITS.urlPattern} characters.`);
      return { type: "redirect", url: u.href };
    }
  }
  throw new RuleError(i, "unknown action.");
}

/** Checks a rule list and returns it normalised (canonical resource types, upper-case methods). */
export function validateRules(rules: unknown): Rule[] {
  if (!Array.isArray(rules)) throw new BadRequest('"rules" must be a list of rules: [{ match: {...}, action: {...} }].', "invalid_rule");
  if (rules.length > RULE_LIMITS.rules) throw new BadRequest(`A rule set holds at most ${RULE_LIMITS.rules} rules; this one has ${rules.length}.`, "too_many_rules");
  const out = rules.map((r, i): Rule => {
    if (!isObj(r)) throw new RuleError(i, 'a rule is an object { match, action }.');
    onlyKeys(i, "", r, ["match", "action"]);
    return { match: validateMatch(i, r.match), action: validateAction(i, r.action) };
  });
  const bytes = Buffer.byteLength(JSON.stringify(out));
  if (bytes > RULE_LIMITS.setBytes) throw new BadRequest(`The rules take ${bytes} bytes as JSON; a rule set holds at most ${RULE_LIMITS.setBytes} bytes (8 MiB).`, "rule_set_too_large");
  return out;
}

// ---- matching ---------------------------------------------------------------------------

/** Glob tokens: literal characters, "*" (any run) and "?" (one character); "\" escapes. */
type Token = string | typeof STAR | typeof ONE;
const STAR = Symbol("*");
const ONE = Symbol("?");

function tokenize(pattern: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\" && i + 1 < pattern.length) out.push(pattern[++i]!);
    else if (c === "*") {
      if (out[out.length - 1] !== STAR) out.push(STAR);
    } else if (c === "?") out.push(ONE);
    else out.push(c);
  }
  return out;
}

/** Whole-string glob match (like CDP Fetch patterns): greedy scan, backtracking only to the last "*". */
function globMatch(tokens: Token[], s: string): boolean {
  let p = 0;
  let i = 0;
  let starP = -1;
  let starI = 0;
  while (i < s.length) {
    const t = tokens[p];
    if (t === ONE || (typeof t === "string" && t === s[i])) {
      p++;
      i++;
    } else if (t === STAR) {
      starP = p++;
      starI = i;
    } else if (starP >= 0) {
      p = starP + 1;
      i = ++starI;
    } else return false;
  }
  while (tokens[p] === STAR) p++;
  return p === tokens.length;
}

export function globMatches(pattern: string, url: string): boolean {
  return globMatch(tokenize(pattern), url);
}

export interface CompiledRule {
  rule: Rule;
  matches(url: string, resourceType: string, method: string): boolean;
  /** fulfillRequest's body, base64, computed once. */
  mockBody?: string;
}

export function compileRules(rules: Rule[]): CompiledRule[] {
  return rules.map((rule) => {
    const tokens = rule.match.urlPattern !== undefined ? tokenize(rule.match.urlPattern) : null;
    const types = rule.match.resourceTypes ? new Set<string>(rule.match.resourceTypes) : null;
    const methods = rule.match.methods ? new Set(rule.match.methods) : null;
    const a = rule.action;
    return {
      rule,
      matches: (url, resourceType, method) => (!types || types.has(resourceType)) && (!methods || methods.has(method.toUpperCase())) && (!tokens || globMatch(tokens, url)),
      ...(a.type === "mock" ? { mockBody: a.bodyBase64 ?? (a.body !== undefined ? Buffer.from(a.body).toString("base64") : "") } : {}),
    };
  });
}

export type HeaderEdit = { set?: Record<string, string>; remove?: string[] };

export interface Decision {
  /** The first matching block/mock/redirect, if any. */
  terminal?: CompiledRule;
  requestEdits: HeaderEdit[];
  responseEdits: HeaderEdit[];
}

/** The walk described at the top of this file. */
export function decide(rules: CompiledRule[], url: string, resourceType: string, method: string): Decision {
  const d: Decision = { requestEdits: [], responseEdits: [] };
  for (const r of rules) {
    if (!r.matches(url, resourceType, method)) continue;
    const a = r.rule.action;
    if (a.type === "modifyRequestHeaders") d.requestEdits.push(a);
    else if (a.type === "modifyResponseHeaders") d.responseEdits.push(a);
    else {
      d.terminal = r;
      break;
    }
  }
  return d;
}

/** Applies header edits in order (names case-insensitive; "set" replaces every same-named header). */
export function editHeaders(headers: { name: string; value: string }[], edits: HeaderEdit[]): { name: string; value: string }[] {
  let out = headers;
  for (const e of edits) {
    const drop = new Set([...(e.remove ?? []), ...Object.keys(e.set ?? {})].map((n) => n.toLowerCase()));
    out = out.filter((h) => !drop.has(h.name.toLowerCase()));
    for (const [name, value] of Object.entries(e.set ?? {})) out.push({ name, value });
  }
  return out;
}

export interface FetchPattern {
  urlPattern: string;
  resourceType?: ResourceType;
  requestStage: "Request" | "Response";
}

/**
 * Fetch.enable patterns: only what some rule can match is paused. Methods cannot be filtered by
 * Chromium, so a method-only rule pauses every request of its stage. The Response stage is used
 * only by modifyResponseHeaders rules.
 */
export function fetchPatterns(rules: Rule[]): FetchPattern[] {
  const seen = new Map<string, FetchPattern>();
  const all = { Request: false, Response: false };
  for (const { match, action } of rules) {
    const requestStage = action.type === "modifyResponseHeaders" ? "Response" : "Request";
    const urlPattern = match.urlPattern ?? "*";
    if (urlPattern === "*" && !match.resourceTypes) all[requestStage] = true;
    for (const resourceType of match.resourceTypes ?? [undefined]) {
      const p: FetchPattern = { urlPattern, requestStage, ...(resourceType ? { resourceType } : {}) };
      seen.set(`${requestStage} ${resourceType ?? ""} ${urlPattern}`, p);
    }
  }
  // A catch-all pattern of a stage makes the others of that stage redundant.
  return [...seen.values()].filter((p) => !all[p.requestStage] || (p.urlPattern === "*" && !p.resourceType));
}
