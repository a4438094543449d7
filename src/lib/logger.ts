// JSON lines on stdout. Secrets never reach a log: token query parameters, bearer values,
// API keys and password fields are redacted before anything is written.
import type { LogLevel } from "../config";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEYS = /^(password|newpassword|currentpassword|token|secret|key|authorization|proxy-authorization|cookie|set-cookie|apikey|privatekey)$/i;

/** Removes credentials from free text: `?token=…` (and a live link's `?t=…`), `Bearer …`/`Basic …`, `bg_<id>_<secret>`, `scheme://user:password@`. */
export function redact(text: string): string {
  return text
    .replace(/([?&](?:token|key|secret|password|t)=)[^&\s"']*/gi, "$1[redacted]")
    .replace(/((?:Bearer|Basic)\s+)[^\s"']+/gi, "$1[redacted]")
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s:@\/"']*):[^\s@\/"']*@/gi, "$1:[redacted]@")
    .replace(/\b(bg_[A-Za-z0-9]+_)[A-Za-z0-9]+/g, "$1[redacted]");
}

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redact(value);
  if (value instanceof Error) return { name: value.name, message: redact(value.message), stack: value.stack ? redact(value.stack) : undefined };
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? "[redacted]" : scrub(v, depth + 1);
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
let sink: Sink = (line) => process.stdout.write(line + "\n");

export function setLogLevel(l: LogLevel): void {
  level = l;
}

/** Tests capture output through this. */
export function setLogSink(s: Sink): void {
  sink = s;
}

function make(base: Record<string, unknown>): Logger {
  const write = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < ORDER[level]) return;
    const entry = { time: new Date().toISOString(), level: lvl, msg: redact(msg), ...(scrub({ ...base, ...fields }) as object) };
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
