// A strict JSON validator for client→browser CDP messages.
//
// Contract: scanMessage(text) accepts exactly RFC 8259 JSON text whose objects have no duplicate
// keys (compared after unescaping) and whose nesting is at most MAX_DEPTH, and reports the
// top-level `id`, `method`, `sessionId` and `params` it found. Anything else is a ScanError.
// Threat: Chromium's own parser is more lenient (a literal vertical tab in a string, comments,
// …) and the two parsers resolve duplicate keys differently, so a message this gateway reads one
// way could reach Chromium meaning another. The gateway is the stricter parser: what Chromium
// executes is only ever text this scanner proved unambiguous.
//
// Hot path: string bodies are skipped by a regex search (native speed, MB-long scripts and
// Fetch bodies included), keys are compared by offsets without allocating, and only the
// top-level fields are decoded.

/** Deepest nesting of objects/arrays accepted (Chromium's own limit is 300). */
export const MAX_DEPTH = 128;

export class ScanError extends Error {
  /** The envelope fields read before the error, for the error reply's id/sessionId. */
  partial: ScannedMessage | null = null;
}

export interface ScannedMessage {
  /** The top-level `id` when it is an integer token, else undefined. */
  id: number | undefined;
  method: string | undefined;
  sessionId: string | undefined;
  /** True when a top-level key other than id/method/params/sessionId is present. */
  extraKeys: boolean;
  /** True when `sessionId` is present and is not a string. */
  sessionIdNotString: boolean;
  /** True when `params` is present and is not an object. */
  paramsNotObject: boolean;
  /** Set when the top level is not an object. */
  notObject: boolean;
}

