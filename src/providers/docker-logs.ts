// A container's output as lines: Docker's multiplexed log stream (no TTY) is frames of an 8-byte
// header — stream (1 stdout, 2 stderr), three zero bytes, payload length (big-endian u32) — and
// with `timestamps: true` every log entry in a payload starts with an RFC 3339 time and a space.
import type { LogLine } from "./provider";

/** A line longer than this is cut into pieces (Docker's json-file driver splits at 16 KiB too). */
export const MAX_LINE_CHARS = 16 * 1024;

const STREAMS: Record<number, LogLine["stream"]> = { 1: "stdout", 2: "stderr" };

/** Milliseconds since the epoch of Docker's nanosecond timestamp; NaN when it is not one. */
export function parseDockerTime(stamp: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(stamp);
  if (!m) return NaN;
  return Date.parse(`${m[1]}.${(m[2] ?? "").padEnd(3, "0").slice(0, 3)}${m[3]}`);
}

/** One entry as Docker stored it ("<time> <text>") to a LogLine; text without a time keeps `fallbackAt`. */
function toLine(stream: LogLine["stream"], entry: string, fallbackAt: number): LogLine {
  const space = entry.indexOf(" ");
  const at = space > 0 ? parseDockerTime(entry.slice(0, space)) : NaN;
  return Number.isNaN(at) ? { stream, at: fallbackAt, line: entry } : { stream, at, line: entry.slice(space + 1) };
}

/**
 * Lines of a multiplexed, timestamped log stream, in the order the engine sent them; a last line
 * without a newline is delivered when the stream ends. Frames of another stream type are skipped.
 */
export async function* demuxLogLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<LogLine> {
  let pending = new Uint8Array(0);
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  const partial = { stdout: "", stderr: "" };
  let lastAt = Date.now();

  function* takeLines(stream: LogLine["stream"], text: string): Generator<LogLine> {
    let buffered = partial[stream] + text;
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const line = toLine(stream, buffered.slice(0, nl).replace(/\r$/, ""), lastAt);
      lastAt = line.at;
      buffered = buffered.slice(nl + 1);
      yield* cut(line);
    }
    partial[stream] = buffered;
  }

  for await (const chunk of chunks) {
    const joined = new Uint8Array(pending.length + chunk.length);
    joined.set(pending);
    joined.set(chunk, pending.length);
    let offset = 0;
    while (joined.length - offset >= 8) {
      const size = new DataView(joined.buffer, joined.byteOffset + offset + 4, 4).getUint32(0);
      if (joined.length - offset - 8 < size) break;
      const stream = STREAMS[joined[offset]!];
      const payload = joined.subarray(offset + 8, offset + 8 + size);
      offset += 8 + size;
      if (stream) yield* takeLines(stream, decoders[stream].decode(payload, { stream: true }));
    }
    pending = joined.slice(offset);
  }
  for (const stream of ["stdout", "stderr"] as const) {
    const rest = partial[stream] + decoders[stream].decode();
    if (rest) yield* cut(toLine(stream, rest, lastAt));
  }
}

function* cut(line: LogLine): Generator<LogLine> {
  if (line.line.length <= MAX_LINE_CHARS) return yield line;
  for (let i = 0; i < line.line.length; i += MAX_LINE_CHARS) yield { ...line, line: line.line.slice(i, i + MAX_LINE_CHARS) };
}
