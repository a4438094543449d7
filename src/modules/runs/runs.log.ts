// A run's log while it runs: every line the code prints, with its time and stream, redacted
// before anything keeps or sends it, held up to a cap, handed to live followers, and written to
// the blob store (runs/<id>/log) when each attempt ends.
//
// Threat: a script that prints its secrets (by mistake, or a dependency that dumps its env)
// must not put them into a stored log or in front of a viewer who may read logs but not
// secrets. Every secret value (and the run's own API token) is replaced by *** in each line
// before the line goes anywhere. A value shorter than MIN_SECRET_CHARS is not redacted
// (redacting "1" would blank every digit); docs/runs.md says so.

export const LOG_LIMITS = {
  /** Bytes of log kept per run (all attempts); past it lines are dropped and one notice says so. */
  maxBytes: 8 * 1024 * 1024,
  /** A longer line is cut and marked. */
  maxLineChars: 16 * 1024,
  /** Lines of stderr kept for a failed run's `error`. */
  stderrTailLines: 20,
  minSecretChars: 4,
} as const;

export type LogStream = "stdout" | "stderr" | "system";

/** Replaces every value of `secrets` (long enough to be one) with ***; longest first, so a secret containing another goes whole. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const values = [...new Set(secrets.filter((s) => s.length >= LOG_LIMITS.minSecretChars))].sort((a, b) => b.length - a.length);
  if (!values.length) return (t) => t;
  return (text) => {
    let out = text;
    for (const v of values) if (out.includes(v)) out = out.split(v).join("***");
    return out;
  };
}

/** One stored line: `<ISO time> <stream> <text>`. */
export function formatLine(at: number, stream: LogStream, text: string): string {
  return `${new Date(at).toISOString()} ${stream} ${text}\n`;
}

export class RunLog {
  private chunks: string[] = [];
  private bytes = 0;
  private truncated = false;
  private ended = false;
  private followers = new Set<(chunk: string | null) => void>();
  private stderr: string[] = [];
  private redact: (t: string) => string = (t) => t;

  constructor(initial = "") {
    if (initial) this.keep(initial);
  }

  /** The secrets of the attempt starting now. */
  setSecrets(values: readonly string[]): void {
    this.redact = redactor(values);
  }

  /** A new attempt: the stderr tail starts empty. */
  resetTail(): void {
    this.stderr = [];
  }

  /** Adds one line (redacted, cut at the line cap) and hands it to followers. */
  push(at: number, stream: LogStream, raw: string): void {
    if (this.ended) return;
    let text = this.redact(raw.replace(/\r?\n$/, ""));
    if (text.length > LOG_LIMITS.maxLineChars) text = `${text.slice(0, LOG_LIMITS.maxLineChars)}… [line cut at ${LOG_LIMITS.maxLineChars} characters]`;
    if (stream === "stderr") {
      this.stderr.push(text);
      if (this.stderr.length > LOG_LIMITS.stderrTailLines) this.stderr.shift();
    }
    this.keep(formatLine(at, stream, text));
  }

  private keep(chunk: string): void {
    if (this.truncated) return;
    const size = Buffer.byteLength(chunk);
    if (this.bytes + size > LOG_LIMITS.maxBytes) {
      this.truncated = true;
      chunk = `[log cut: more than ${LOG_LIMITS.maxBytes} bytes; later lines are not kept]\n`;
    }
    this.chunks.push(chunk);
    this.bytes += Buffer.byteLength(chunk);
    for (const f of this.followers) f(chunk);
  }

  /** The last stderr lines of the current attempt, redacted. */
  stderrTail(): string {
    return this.stderr.join("\n");
  }

  /** Chunks kept so far (grows with every line). */
  size(): number {
    return this.chunks.length;
  }

  text(): string {
    return this.chunks.join("");
  }

  /** Everything so far, then each new chunk, then null once the run has ended. Returns an unsubscribe function. */
  follow(listener: (chunk: string | null) => void): () => void {
    const sofar = this.text();
    if (sofar) listener(sofar);
    if (this.ended) {
      listener(null);
      return () => {};
    }
    this.followers.add(listener);
    return () => this.followers.delete(listener);
  }

  /** The run is over: followers are told, nothing more is added. */
  end(): void {
    this.ended = true;
    for (const f of this.followers) f(null);
    this.followers.clear();
  }
}
