// A .zip bundle read without trusting it, and turned into a tar stream that sanitizeArchive
// (src/storage/archive.ts) then checks and normalises like any tar.gz. Only the central
// directory is believed for the list of entries; each local header must agree with it.
//
// Threats and the rule that stops each:
// - bombs (a small entry that inflates to gigabytes, entries that overlap to reuse the same
//   compressed bytes, a central directory with millions of entries): the entry count, each
//   declared size and their total are capped before anything inflates; inflation streams and
//   fails as soon as an entry yields more than it declared; entries may not overlap;
// - traversal ("../x", "/x", "C:\x", backslashes): names must be relative, plain-segment,
//   forward-slash UTF-8 paths (normaliseEntryName), otherwise refused;
// - links and special files: a Unix symlink, device, fifo or socket (told by the external
//   attributes) is refused, never written as a file holding the link target;
// - what cannot be checked: encryption, compression other than stored and deflate, ZIP64,
//   multi-disk archives, data before the first entry or after the central directory, names
//   that are not UTF-8 — all refused with a message saying which.
// The CRC-32 of every entry is verified, so a damaged archive is refused, not half-deployed.
import { Readable, Transform } from "node:stream";
import { createInflateRaw } from "node:zlib";
import { pack } from "tar-stream";
import { ArchiveRejected, normaliseEntryName, type ArchiveLimits } from "../../storage/archive";

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

export interface ZipEntry {
  name: string;
  directory: boolean;
  method: 0 | 8;
  compressedSize: number;
  size: number;
  crc: number;
  /** Where the entry's local header starts, and where its compressed bytes end. */
  localStart: number;
  dataEnd: number;
}