// What ends a plain run in a string body: a quote, a backslash or a control character. A
// forward search (native, ~10 GB/s) is far faster than a sticky match of the run itself.
const SPECIAL = /["\\\u0000-\u001f]/g;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const SMALL_OBJECT = 8;
const SHORT_RUN = 32;

// Key offsets of the objects being scanned, a stack shared by all nesting levels.
let keyStart = new Int32Array(256);
let keyEnd = new Int32Array(256);
let keyEscaped = new Uint8Array(256);

let text = "";
let pos = 0;
let keyTop = 0;
let lastStringEscaped = false;
let lastKeyStart = 0;
let lastKeyEnd = 0;
let lastKeyEscaped = false;
const ENVELOPE_KEYS = ["id", "method", "sessionId", "params"] as const;
type EnvelopeKey = (typeof ENVELOPE_KEYS)[number] | "other";

/** Scans `input`; throws ScanError with a reason a client can act on. */
export function scanMessage(input: string): ScannedMessage {
  text = input;
  pos = 0;
  keyTop = 0;
  const out: ScannedMessage = { id: undefined, method: undefined, sessionId: undefined, sessionIdNotString: false, extraKeys: false, paramsNotObject: false, notObject: false };
  try {
    skipWs();
    if (text.charCodeAt(pos) === 0x7b /* { */) scanTopObject(out);
    else {
      out.notObject = true;
      scanValue(1);
    }
    skipWs();
    if (pos !== text.length) fail("unexpected text after the JSON value");
    return out;
  } catch (err) {
    if (err instanceof ScanError) err.partial = out;
    throw err;
  } finally {
    text = "";
  }
}

function fail(why: string): never {
  throw new ScanError(`${why} at offset ${pos}`);
}

function skipWs(): void {
  for (;;) {
    const c = text.charCodeAt(pos);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
    else return;
  }
}

/** Scans a string starting at its opening quote; pos ends after the closing quote. */
function scanString(): void {
  pos++;
  lastStringEscaped = false;
  for (;;) {
    // Short runs (most keys and values) by hand; long ones by the native search.
    const shortEnd = pos + SHORT_RUN;
    let c = text.charCodeAt(pos);
    while (c > 0x1f && c !== 0x22 && c !== 0x5c && pos < shortEnd) c = text.charCodeAt(++pos);
    if (pos === shortEnd) {
      SPECIAL.lastIndex = pos;
      if (!SPECIAL.test(text)) {
        pos = text.length;
        fail("unterminated string");
      }
      pos = SPECIAL.lastIndex - 1;
      c = text.charCodeAt(pos);
    }
    if (c === 0x22) {
      pos++;
      return;
    }
    if (c === 0x5c) {
      ESCAPE.lastIndex = pos;
      if (!ESCAPE.test(text)) fail("invalid escape in a string");
      lastStringEscaped = true;
      if (text.charCodeAt(pos + 1) === 0x75 /* u */) checkSurrogate();
      pos = ESCAPE.lastIndex;
      continue;
    }
    fail(Number.isNaN(c) ? "unterminated string" : "control character in a string (escape it)");
  }
}

/** A \u escape of a surrogate must be a high one followed by an escaped low one. */
function checkSurrogate(): void {
  const unit = parseInt(text.slice(pos + 2, pos + 6), 16);
  if (unit < 0xd800 || unit > 0xdfff) return;
  const low = text.charCodeAt(pos + 6) === 0x5c && text.charCodeAt(pos + 7) === 0x75 ? parseInt(text.slice(pos + 8, pos + 12), 16) : -1;
  if (unit > 0xdbff || !(low >= 0xdc00 && low <= 0xdfff)) fail("unpaired surrogate escape in a string");
  pos += 6; // the low half is consumed by the caller's next ESCAPE match
  ESCAPE.lastIndex = pos;
  if (!ESCAPE.test(text)) fail("invalid escape in a string");
}

function scanValue(depth: number): void {
  const c = text.charCodeAt(pos);
  if (c === 0x22) return scanString();
  if (c === 0x7b) return scanObject(depth + 1);
  if (c === 0x5b) return scanArray(depth + 1);
  if (c === 0x74 && text.startsWith("true", pos)) pos += 4;
  else if (c === 0x66 && text.startsWith("false", pos)) pos += 5;
  else if (c === 0x6e && text.startsWith("null", pos)) pos += 4;
  else {
    NUMBER.lastIndex = pos;
    if (!NUMBER.test(text)) fail(Number.isNaN(c) ? "unexpected end of text" : "invalid value");
    pos = NUMBER.lastIndex;
  }
}

function scanArray(depth: number): void {
  if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
  pos++;
  skipWs();
  if (text.charCodeAt(pos) === 0x5d) {
    pos++;
    return;
  }
  for (;;) {
    skipWs();
    scanValue(depth);
    skipWs();
    const c = text.charCodeAt(pos++);
    if (c === 0x5d) return;
    if (c !== 0x2c) {
      pos--;
      fail("expected ',' or ']'");
    }
  }
}

/** Scans a key (at its quote) and the ':' after it; fails on a duplicate within the object. */
function scanKey(base: number, seen: Set<string> | null): Set<string> | null {
  if (text.charCodeAt(pos) !== 0x22) fail("expected a string key");
  const start = pos + 1;
  scanString();
  const end = pos - 1;
  const escaped = lastStringEscaped;
  lastKeyStart = start;
  lastKeyEnd = end;
  lastKeyEscaped = escaped;
  // Small objects of plain keys compare offsets; an escaped key or a large object switches the
  // object to a set of decoded keys, so every key costs O(1) whatever the client sends.
  if (seen === null && (escaped || keyTop - base >= SMALL_OBJECT)) seen = keySet(base);
  if (seen !== null) {
    const key = escaped ? (JSON.parse(text.slice(start - 1, end + 1)) as string) : text.slice(start, end);
    if (seen.has(key)) fail(`duplicate key ${JSON.stringify(key)}`);
    seen.add(key);
  } else {
    for (let i = base; i < keyTop; i++) {
      if (keyEnd[i]! - keyStart[i]! === end - start && sameChars(keyStart[i]!, start, end - start)) fail(`duplicate key ${JSON.stringify(text.slice(start, end))}`);
    }
    pushKey(start, end, escaped);
  }
  skipWs();
  if (text.charCodeAt(pos) !== 0x3a) fail("expected ':'");
  pos++;
  skipWs();
  return seen;
}

function sameChars(a: number, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (text.charCodeAt(a + i) !== text.charCodeAt(b + i)) return false;
  return true;
}

function decodedKey(i: number): string {
  const s = keyStart[i]!;
  const e = keyEnd[i]!;
  return keyEscaped[i] === 1 ? (JSON.parse(text.slice(s - 1, e + 1)) as string) : text.slice(s, e);
}

function keySet(base: number): Set<string> {
  const seen = new Set<string>();
  for (let i = base; i < keyTop; i++) seen.add(decodedKey(i));
  return seen;
}

function pushKey(start: number, end: number, escaped: boolean): void {
  if (keyTop === keyStart.length) {
    const grow = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(a.length * 2);
      b.set(a);
      return b;
    };
    keyStart = grow(keyStart, (n) => new Int32Array(n));
    keyEnd = grow(keyEnd, (n) => new Int32Array(n));
    keyEscaped = grow(keyEscaped, (n) => new Uint8Array(n));
  }
  keyStart[keyTop] = start;
  keyEnd[keyTop] = end;
  keyEscaped[keyTop] = escaped ? 1 : 0;
  keyTop++;
}

