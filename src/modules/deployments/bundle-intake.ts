// A bundle as it arrives (.tar.gz, .tar or .zip bytes, or a few inline files) → the one
// normalised tar.gz BrowserGrid keeps, its file listing and its manifest text. Everything
// happens in memory (the upload is capped, BROWSERGRID_DEPLOYMENT_BUNDLE_MAX_MB): nothing
// touches the host's file system here, and the caller stores the result in the blob store only
// once the manifest is valid, so a refused bundle leaves nothing behind.
//
// Archives go through sanitizeArchive (src/storage/archive.ts: traversal, links, devices,
// bombs, modes, duplicates, entry count); zips are first read by bundle-zip.ts. A bundle whose
// files all sit in one top-level directory holding the manifest ("mybot/browsergrid.json", as
// `tar czf mybot.tgz mybot` or a zip of a folder makes) has that directory stripped. macOS
// archive clutter (__MACOSX/, .DS_Store) is left out.
import { createGunzip } from "node:zlib";
import { Readable } from "node:stream";
import { extract } from "tar-stream";
import { BadRequest, DomainError } from "../../lib/errors";
import { ArchiveRejected, packEntries, sanitizeArchive, type ArchiveLimits, type ArchiveSource } from "../../storage/archive";
import { looksLikeZip, zipAsTar } from "./bundle-zip";
import { MANIFEST_FILE, MAX_MANIFEST_BYTES, type BundleListing } from "./manifest";

export interface BundleLimits extends ArchiveLimits {
  /** The uploaded archive itself (compressed). */
  maxUploadBytes: number;
}

export class BundleTooLarge extends DomainError {
  constructor(max: number) {
    super("bundle_too_large", `The bundle is larger than ${max} bytes (BROWSERGRID_DEPLOYMENT_BUNDLE_MAX_MB); leave out what the code does not need.`, 413);
  }
}

export interface IntakeResult {
  /** The normalised tar.gz (uid/gid 1000, modes 0600/0700, plain files and directories). */
  tarGz: Uint8Array;
  listing: Map<string, { type: "file" | "directory"; size: number }>;
  manifestText: string;
  /** The top-level directory that was stripped, if any. */
  strippedDir: string | null;
  files: number;
  bytes: number;
}

const isClutter = (path: string) => path === "__MACOSX" || path.startsWith("__MACOSX/") || path === ".DS_Store" || path.endsWith("/.DS_Store");

async function collect(out: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of out) chunks.push(c);
  return new Uint8Array(Buffer.concat(chunks));
}

/** Every entry of a normalised tar.gz, and the text of each browsergrid.json at depth 1 or 2. */
async function listArchive(tarGz: Uint8Array): Promise<{ listing: IntakeResult["listing"]; manifests: Map<string, string | null> }> {
  const listing: IntakeResult["listing"] = new Map();
  const manifests = new Map<string, string | null>();
  const ex = extract();
  const gunzip = createGunzip();
  gunzip.on("error", (err) => ex.destroy(err));
  Readable.from([Buffer.from(tarGz)]).pipe(gunzip).pipe(ex);
  for await (const entry of ex) {
    const { name, type, size = 0 } = entry.header;
    listing.set(name, { type: type === "directory" ? "directory" : "file", size });
    const depth = name.split("/").length;
    if (type === "file" && depth <= 2 && name.split("/").pop() === MANIFEST_FILE) {
      if (size > MAX_MANIFEST_BYTES) {
        manifests.set(name, null);
        entry.resume();
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
      manifests.set(name, Buffer.concat(chunks).toString("utf8"));
    } else entry.resume();
  }
  return { listing, manifests };
}

/** The single top-level directory every entry sits in, if there is one. */
function singleTopDir(listing: IntakeResult["listing"]): string | null {
  let top: string | null = null;
  for (const name of listing.keys()) {
    const first = name.split("/")[0]!;
    if (top === null) top = first;
    else if (first !== top) return null;
  }
  return top !== null && listing.get(top)?.type !== "file" ? top : null;
}

/**
 * Checks and normalises an uploaded bundle. Refusals are 400 (ArchiveRejected, naming the
 * entry and the rule) or 413 (BundleTooLarge).
 */
export async function intakeBundle(upload: Uint8Array, limits: BundleLimits): Promise<IntakeResult> {
  if (upload.byteLength === 0) throw new ArchiveRejected("the bundle is empty; send a .tar.gz or .zip");
  if (upload.byteLength > limits.maxUploadBytes) throw new BundleTooLarge(limits.maxUploadBytes);
  const source: ArchiveSource = looksLikeZip(upload) ? zipAsTar(upload, limits) : upload;
  const sanitize = (input: ArchiveSource, stripPrefix?: string) => sanitizeArchive(input, { mode: "import", limits, skip: isClutter, stripPrefix }, collect);
  let clean = await sanitize(source);
  let { listing, manifests } = await listArchive(clean.stored);
  let strippedDir: string | null = null;
  if (!manifests.has(MANIFEST_FILE)) {
    const top = singleTopDir(listing);
    if (top === null || !manifests.has(`${top}/${MANIFEST_FILE}`))
      throw new BadRequest(`The bundle has no ${MANIFEST_FILE} at its top (nor in a single top-level directory): add the manifest next to the entry file.`, "manifest_missing");
    clean = await sanitize(clean.stored, top);
    ({ listing, manifests } = await listArchive(clean.stored));
    strippedDir = top;
  }
  const manifestText = manifests.get(MANIFEST_FILE);
  if (manifestText === null || manifestText === undefined) throw new BadRequest(`${MANIFEST_FILE} is larger than ${MAX_MANIFEST_BYTES} bytes.`, "invalid_manifest");
  return { tarGz: clean.stored, listing, manifestText, strippedDir, files: clean.files, bytes: clean.bytes };
}

/** The JSON form of an upload: the manifest as an object and a few text files by path. */
export interface InlineBundle {
  manifest: unknown;
  files: Record<string, string>;
}

export const INLINE_LIMITS = { files: 16, bytes: 1024 * 1024 } as const;

/** Packs an inline bundle into a tar (browsergrid.json from `manifest`), then takes it in like an upload. */
export async function intakeInline(input: InlineBundle, limits: BundleLimits): Promise<IntakeResult> {
  const names = Object.keys(input.files);
  if (names.length === 0 || names.length > INLINE_LIMITS.files) throw new BadRequest(`"files" must hold 1 to ${INLINE_LIMITS.files} files (path → text).`, "invalid_body");
  if (names.some((n) => n.replace(/^\.\//, "") === MANIFEST_FILE)) throw new BadRequest(`Give the manifest in "manifest", not as a file named ${MANIFEST_FILE}.`, "invalid_body");
  let total = 0;
  const entries = names.map((name) => {
    const body = Buffer.from(input.files[name]!, "utf8");
    total += body.byteLength;
    return { header: { name, type: "file" as const, size: body.byteLength, mode: 0o644 }, body };
  });
  if (total > INLINE_LIMITS.bytes) throw new BadRequest(`The inline files add up to more than ${INLINE_LIMITS.bytes} bytes; upload a .tar.gz or .zip instead.`, "invalid_body");
  const manifest = Buffer.from(JSON.stringify(input.manifest ?? null), "utf8");
  const tar = await packEntries([{ header: { name: MANIFEST_FILE, type: "file", size: manifest.byteLength, mode: 0o644 }, body: manifest }, ...entries]);
  return intakeBundle(tar, limits);
}

export type { BundleListing };