/** Whether these bytes start like a zip file (a local header, or the end record of an empty zip). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const shown = (s: string) => s.slice(0, 200);

function findEnd(view: DataView): number {
  const last = view.byteLength - 22;
  for (let at = last; at >= 0 && at >= last - 0xffff; at--) if (view.getUint32(at, true) === SIG_END) return at;
  throw new ArchiveRejected("not a zip file (no end of central directory record)");
}

/** Reads and checks the central directory: every entry, or a refusal naming the first problem. */
export function readZipDirectory(zip: Uint8Array, limits: ArchiveLimits): ZipEntry[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const end = findEnd(view);
  if (end >= 20 && view.getUint32(end - 20, true) === SIG_ZIP64_LOCATOR) throw new ArchiveRejected("ZIP64 archives are not accepted; bundles are small enough for a plain zip");
  const disk = view.getUint16(end + 4, true);
  const cdDisk = view.getUint16(end + 6, true);
  const onDisk = view.getUint16(end + 8, true);
  const count = view.getUint16(end + 10, true);
  const cdSize = view.getUint32(end + 12, true);
  const cdStart = view.getUint32(end + 16, true);
  const commentLength = view.getUint16(end + 20, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdStart === 0xffffffff) throw new ArchiveRejected("ZIP64 archives are not accepted; bundles are small enough for a plain zip");
  if (disk !== 0 || cdDisk !== 0 || onDisk !== count) throw new ArchiveRejected("split (multi-disk) zip archives are not accepted");
  if (end + 22 + commentLength !== zip.byteLength) throw new ArchiveRejected("the zip has data after its end record");
  if (cdStart + cdSize !== end) throw new ArchiveRejected("the zip's central directory is not where its end record says (a damaged or self-extracting archive)");
  if (count > limits.maxEntries) throw new ArchiveRejected(`more than ${limits.maxEntries} entries`);

  const entries: ZipEntry[] = [];
  const names = new Set<string>();
  let total = 0;
  let at = cdStart;
  for (let i = 0; i < count; i++) {
    if (at + 46 > end || view.getUint32(at, true) !== SIG_CENTRAL) throw new ArchiveRejected("the zip's central directory is damaged");
    const madeBy = view.getUint16(at + 4, true);
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const compressedSize = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLen = view.getUint16(at + 32, true);
    const startDisk = view.getUint16(at + 34, true);
    const external = view.getUint32(at + 38, true);
    const localStart = view.getUint32(at + 42, true);
    const next = at + 46 + nameLength + extraLength + commentLen;
    if (next > end) throw new ArchiveRejected("the zip's central directory is damaged");
    const rawName = zip.subarray(at + 46, at + 46 + nameLength);
    let name: string;
    try {
      name = utf8.decode(rawName);
    } catch {
      throw new ArchiveRejected(`entry ${i + 1} has a name that is not UTF-8; re-create the zip with UTF-8 names`);
    }
    if (flags & 0x41 || method === 99) throw new ArchiveRejected(`entry "${shown(name)}" is encrypted; encrypted zips are not accepted`);
    if (method !== 0 && method !== 8) throw new ArchiveRejected(`entry "${shown(name)}" uses compression method ${method}; only stored (0) and deflate (8) are accepted`);
    if (compressedSize === 0xffffffff || size === 0xffffffff || localStart === 0xffffffff || hasZip64Extra(view, at + 46 + nameLength, extraLength))
      throw new ArchiveRejected("ZIP64 archives are not accepted; bundles are small enough for a plain zip");
    if (startDisk !== 0) throw new ArchiveRejected("split (multi-disk) zip archives are not accepted");
    if (name.includes("\\")) throw new ArchiveRejected(`entry "${shown(name)}" uses backslashes; zip paths must use "/"`);
    const unixType = madeBy >> 8 === 3 ? (external >>> 16) & S_IFMT : 0;
    const directory = name.endsWith("/") || unixType === S_IFDIR || (unixType === 0 && (external & 0x10) !== 0);
    if (unixType === S_IFLNK) throw new ArchiveRejected(`entry "${shown(name)}" is a symbolic link; only files and directories are allowed`);
    if (unixType !== 0 && unixType !== S_IFREG && unixType !== S_IFDIR) throw new ArchiveRejected(`entry "${shown(name)}" is a device, fifo or socket; only files and directories are allowed`);
    const normal = normaliseEntryName(name);
    if (normal === null) throw new ArchiveRejected(`entry "${shown(name)}" points outside the directory`);
    if (normal !== "" && names.has(normal)) throw new ArchiveRejected(`entry "${shown(normal)}" appears twice`);
    names.add(normal);
    if (directory && size !== 0) throw new ArchiveRejected(`directory entry "${shown(name)}" has content`);
    if (size > limits.maxFileBytes) throw new ArchiveRejected(`file "${shown(normal)}" is ${size} bytes; the limit is ${limits.maxFileBytes}`);
    total += size;
    if (total > limits.maxTotalBytes) throw new ArchiveRejected(`the files add up to more than ${limits.maxTotalBytes} bytes`);
    if (method === 0 && compressedSize !== size) throw new ArchiveRejected(`stored entry "${shown(name)}" has different compressed and real sizes`);
    entries.push({ ...located(view, zip, localStart, rawName, name, compressedSize, cdStart), name: normal, directory, method, compressedSize, size, crc });
    at = next;
  }
  if (at !== end) throw new ArchiveRejected("the zip's central directory is damaged");
  // Overlapping entries are how the densest zip bombs reuse one compressed stream many times.
  const byStart = [...entries].sort((a, b) => a.localStart - b.localStart);
  for (let i = 1; i < byStart.length; i++) if (byStart[i]!.localStart < byStart[i - 1]!.dataEnd) throw new ArchiveRejected("entries of the zip overlap");
  return entries;
}

function hasZip64Extra(view: DataView, start: number, length: number): boolean {
  for (let at = start; at + 4 <= start + length; ) {
    if (view.getUint16(at, true) === 0x0001) return true;
    at += 4 + view.getUint16(at + 2, true);
  }
  return false;
}

