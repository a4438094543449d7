// Tar archives that cross a trust boundary: a profile a user imports, and a user-data-dir read
// back out of a browser container (where a hostile page may have run code). Both are read
// entry by entry and rebuilt into a fresh, normalised tar.gz; nothing is ever extracted onto
// the host's file system, so a rejected archive leaves nothing behind.
//
// Threats and the rule that stops each:
// - path traversal ("../x", "/etc/x", "a/../../x", NUL bytes): every name is relative, made of
//   plain segments, and refused otherwise;
// - links (symlink, hardlink) that would point an entry outside the directory once Docker
//   extracts the archive inside the next container, devices and fifos: refused on import,
//   dropped when reading a browser's profile (Chromium's own Singleton* lock symlinks);
// - archive and gzip bombs: decompressed bytes, per-file size, total size and entry count are
//   capped while reading, before anything is buffered past the caps;
// - ownership and mode tricks (setuid bits, root-owned files): the rebuilt archive has uid/gid
//   1000 (the browser user) and modes 0600/0700 only.
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { extract, pack, type Header } from "tar-stream";

type Headers = Partial<Header> & { name: string };
import { BadRequest } from "../lib/errors";

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

export interface SanitizedArchive {
  /** The rebuilt archive, gzip-compressed. */
  tarGz: Uint8Array;
  files: number;
  /** Sum of file sizes (uncompressed). */
  bytes: number;
  dropped: number;
}

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

function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
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

export async function sanitizeArchive(input: Uint8Array, opts: SanitizeOptions): Promise<SanitizedArchive> {
  const { limits, mode } = opts;
  const ex = extract();
  // Headers and padding cost at most ~1.5 KiB per entry on top of the content.
  const rawCap = limits.maxTotalBytes + (limits.maxEntries + 4) * 1536;
  const source = Readable.from([Buffer.from(input.buffer, input.byteOffset, input.byteLength)]);
  const feeding = (isGzip(input) ? pipeline(source, createGunzip(), capped(rawCap, "the unpacked archive"), ex) : pipeline(source, capped(rawCap, "the archive"), ex)).catch(
    (err) => {
      ex.destroy(err);
      throw err;
    },
  );
  feeding.catch(() => {}); // awaited below; this only keeps an early failure from being "unhandled"

  const out: { header: Headers; body?: Buffer }[] = [];
  const seen = new Set<string>();
  const skippedDirs: string[] = [];
  let files = 0;
  let bytes = 0;
  let dropped = 0;
  let entries = 0;
  try {
    for await (const entry of ex) {
      const h = entry.header;
      if (++entries > limits.maxEntries) throw new ArchiveRejected(`more than ${limits.maxEntries} entries`);
      const name = normaliseEntryName(h.name, opts.stripPrefix);
      if (name === null) throw new ArchiveRejected(`entry "${h.name.slice(0, 200)}" points outside the directory`);
      const plain = h.type === "file" || h.type === "contiguous-file" || h.type === "directory";
      if (!plain) {
        entry.resume();
        if (mode === "import") throw new ArchiveRejected(`entry "${name.slice(0, 200)}" is a ${h.type}; only files and directories are allowed`);
        dropped++;
        continue;
      }
      if (name === "" || skippedDirs.some((d) => name.startsWith(d)) || opts.skip?.(name)) {
        entry.resume();
        if (name !== "") {
          dropped++;
          if (h.type === "directory") skippedDirs.push(`${name}/`);
        }
        continue;
      }
      if (seen.has(name)) throw new ArchiveRejected(`entry "${name.slice(0, 200)}" appears twice`);
      seen.add(name);
      if (h.type === "directory") {
        entry.resume();
        out.push({ header: { name, type: "directory", mode: 0o700, uid: 1000, gid: 1000, mtime: h.mtime } });
        continue;
      }
      const size = h.size ?? 0;
      if (size > limits.maxFileBytes) throw new ArchiveRejected(`file "${name.slice(0, 200)}" is ${size} bytes; the limit is ${limits.maxFileBytes}`);
      if (bytes + size > limits.maxTotalBytes) throw new ArchiveRejected(`the files add up to more than ${limits.maxTotalBytes} bytes`);
      const chunks: Buffer[] = [];
      let got = 0;
      for await (const c of entry as AsyncIterable<Buffer>) {
        got += c.length;
        if (got > size) throw new ArchiveRejected(`file "${name.slice(0, 200)}" is longer than its header says`);
        chunks.push(c);
      }
      bytes += size;
      files++;
      out.push({ header: { name, type: "file", size, mode: 0o600, uid: 1000, gid: 1000, mtime: h.mtime }, body: Buffer.concat(chunks, got) });
    }
    await feeding;
  } catch (err) {
    ex.destroy();
    if (err instanceof ArchiveRejected) throw err;
    throw new ArchiveRejected(`not a readable tar or tar.gz archive (${(err as Error).message.slice(0, 200)})`);
  }
  return { tarGz: Bun.gzipSync(Buffer.from(await packEntries(out))), files, bytes, dropped };
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

/** Reads the whole of a stream (a Docker archive) with a cap on its size. */
export async function readCapped(stream: NodeJS.ReadableStream | ReadableStream<Uint8Array>, maxBytes: number, what: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const c of stream as AsyncIterable<Uint8Array | string>) {
    const b = typeof c === "string" ? Buffer.from(c) : c;
    n += b.byteLength;
    if (n > maxBytes) {
      (stream as { destroy?: () => void }).destroy?.();
      throw new ArchiveRejected(`${what} is larger than ${maxBytes} bytes`);
    }
    chunks.push(b);
  }
  return new Uint8Array(Buffer.concat(chunks, n));
}
