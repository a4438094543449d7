// How deep a JSON text nests, found by one pass over its bytes without recursion.
//
// Threat: Bun's JSON.parse takes 400,000 nested arrays, but everything that walks the value
// afterwards (schema validation, JSON.stringify of metadata) recurses and overflows the stack:
// a 500 "Maximum call stack size exceeded" for one small request. The depth is checked on the
// bytes before JSON.parse, so no value deeper than the limit is ever built.

const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Follows the nesting of a JSON text fed in chunks, as it streams in. Brackets inside strings do
 * not count. The text need not be valid JSON: what the scan cannot read, JSON.parse refuses.
 */
export class JsonDepthScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(readonly max: number) {}

  /** False once the text so far nests arrays and objects deeper than `max`. */
  feed(bytes: Uint8Array): boolean {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (this.escaped) this.escaped = false;
      else if (this.inString) {
        if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.inString = false;
      } else if (b === QUOTE) this.inString = true;
      else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
        if (++this.depth > this.max) return false;
      } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) this.depth--;
    }
    return true;
  }
}

/** True when the whole text nests deeper than `max`. */
export function jsonDeeperThan(bytes: Uint8Array, max: number): boolean {
  return !new JsonDepthScanner(max).feed(bytes);
}