/** The local header at `offset` must exist, name the same entry, and its data must end before the central directory. */
function located(view: DataView, zip: Uint8Array, offset: number, rawName: Uint8Array, name: string, compressedSize: number, cdStart: number): { localStart: number; dataEnd: number } {
  if (offset + 30 > cdStart || view.getUint32(offset, true) !== SIG_LOCAL) throw new ArchiveRejected(`entry "${shown(name)}" has no local header where the directory says`);
  const nameLength = view.getUint16(offset + 26, true);
  const extraLength = view.getUint16(offset + 28, true);
  const localName = zip.subarray(offset + 30, offset + 30 + nameLength);
  if (Buffer.compare(localName, rawName) !== 0) throw new ArchiveRejected(`entry "${shown(name)}" has a different name in its local header`);
  const dataStart = offset + 30 + nameLength + extraLength;
  const dataEnd = dataStart + compressedSize;
  if (dataEnd > cdStart) throw new ArchiveRejected(`entry "${shown(name)}" runs past the end of the archive`);
  return { localStart: offset, dataEnd };
}

/** Checks an entry's bytes while they stream: never more than declared, exactly that many in the end, and the right CRC-32. */
function verified(e: ZipEntry): Transform {
  let n = 0;
  let crc = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (n > e.size) return cb(new ArchiveRejected(`entry "${shown(e.name)}" inflates to more than the ${e.size} bytes it declares`));
      crc = Bun.hash.crc32(chunk, crc);
      cb(null, chunk);
    },
    flush(cb) {
      if (n !== e.size) return cb(new ArchiveRejected(`entry "${shown(e.name)}" holds ${n} bytes, not the ${e.size} it declares`));
      if (crc !== e.crc) return cb(new ArchiveRejected(`entry "${shown(e.name)}" is damaged (CRC-32 mismatch)`));
      cb();
    },
  });
}

function contentOf(zip: Uint8Array, e: ZipEntry): Readable {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const start = e.localStart + 30 + view.getUint16(e.localStart + 26, true) + view.getUint16(e.localStart + 28, true);
  const compressed = Readable.from([Buffer.from(zip.buffer, zip.byteOffset + start, e.compressedSize)], { objectMode: false });
  const checked = verified(e);
  const failed = (err: Error) => checked.destroy(err instanceof ArchiveRejected ? err : new ArchiveRejected(`entry "${shown(e.name)}" does not inflate (${err.message.slice(0, 100)})`));
  if (e.method === 0) return compressed.pipe(checked);
  const inflate = createInflateRaw();
  inflate.on("error", failed);
  return compressed.pipe(inflate).pipe(checked);
}

/**
 * The zip's entries as an uncompressed tar stream (for sanitizeArchive). The directory is read
 * and checked first, so most refusals come before any byte is inflated; a refusal found while
 * inflating ends the stream with that error.
 */
export function zipAsTar(zip: Uint8Array, limits: ArchiveLimits): Readable {
  const entries = readZipDirectory(zip, limits);
  const packer = pack();
  void (async () => {
    for (const e of entries) {
      if (e.name === "") continue;
      if (e.directory) {
        await new Promise<void>((resolve, reject) => packer.entry({ name: e.name, type: "directory", mode: 0o755 }, (err) => (err ? reject(err) : resolve())));
        continue;
      }
      await new Promise<void>((resolve, reject) => {
        const target = packer.entry({ name: e.name, type: "file", size: e.size, mode: 0o644 }, (err) => (err ? reject(err) : resolve()));
        // Failures reach the caller through `reject`; an 'error' event nobody listens to would crash.
        target.on("error", () => {});
        const body = contentOf(zip, e);
        body.on("error", (err) => {
          target.destroy(err);
          reject(err);
        });
        body.pipe(target);
      });
    }
    packer.finalize();
  })().catch((err) => packer.destroy(err));
  return packer as unknown as Readable;
}
