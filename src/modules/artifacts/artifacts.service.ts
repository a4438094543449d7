// Session artifacts: screenshots taken through the API, files the browser downloaded, later
// recordings and run logs. Bytes live in storage/artifacts/<sessionId>/, rows in `artifacts`
// with size and SHA-256. Retention deletes by age, then oldest first past a total size.
import { eachTarEntry } from "../../storage/tar-entries";
import { and, asc, eq, lt, ne, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import { newId } from "../../lib/ids";
import { NotFound } from "../../lib/errors";
import { artifacts } from "../../db/schema";
import { safeName, type BlobStore } from "../../storage/blob-store";
import { normaliseEntryName } from "../../storage/archive";

export type ArtifactRow = typeof artifacts.$inferSelect;
export type ArtifactKind = ArtifactRow["kind"];

export interface PublicArtifact {
  id: string;
  sessionId: string;
  kind: ArtifactKind;
  name: string;
  contentType: string;
  size: number;
  sha256: string;
  createdAt: string;
  url: string;
}

const CONTENT_TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  pdf: "application/pdf",
  txt: "text/plain",
  csv: "text/csv",
  json: "application/json",
  zip: "application/zip",
  webm: "video/webm",
  log: "text/plain",
};

export function contentTypeOf(name: string): string {
  const ext = /\.([A-Za-z0-9]{1,8})$/.exec(name)?.[1]?.toLowerCase();
  return (ext && CONTENT_TYPES[ext]) || "application/octet-stream";
}

/** Caps on what one session's downloads may add. */
const MAX_DOWNLOAD_FILE_BYTES = 512 * 1024 * 1024;
const MAX_DOWNLOADS_PER_SESSION = 200;

export class ArtifactService {
  constructor(
    private readonly deps: {
      db: Db;
      log: Logger;
      blobs: BlobStore;
      maxAgeDays: number;
      maxTotalBytes: number;
    },
  ) {}

  toPublic(a: ArtifactRow): PublicArtifact {
    return {
      id: a.id,
      sessionId: a.sessionId,
      kind: a.kind,
      name: a.name,
      contentType: a.contentType,
      size: a.size,
      sha256: a.sha256,
      createdAt: new Date(a.createdAt).toISOString(),
      url: `/api/v1/sessions/${a.sessionId}/artifacts/${a.id}`,
    };
  }

  private pending = new Map<string, Promise<void>>();
  /** Downloads (Chromium's guid) already queued per session: every client connection reports the same one. */
  private queuedDownloads = new Map<string, Set<string>>();

  /** The session has ended: no live copy follows (captureFinishedDownload copies for running sessions only). */
  forgetReports(sessionId: string): void {
    this.queuedDownloads.delete(sessionId);
  }

  /** True the first time a session's download is reported; its copy is queued once, not per client. */
  firstReport(sessionId: string, guid: string): boolean {
    let seen = this.queuedDownloads.get(sessionId);
    if (!seen) this.queuedDownloads.set(sessionId, (seen = new Set()));
    if (seen.has(guid)) return false;
    seen.add(guid);
    return true;
  }

  /**
   * Runs a collection of a session's files after those already queued for it (one at a time per
   * session, so a finished download copied while the session runs is stored before the
   * end-of-session copy looks for duplicates); settled() waits for all of them.
   */
  collecting(sessionId: string, run: () => Promise<void>): Promise<void> {
    const before = this.pending.get(sessionId) ?? Promise.resolve();
    const p: Promise<void> = before
      .catch(() => {})
      .then(run)
      .finally(() => {
        if (this.pending.get(sessionId) === p) this.pending.delete(sessionId);
      });
    this.pending.set(sessionId, p);
    return p;
  }

  /** Resolves once files being collected for the session (finished downloads, an ending session's downloads) are stored. */
  async settled(sessionId: string): Promise<void> {
    await this.pending.get(sessionId)?.catch(() => {});
  }

  list(sessionId: string): ArtifactRow[] {
    return this.deps.db.select().from(artifacts).where(eq(artifacts.sessionId, sessionId)).orderBy(asc(artifacts.createdAt), asc(artifacts.id)).all();
  }

  /** Files a run wrote to its output dir, oldest first. */
  listOfRun(runId: string): ArtifactRow[] {
    return this.deps.db.select().from(artifacts).where(eq(artifacts.runId, runId)).orderBy(asc(artifacts.createdAt), asc(artifacts.id)).all();
  }

  get(sessionId: string, id: string): ArtifactRow {
    const a = this.deps.db
      .select()
      .from(artifacts)
      .where(and(eq(artifacts.sessionId, sessionId), eq(artifacts.id, id)))
      .get();
    if (!a) throw new NotFound(`Artifact ${id}`);
    return a;
  }

  open(a: ArtifactRow): ReadableStream<Uint8Array> {
    const s = this.deps.blobs.stream(a.storageKey);
    if (!s) throw new NotFound(`The file of artifact ${a.id}`);
    return s;
  }