function scanObject(depth: number): void {
  if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
  const base = keyTop;
  pos++;
  skipWs();
  if (text.charCodeAt(pos) === 0x7d) {
    pos++;
    return;
  }
  let seen: Set<string> | null = null;
  for (;;) {
    skipWs();
    seen = scanKey(base, seen);
    scanValue(depth);
    skipWs();
    const c = text.charCodeAt(pos++);
    if (c === 0x7d) break;
    if (c !== 0x2c) {
      pos--;
      fail("expected ',' or '}'");
    }
  }
  keyTop = base;
}

/** The value of text[start, end) when it is an integer token (no fraction or exponent). */
function integerToken(start: number, end: number): number | undefined {
  const negative = text.charCodeAt(start) === 0x2d;
  let value = 0;
  for (let i = negative ? start + 1 : start; i < end; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return undefined;
    value = value * 10 + d;
  }
  return end > start + (negative ? 1 : 0) ? (negative ? -value : value) : undefined;
}

/** Which envelope field the last key names, without allocating for a plain key. */
function envelopeKey(): EnvelopeKey {
  if (lastKeyEscaped) {
    const key = JSON.parse(text.slice(lastKeyStart - 1, lastKeyEnd + 1)) as string;
    return (ENVELOPE_KEYS as readonly string[]).includes(key) ? (key as EnvelopeKey) : "other";
  }
  const n = lastKeyEnd - lastKeyStart;
  for (const k of ENVELOPE_KEYS) if (k.length === n && text.startsWith(k, lastKeyStart)) return k;
  return "other";
}

/** The top-level object: like scanObject, and records the envelope fields. */
function scanTopObject(out: ScannedMessage): void {
  pos++;
  skipWs();
  if (text.charCodeAt(pos) === 0x7d) {
    pos++;
    return;
  }
  let seen: Set<string> | null = null;
  for (;;) {
    skipWs();
    seen = scanKey(0, seen);
    const key = envelopeKey();
    const valueAt = pos;
    const c = text.charCodeAt(pos);
    scanValue(1);
    if (key === "id") out.id = integerToken(valueAt, pos); else if (key === "method" || key === "sessionId") {
      if (c === 0x22) {
        const value = lastStringEscaped ? (JSON.parse(text.slice(valueAt, pos)) as string) : text.slice(valueAt + 1, pos - 1);
        if (key === "method") out.method = value;
        else out.sessionId = value;
      } else if (key === "sessionId") out.sessionIdNotString = true;
    } else if (key === "params") {
      if (c !== 0x7b) out.paramsNotObject = true;
    } else out.extraKeys = true;
    skipWs();
    const d = text.charCodeAt(pos++);
    if (d === 0x7d) break;
    if (d !== 0x2c) {
      pos--;
      fail("expected ',' or '}'");
    }
  }
  keyTop = 0;
}
