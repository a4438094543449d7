// The storage layer for what BrowserGrid keeps outside the database: profile versions, session
// artifacts, later run logs and backups. Callers name blobs by key ("profiles/<id>/<n>.tar.gz");
// the store answers with size and SHA-256, which callers record in the database and check on
// read. The local file-system store is the only backend today; an S3-compatible one can
// implement the same interface (keys map to object names, put is a single PUT).

export interface BlobInfo {
  key: string;
  size: number;
  sha256: string;
}

export interface BlobStore {
  /** Writes a blob atomically: readers see the old blob or the whole new one, never a part. */
  put(key: string, data: Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>, opts?: { maxBytes?: number }): Promise<BlobInfo>;
  /** The blob's bytes; with `sha256` they are verified first (a mismatch throws CorruptBlob). */
  read(key: string, opts?: { sha256?: string }): Promise<Uint8Array>;
  /** A stream of the blob for HTTP downloads; null when it does not exist. */
  stream(key: string): ReadableStream<Uint8Array> | null;
  /** Size in bytes, or null when the blob does not exist. */
  size(key: string): Promise<number | null>;
  /** Removes a blob; succeeds when it is already gone. */
  delete(key: string): Promise<void>;
  /** Removes every blob under a prefix ("artifacts/<sessionId>/"). */
  deletePrefix(prefix: string): Promise<void>;
}

export class CorruptBlob extends Error {
  constructor(key: string, expected: string, actual: string) {
    super(`stored blob ${key} is damaged: sha256 ${actual.slice(0, 12)}… does not match the recorded ${expected.slice(0, 12)}…`);
  }
}

export class BlobTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`larger than ${maxBytes} bytes`);
  }
}

/**
 * Keys are relative paths of plain segments: letters, digits, dot, dash, underscore; no empty,
 * "." or ".." segment. Threat: a key built from user input (a file name, an id) must never
 * reach outside the store's root or name a hidden temp file.
 */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

export function checkKey(key: string, opts: { prefix?: boolean } = {}): string[] {
  const parts = (opts.prefix ? key.replace(/\/$/, "") : key).split("/");
  if (key.length > 1024 || parts.length === 0 || parts.some((p) => !SEGMENT.test(p) || p === "." || p === ".."))
    throw new Error(`invalid storage key "${key.slice(0, 100)}"`);
  return parts;
}

/** A file name made safe to use as the last segment of a key. */
export function safeName(name: string, fallback = "file"): string {
  const cleaned = name
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[._]+/, "")
    .slice(0, 120);
  return cleaned && cleaned !== "." && cleaned !== ".." ? cleaned : fallback;
}