  async add(sessionId: string, kind: ArtifactKind, name: string, data: Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>, opts: { contentType?: string; maxBytes?: number; runId?: string } = {}): Promise<ArtifactRow> {
    const id = newId("art");
    const file = safeName(name);
    const key = `artifacts/${sessionId}/${id}-${file}`;
    const info = await this.deps.blobs.put(key, data, { maxBytes: opts.maxBytes });
    try {
      return this.deps.db
        .insert(artifacts)
        .values({ id, sessionId, kind, name: name.slice(0, 255), contentType: opts.contentType ?? contentTypeOf(file), size: info.size, sha256: info.sha256, storageKey: key, runId: opts.runId ?? null, createdAt: Date.now() })
        .returning()
        .get();
    } catch (err) {
      await this.deps.blobs.delete(key);
      throw err;
    }
  }

  /**
   * Stores the files of a tar read from the browser's downloads directory. Partial downloads
   * (.crdownload), links, devices and anything outside the directory are skipped: the archive
   * comes from a container a page may have controlled. Files already stored while the session
   * ran (same name and SHA-256) are not stored twice.
   */
  async collectDownloads(sessionId: string, tar: NodeJS.ReadableStream): Promise<number> {
    let count = this.downloadCount(sessionId);
    let stored = 0;
    await eachTarEntry(tar, async (entry) => {
      const name = normaliseEntryName(entry.header.name, "downloads");
      const size = entry.header.size ?? 0;
      if (!name || entry.header.type !== "file" || name.endsWith(".crdownload") || size > MAX_DOWNLOAD_FILE_BYTES || count >= MAX_DOWNLOADS_PER_SESSION) return false;
      if (await this.addDownload(sessionId, name.split("/").pop()!, entry, MAX_DOWNLOAD_FILE_BYTES)) stored++, count++;
      return true;
    });
    return stored;
  }

  /**
   * Stores the one file `name` from a tar of that file alone (the provider's copy of
   * BROWSER_PATHS.downloads/<name>): a regular file of at most `maxBytes`, else nothing is
   * stored. null when it was refused or is already stored (same name and SHA-256).
   */
  async collectDownload(sessionId: string, tar: NodeJS.ReadableStream, name: string, maxBytes = MAX_DOWNLOAD_FILE_BYTES): Promise<ArtifactRow | null> {
    const cap = Math.min(maxBytes, MAX_DOWNLOAD_FILE_BYTES);
    let row: ArtifactRow | null = null;
    let taken = false;
    await eachTarEntry(tar, async (entry) => {
      const size = entry.header.size ?? 0;
      if (taken || entry.header.type !== "file" || normaliseEntryName(entry.header.name) !== name || size > cap) return false;
      taken = true;
      if (this.downloadCount(sessionId) >= MAX_DOWNLOADS_PER_SESSION) return false;
      row = await this.addDownload(sessionId, name, entry, cap);
      return true;
    });
    return row;
  }

  private downloadCount(sessionId: string): number {
    return this.deps.db.select({ n: sql<number>`count(*)` }).from(artifacts).where(and(eq(artifacts.sessionId, sessionId), eq(artifacts.kind, "download"))).get()?.n ?? 0;
  }

  /** Streams one download into the store (never held whole); null when the same file is already stored. */
  private async addDownload(sessionId: string, name: string, body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<ArtifactRow | null> {
    const row = await this.add(sessionId, "download", name, body, { maxBytes });
    const twin = this.deps.db
      .select({ id: artifacts.id })
      .from(artifacts)
      .where(and(eq(artifacts.sessionId, sessionId), eq(artifacts.kind, "download"), eq(artifacts.name, row.name), eq(artifacts.sha256, row.sha256), ne(artifacts.id, row.id)))
      .get();
    if (!twin) return row;
    this.deps.db.delete(artifacts).where(eq(artifacts.id, row.id)).run();
    await this.deps.blobs.delete(row.storageKey);
    return null;
  }

  /** Deletes artifacts past the maximum age, then the oldest until the total fits. */
  async sweep(now = Date.now()): Promise<{ deleted: number; bytes: number }> {
    const { db } = this.deps;
    const doomed: ArtifactRow[] = db
      .select()
      .from(artifacts)
      .where(lt(artifacts.createdAt, now - this.deps.maxAgeDays * 86_400_000))
      .all();
    const total = db.select({ total: sql<number>`coalesce(sum(${artifacts.size}), 0)` }).from(artifacts).get()?.total ?? 0;
    let over = total - doomed.reduce((n, a) => n + a.size, 0) - this.deps.maxTotalBytes;
    if (over > 0) {
      const gone = new Set(doomed.map((a) => a.id));
      for (const a of db.select().from(artifacts).orderBy(asc(artifacts.createdAt)).all()) {
        if (over <= 0) break;
        if (gone.has(a.id)) continue;
        doomed.push(a);
        over -= a.size;
      }
    }
    let bytes = 0;
    for (const a of doomed) {
      db.delete(artifacts).where(eq(artifacts.id, a.id)).run();
      await this.deps.blobs.delete(a.storageKey).catch((err) => this.deps.log.warn("artifact file not deleted", { key: a.storageKey, err }));
      bytes += a.size;
    }
    if (doomed.length) this.deps.log.info("artifacts retention", { deleted: doomed.length, bytes });
    return { deleted: doomed.length, bytes };
  }

  totalBytes(): number {
    return this.deps.db.select({ total: sql<number>`coalesce(sum(${artifacts.size}), 0)` }).from(artifacts).get()?.total ?? 0;
  }
}

