// Tar archives that cross a trust boundary: a profile a user imports, and a user-data-dir read
// back out of a browser container (where a hostile page may have run code). Both are streamed
// entry by entry and rebuilt into a fresh, normalised tar.gz as they arrive: neither the archive
// nor its contents is ever held whole in memory, and nothing is extracted onto the host's file
// system. The caller's sink (a blob store put) writes the rebuilt archive to a temp file that a
// refusal removes, so a rejected archive leaves nothing behind.
//
// Threats and the rule that stops each:
// - path traversal ("../x", "/etc/x", "a/../../x", NUL bytes): every name is relative, made of
//   plain segments, and refused otherwise;
// - links (symlink, hardlink) that would point an entry outside the directory once Docker
//   extracts the archive inside the next container, devices and fifos: refused on import,
//   dropped when reading a browser's profile (Chromium's own Singleton* lock symlinks);
// - archive and gzip bombs: decompressed bytes, per-file size, total size and entry count are
//   capped while streaming; gunzip and gzip run as streams, a chunk at a time, so a bomb costs
//   neither memory nor a blocked event loop (a 510 KB archive of 500 MiB of zeros held 1.55 GB
//   and blocked the loop 7 s when archives were read whole and compressed with gzipSync);
// - ownership and mode tricks (setuid bits, root-owned files): the rebuilt archive has uid/gid
//   1000 (the browser user) and modes 0600/0700 only.
import { Readable, Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import { extract, pack, type Header } from "tar-stream";
import { BadRequest, DomainError } from "../lib/errors";

type Headers = Partial<Header> & { name: string };

export interface ArchiveLimits {
  /** Largest single file, bytes. */
  maxFileBytes: number;
  /** Sum of all file sizes, bytes. */
  maxTotalBytes: number;
  maxEntries: number;
}

export const DEFAULT_PROFILE_LIMITS: ArchiveLimits = { maxFileBytes: 128 * 1024 * 1024, maxTotalBytes: 512 * 1024 * 1024, maxEntries: 50_000 };

export class ArchiveRejected extends BadRequest {
  constructor(reason: string) {
    super(`Archive rejected: ${reason}`, "archive_rejected");
  }
}

export interface SanitizeOptions {
  /**
   * "import": an archive from a user — anything but plain files and directories is refused.
   * "browser": a directory read out of a browser container — links, devices and fifos are
   * dropped (Chromium keeps lock symlinks in its profile), caches are skipped by `skip`.
   */
  mode: "import" | "browser";
  limits: ArchiveLimits;
  /** Leading path removed from every name (Docker's archive names entries "<dir>/…"). */
  stripPrefix?: string;
  /** Entries (relative paths) left out of the result, with everything below a skipped directory. */
  skip?: (path: string) => boolean;
}

/** An archive as it arrives: bytes in memory, a web stream (an HTTP body) or a Node stream (Docker). */
export type ArchiveSource = Uint8Array | ReadableStream<Uint8Array> | NodeJS.ReadableStream | AsyncIterable<Uint8Array>;

export interface SanitizeStats {
  files: number;
  /** Sum of file sizes (uncompressed). */
  bytes: number;
  dropped: number;
}

/**
 * Where the rebuilt tar.gz goes, as a stream (e.g. `(out) => blobs.put(key, out)`). When the
 * archive is refused midway the stream errors: the sink must then remove what it wrote.
 */
export type ArchiveSink<R> = (tarGz: AsyncIterable<Uint8Array>) => Promise<R>;

const MAX_NAME = 1024;

/** A relative path of plain segments, or null when the name tries to leave the directory. */
export function normaliseEntryName(raw: string, stripPrefix?: string): string | null | "" {
  if (raw.includes("\0") || raw.length > MAX_NAME * 4) return null;
  let name = raw.replace(/^(\.\/)+/, "");
  if (name.startsWith("/")) return null;
  if (stripPrefix) {
    const p = stripPrefix.replace(/\/?$/, "/");
    if (name === p.slice(0, -1) || name === p) return "";
    if (!name.startsWith(p)) return null;
    name = name.slice(p.length);
  }
  name = name.replace(/\/+$/, "");
  if (name === "" || name === ".") return "";
  const parts = name.split("/");
  if (parts.some((s) => s === "" || s === "." || s === "..")) return null;
  if (name.length > MAX_NAME) return null;
  return name;
}

/** Counts bytes through a stream and fails past a cap (gzip bombs stop here). */
function capped(max: number, what: string): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (n > max) cb(new ArchiveRejected(`${what} is larger than ${max} bytes`));
      else cb(null, chunk);
    },
  });
}

