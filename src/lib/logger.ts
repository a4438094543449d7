// JSON lines on stdout. Secrets never reach a log: token query parameters, bearer values,
// API keys and password fields are redacted before anything is written.
import { writeSync } from "node:fs";
import type { LogLevel } from "../config";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEYS = /^(password|newpassword|currentpassword|token|secret|key|authorization|proxy-authorization|cookie|set-cookie|apikey|privatekey)$/i;

/** Every pattern below needs one of these: most strings (ids, paths, methods) have none. */
const MAY_HOLD_SECRET = /[?&:;%~\s]|bg_/;

/** Query parameters whose value is a credential: token, key, secret, password and their compounds (api_key, access_token), and a live link's `t`. */
const SECRET_PARAM = /([?&;](?:[a-z0-9_.-]*(?:token|key|secret|password)|t)=)[^&;\s"']*/gi;

/** A session token carried in a CDP path: `/cdp/<id>~<token>` (src/cdp/routes.ts). */
const PATH_TOKEN = /(\/cdp\/[^\/?#\s"'~]*~)[^\/?#\s"']+/g;

/** Redaction of the text as written: no decoding. */
function redactLiteral(text: string): string {
  return text
    .replace(SECRET_PARAM, "$1[redacted]")
    .replace(PATH_TOKEN, "$1[redacted]")
    .replace(/((?:Bearer|Basic)\s+)[^\s"']+/gi, "$1[redacted]")
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s:@\/"']*):[^\s@\/"']*@/gi, "$1:[redacted]@")
    .replace(/\b(bg_[A-Za-z0-9]+_)[A-Za-z0-9]+/g, "$1[redacted]");
}

/** Decodes each run of %XX escapes; a run that is not UTF-8 keeps its non-ASCII escapes as written. */
function percentDecodeOnce(text: string): string {
  return text.replace(/(?:%[0-9a-f]{2})+/gi, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run.replace(/%([0-7][0-9a-f])/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    }
  });
}

/** Decoded until nothing changes, as a server (or a client that decodes again) may read it; bounded for nesting. */
function percentDecodeFully(text: string): string {
  let current = text;
  for (let round = 0; round < 4 && /%[0-9a-f]{2}/i.test(current); round++) {
    const next = percentDecodeOnce(current);
    if (next === current) break;
    current = next;
  }
  return current;
}

/**
 * Removes credentials from free text: `?token=…` (and `api_key=`, `access_token=`, a live link's
 * `?t=…`), a session token in a CDP path (`/cdp/<id>~…`), `Bearer …`/`Basic …`, `bg_<id>_<secret>`, `scheme://user:password@`. The threat: a
 * credential written URL-encoded (`bg%5F…`, `%74oken=`, a `next=` holding an encoded URL) slips
 * past patterns that only see the literal text. So the text is also read percent-decoded (to any
 * nesting depth); when the decoded form holds a credential, the decoded form is logged, redacted.
 */
export function redact(text: string): string {
  if (!MAY_HOLD_SECRET.test(text)) return text;
  const literal = redactLiteral(text);
  if (!text.includes("%")) return literal;
  const decoded = percentDecodeFully(text);
  if (decoded === text) return literal;
  const decodedRedacted = redactLiteral(decoded);
  return decodedRedacted === decoded ? literal : decodedRedacted;
}

/** A value the log must show as it is, secret-looking or not. */
class Verbatim {
  constructor(readonly text: string) {}
  toJSON(): string {
    return this.text;
  }
}

/**
 * Marks a field value to be logged unredacted. Only for a secret whose purpose is to be read in
 * the log by the operator (the first-run setup link); never for anything a client sent.
 */
export function logVerbatim(text: string): unknown {
  return new Verbatim(text);
}

function scrub(value: unknown, depth = 0): unknown {
  if (value instanceof Verbatim) return value.text;
  if (typeof value === "string") return redact(value);
  if (value instanceof Error) return { name: value.name, message: redact(value.message), stack: value.stack ? redact(value.stack) : undefined };
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const k in value) out[k] = SECRET_KEYS.test(k) ? "[redacted]" : scrub((value as Record<string, unknown>)[k], depth + 1);
  return out;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

type Sink = (line: string) => void;
let level: LogLevel = (process.env.BROWSERGRID_LOG_LEVEL as LogLevel) in ORDER ? (process.env.BROWSERGRID_LOG_LEVEL as LogLevel) : "info";
let sink: Sink = bufferedStdout();

/**
 * Lines go to stdout once per event-loop turn, in one write: the access log writes a line per
 * request, and a write system call each cost more than the rest of a fast request's logging.
 * What is pending is written synchronously when the process exits (also after an uncaught
 * error), so only a hard kill can lose the last turn's lines.
 */
function bufferedStdout(): Sink {
  let pending: string[] = [];
  let scheduled = false;
  const take = () => {
    const text = pending.join("\n") + "\n";
    pending = [];
    return text;
  };
  const flush = () => {
    scheduled = false;
    if (pending.length > 0) process.stdout.write(take());
  };
  process.on("exit", () => {
    if (pending.length > 0) writeSync(1, take());
  });
  return (line) => {
    pending.push(line);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

export function setLogLevel(l: LogLevel): void {
  level = l;
}

/** Tests capture output through this. */
export function setLogSink(s: Sink): void {
  sink = s;
}

/** Copies `from`'s fields into `into`, scrubbed (a for-in over a plain object: no entry arrays). */
function assignScrubbed(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const k in from) into[k] = SECRET_KEYS.test(k) ? "[redacted]" : scrub(from[k], 1);
}

// The access log writes a line per request: the timestamp text is kept for its millisecond.
let stampMs = 0;
let stampText = "";
function timestamp(): string {
  const now = Date.now();
  if (now !== stampMs) (stampMs = now), (stampText = new Date(now).toISOString());
  return stampText;
}

function make(base: Record<string, unknown>): Logger {
  const write = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < ORDER[level]) return;
    const entry: Record<string, unknown> = { time: timestamp(), level: lvl, msg: redact(msg) };
    assignScrubbed(entry, base);
    if (fields) assignScrubbed(entry, fields);
    sink(JSON.stringify(entry));
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (f) => make({ ...base, ...f }),
  };
}

export const log: Logger = make({});