/**
 * The source as a Node stream of its raw bytes, and whether it is gzip (told by its first two
 * bytes, which may arrive in separate chunks). Empty input is refused.
 */
async function opened(input: ArchiveSource): Promise<{ raw: Readable; gzip: boolean }> {
  const chunks = chunksOf(input);
  const head: Buffer[] = [];
  let headBytes = 0;
  while (headBytes < 2) {
    const next = await chunks.next();
    if (next.done) break;
    const b = toBuffer(next.value);
    head.push(b);
    headBytes += b.length;
  }
  if (headBytes === 0) throw new ArchiveRejected("the archive is empty");
  const first = Buffer.concat(head);
  async function* rest(): AsyncGenerator<Buffer> {
    yield first;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield toBuffer(next.value);
  }
  return { raw: Readable.from(rest(), { objectMode: false }), gzip: first[0] === 0x1f && first[1] === 0x8b };
}

async function* chunksOf(input: ArchiveSource): AsyncGenerator<Uint8Array | string> {
  if (input instanceof Uint8Array) yield input;
  else yield* input as AsyncIterable<Uint8Array | string>;
}

function toBuffer(c: Uint8Array | string): Buffer {
  return typeof c === "string" ? Buffer.from(c) : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

/**
 * Streams an archive through the checks above into `sink` as a normalised tar.gz. Resolves with
 * what was kept and the sink's result once the sink has it all; rejects with ArchiveRejected
 * (400) or the source's own refusal (a body over its cap: 413), after the sink has failed too.
 */
export async function sanitizeArchive<R>(input: ArchiveSource, opts: SanitizeOptions, sink: ArchiveSink<R>): Promise<SanitizeStats & { stored: R }> {
  const { limits } = opts;
  // Headers and padding cost at most ~1.5 KiB per entry on top of the content.
  const rawCap = limits.maxTotalBytes + (limits.maxEntries + 4) * 1536;
  const ex = extract();
  const packer = pack();
  const gzip = createGzip();
  // Failures are carried by the promises below; an 'error' event nobody listens to would crash.
  for (const s of [ex, packer, gzip]) s.on("error", () => {});
  const stored = sink(packer.pipe(gzip) as unknown as AsyncIterable<Uint8Array>);
  // A sink that fails (a full disk) stops reading, and the reading would wait for it forever:
  // its failure ends the whole call. It is the server's error, not the archive's: it reaches
  // the caller as it is (a 500), not as a refused archive.
  let sinkFailure: unknown;
  const sinkFailed = new Promise<never>((_, reject) =>
    stored.catch((err) => {
      sinkFailure = err;
      reject(err);
    }),
  );
  sinkFailed.catch(() => {});
  let raw: Readable | undefined;
  const work = async () => {
    const source = await opened(input);
    raw = source.raw;
    const stages = source.gzip ? [raw, createGunzip(), capped(rawCap, "the unpacked archive")] : [raw, capped(rawCap, "the archive")];
    const feeding = (pipeline as (...s: unknown[]) => Promise<void>)(...stages, ex).catch((err: Error) => {
      ex.destroy(err);
      throw err;
    });
    feeding.catch(() => {});
    const stats: SanitizeStats = { files: 0, bytes: 0, dropped: 0 };
    await rebuild(ex, packer, opts, stats);
    await feeding;
    packer.finalize();
    return { ...stats, stored: await stored };
  };
  const working = work();
  working.catch(() => {});
  try {
    return await Promise.race([working, sinkFailed]);
  } catch (err) {
    const failure = sinkFailure !== undefined && err === sinkFailure ? err : asRefusal(err);
    gzip.destroy(failure as Error); // first: the sink must see a failure, never a clean end
    packer.destroy();
    ex.destroy();
    raw?.destroy();
    await stored.catch(() => {});
    throw failure;
  }
}

/** What the caller is told when the archive cannot be kept: a domain error, never a parser's internals. */
function asRefusal(err: unknown): DomainError {
  if (err instanceof DomainError) return err;
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof DomainError) return cause;
  return new ArchiveRejected(`not a readable tar or tar.gz archive (${String((err as Error)?.message ?? err).slice(0, 200)})`);
}

/** Reads each entry, refuses or drops what is not a plain file or directory, and packs the rest. */
async function rebuild(ex: ReturnType<typeof extract>, packer: ReturnType<typeof pack>, opts: SanitizeOptions, stats: SanitizeStats): Promise<void> {
  const { limits, mode } = opts;
  const seen = new Set<string>();
  const skippedDirs: string[] = [];
  let entries = 0;
  for await (const entry of ex) {
    const h = entry.header;
    if (++entries > limits.maxEntries) throw new ArchiveRejected(`more than ${limits.maxEntries} entries`);
    const name = normaliseEntryName(h.name, opts.stripPrefix);
    if (name === null) throw new ArchiveRejected(`entry "${h.name.slice(0, 200)}" points outside the directory`);
    const plain = h.type === "file" || h.type === "contiguous-file" || h.type === "directory";
    if (!plain) {
      entry.resume();
      if (mode === "import") throw new ArchiveRejected(`entry "${name.slice(0, 200)}" is a ${h.type}; only files and directories are allowed`);
      stats.dropped++;
      continue;
    }
    if (name === "" || skippedDirs.some((d) => name.startsWith(d)) || opts.skip?.(name)) {
      entry.resume();
      if (name !== "") {
        stats.dropped++;
        if (h.type === "directory") skippedDirs.push(`${name}/`);
      }
      continue;
    }
    if (seen.has(name)) throw new ArchiveRejected(`entry "${name.slice(0, 200)}" appears twice`);
    seen.add(name);
    if (h.type === "directory") {
      entry.resume();
      await packed(packer, { name, type: "directory", mode: 0o700, uid: 1000, gid: 1000, mtime: h.mtime });
      continue;
    }
    const size = h.size ?? 0;
    if (size > limits.maxFileBytes) throw new ArchiveRejected(`file "${name.slice(0, 200)}" is ${size} bytes; the limit is ${limits.maxFileBytes}`);
    if (stats.bytes + size > limits.maxTotalBytes) throw new ArchiveRejected(`the files add up to more than ${limits.maxTotalBytes} bytes`);
    // The entry streams into the new archive; tar-stream fails it if it is not `size` bytes long.
    const target = packer.entry({ name, type: "file", size, mode: 0o600, uid: 1000, gid: 1000, mtime: h.mtime });
    await pipeline(entry, target as unknown as Writable);
    stats.bytes += size;
    stats.files++;
  }
}

function packed(packer: ReturnType<typeof pack>, header: Headers): Promise<void> {
  return new Promise((resolve, reject) => packer.entry(header, (err?: Error | null) => (err ? reject(err) : resolve())));
}

/** Builds an uncompressed tar from entries already checked. */
export async function packEntries(entries: { header: Headers; body?: Buffer | Uint8Array }[]): Promise<Uint8Array> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    p.on("end", resolve);
    p.on("error", reject);
  });
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (e.header.type === "file") p.entry(e.header, Buffer.from(e.body ?? new Uint8Array()), cb);
      else p.entry(e.header, cb);
    });
  }
  p.finalize();
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}
