// Profiles: persistent browser user-data-dirs, stored as versioned archives in storage/.
//
// No silent last-write-wins: only one persisting session may hold a profile at a time (the
// lock in profiles.store.ts, refused with 409 otherwise), every save is a new version (the
// newest N are kept), and a failed save keeps the previous version and says so in the session's
// timeline. Sessions with `persist: false` load the current version and never write.
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import { BadRequest, Conflict, NotFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { CorruptBlob, type BlobInfo, type BlobStore } from "../../storage/blob-store";
import { sanitizeArchive, type ArchiveLimits, type ArchiveSource } from "../../storage/archive";
import { createHash } from "node:crypto";
import { users } from "../../db/schema";
import { eq } from "drizzle-orm";
import * as store from "./profiles.store";
import type { ProfileRow, ProfileVersionRow } from "./profiles.store";

export const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface ProfileRef {
  id?: string;
  name?: string;
  persist?: boolean;
}

export interface Owner {
  type: string;
  id: string | null;
}

export interface PublicProfile {
  id: string;
  name: string;
  description: string;
  currentVersion: number | null;
  versions: number;
  /** Stored (compressed) size of the current version, and the size of its files. */
  size: number;
  contentBytes: number;
  /** The persisting session holding the profile, if any. */
  lockedBy: string | null;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
}

export interface PublicVersion {
  version: number;
  size: number;
  contentBytes: number;
  files: number;
  sha256: string;
  source: string;
  sessionId: string | null;
  createdAt: string;
  current: boolean;
}

/**
 * Parts of a user-data-dir that are caches or per-run state: left out of saved versions to keep
 * them small (Chromium rebuilds them), and the lock symlinks of the run that wrote it.
 */
const TOP_LEVEL_SKIP =
  /^(Crashpad|GrShaderCache|ShaderCache|GraphiteDawnCache|component_crx_cache|extensions_crx_cache|BrowserMetrics|BrowserMetrics-spare\.pma|Safe Browsing|DevToolsActivePort|Singleton(Lock|Socket|Cookie)|optimization_guide_model_store|segmentation_platform)$/;
const PER_PROFILE_SKIP = /^[^/]+\/(Cache|Code Cache|GPUCache|DawnCache|DawnGraphiteCache|DawnWebGPUCache|Service Worker\/CacheStorage|Service Worker\/ScriptCache)$/;

export function isProfileCache(path: string): boolean {
  return TOP_LEVEL_SKIP.test(path) || PER_PROFILE_SKIP.test(path);
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class ProfileService {
  /** Sessions whose create is in flight (their lock counts before their row exists). */
  private readonly pending = new Set<string>();
  /** Saves of one profile run one after another. */
  private readonly saving = new Map<string, Promise<unknown>>();

  constructor(
    private readonly deps: {
      db: Db;
      log: Logger;
      blobs: BlobStore;
      versionsKept: number;
      maxBytes: number;
    },
  ) {}

  get limits(): ArchiveLimits {
    return { maxFileBytes: Math.min(this.deps.maxBytes, 256 * 1024 * 1024), maxTotalBytes: this.deps.maxBytes, maxEntries: 100_000 };
  }

  private readonly isPending = (sessionId: string) => this.pending.has(sessionId);

  // ---- reads ---------------------------------------------------------------------------

  find(idOrName: string): ProfileRow | undefined {
    return store.getProfile(this.deps.db, idOrName);
  }

  /** The profile, or 404 — also when the owner may not see it (members see their own). */
  visible(idOrName: string, viewer: { ownerId: string | null; seeAll: boolean }): ProfileRow {
    const p = this.find(idOrName);
    if (!p || (!viewer.seeAll && p.ownerId !== viewer.ownerId)) throw new NotFound(`Profile ${idOrName}`);
    return p;
  }

  list(ownerId?: string): ProfileRow[] {
    return store.listProfiles(this.deps.db, ownerId);
  }

  lockedBy(profileId: string): string | null {
    return store.lockHolder(this.deps.db, profileId, this.isPending);
  }

  toPublic(p: ProfileRow): PublicProfile {
    const versions = store.listVersions(this.deps.db, p.id);
    const current = versions.find((v) => v.version === p.currentVersion);
    return {
      id: p.id,
      name: p.name,
      description: p.description,
      currentVersion: p.currentVersion,
      versions: versions.length,
      size: current?.size ?? 0,
      contentBytes: current?.contentBytes ?? 0,
      lockedBy: this.lockedBy(p.id),
      createdAt: iso(p.createdAt)!,
      updatedAt: iso(p.updatedAt)!,
      lastUsedAt: iso(p.lastUsedAt),
    };
  }

  versions(p: ProfileRow): PublicVersion[] {
    return store.listVersions(this.deps.db, p.id).map((v) => ({
      version: v.version,
      size: v.size,
      contentBytes: v.contentBytes,
      files: v.files,
      sha256: v.sha256,
      source: v.source,
      sessionId: v.sessionId,
      createdAt: iso(v.createdAt)!,
      current: v.version === p.currentVersion,
    }));
  }

  // ---- writes --------------------------------------------------------------------------

  create(owner: Owner, input: { name: string; description?: string }, id = newId("prf")): ProfileRow {
    this.checkName(input.name);
    try {
      return store.insertProfile(this.deps.db, { id, name: input.name, description: input.description ?? "", ownerType: owner.type, ownerId: owner.id });
    } catch (err) {
      if (/UNIQUE/i.test((err as Error).message)) throw new Conflict(`A profile named "${input.name}" already exists.`, "profile_exists");
      throw err;
    }
  }

  update(p: ProfileRow, fields: { name?: string; description?: string }): ProfileRow {
    if (fields.name !== undefined) this.checkName(fields.name);
    try {
      return store.updateProfile(this.deps.db, p.id, fields) ?? p;
    } catch (err) {
      if (/UNIQUE/i.test((err as Error).message)) throw new Conflict(`A profile named "${fields.name}" already exists.`, "profile_exists");
      throw err;
    }
  }

  async delete(p: ProfileRow): Promise<void> {
    this.refuseWhenHeld(p, "deleted");
    store.deleteProfile(this.deps.db, p.id);
    await this.deps.blobs.deletePrefix(`profiles/${p.id}/`);
  }

  /** Makes an old version current again, as a new version (history is never rewritten). */
  async restore(p: ProfileRow, version: number): Promise<ProfileVersionRow> {
    this.refuseWhenHeld(p, "restored");
    const v = store.getVersion(this.deps.db, p.id, version);
    if (!v) throw new NotFound(`Version ${version} of profile ${p.name}`);
    const content = { contentBytes: v.contentBytes, files: v.files };
    return this.storeVersion(p.id, "restore", null, async (key) => ({ info: await this.deps.blobs.put(key, this.verifiedStream(v)), content }));
  }

  /**
   * The archive of a version (default: current) as a stream for download, never held whole. It
   * is checked against its SHA-256 as it goes: a damaged blob errors the stream at its end, so
   * the download fails instead of handing over a damaged archive as complete.
   */
  exportArchive(p: ProfileRow, version?: number): { stream: ReadableStream<Uint8Array>; version: number; size: number } {
    const n = version ?? p.currentVersion;
    if (n === null) throw new Conflict(`Profile "${p.name}" has no saved version yet: use it in a session with persist: true first.`, "profile_empty");
    const v = store.getVersion(this.deps.db, p.id, n);
    if (!v) throw new NotFound(`Version ${n} of profile ${p.name}`);
    return { stream: this.verifiedStream(v), version: n, size: v.size };
  }

  private verifiedStream(v: ProfileVersionRow): ReadableStream<Uint8Array> {
    const source = this.deps.blobs.stream(v.storageKey);
    if (!source) throw new CorruptBlob(v.storageKey, v.sha256, "missing");
    const hash = createHash("sha256");
    return source.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          hash.update(chunk);
          controller.enqueue(chunk);
        },
        flush(controller) {
          const actual = hash.digest("hex");
          if (actual !== v.sha256) controller.error(new CorruptBlob(v.storageKey, v.sha256, actual));
        },
      }),
    );
  }

  /**
   * A new profile from a tar or tar.gz of a user-data-dir's contents, streamed: the archive is
   * checked entry by entry and rebuilt (storage/archive.ts) straight into the blob store, and
   * the profile's row is written only once the whole archive was accepted. A refused archive
   * (400), one over its size cap (413) or a failed write leaves no row and no file.
   */
  async importArchive(owner: Owner, input: { name: string; description?: string }, archive: ArchiveSource): Promise<ProfileRow> {
    this.checkName(input.name);
    if (this.find(input.name)) throw new Conflict(`A profile named "${input.name}" already exists.`, "profile_exists");
    const id = newId("prf");
    const key = `profiles/${id}/1.tar.gz`;
    const dir = `profiles/${id}/`;
    try {
      const clean = await sanitizeArchive(archive, { mode: "import", limits: this.limits, skip: isProfileCache }, (out) => this.deps.blobs.put(key, out));
      const p = this.create(owner, input, id);
      const version = store.reserveVersion(this.deps.db, p.id);
      store.commitVersion(this.deps.db, versionRow(p.id, version, clean.stored, { contentBytes: clean.bytes, files: clean.files }, "import", null), this.deps.versionsKept);
      return store.getProfile(this.deps.db, p.id)!;
    } catch (err) {
      store.deleteProfile(this.deps.db, id);
      await this.deps.blobs.deletePrefix(dir);
      throw err;
    }
  }

  // ---- sessions ------------------------------------------------------------------------

  /**
   * Resolves a session's `profile` field: checks access, takes the lock when it persists, and
   * returns the current archive to load. `release` undoes the lock if the create fails early.
   */
  async attach(
    owner: Owner,
    ref: ProfileRef,
    sessionId: string,
  ): Promise<{ config: { id: string; name: string; persist: boolean; version: number | null }; archive?: Uint8Array; release(): void }> {
    if (!ref || typeof ref !== "object" || (ref.id === undefined) === (ref.name === undefined))
      throw new BadRequest('Field "profile": give exactly one of "id" or "name".', "invalid_profile");
    const p = this.find((ref.id ?? ref.name)!);
    if (!p || (p.ownerId !== owner.id && !this.isAdmin(owner))) throw new BadRequest(`Unknown profile "${ref.id ?? ref.name}": see GET /api/v1/profiles.`, "unknown_profile");
    const persist = ref.persist === true;
    if (persist) {
      this.pending.add(sessionId);
      const got = store.acquireLock(this.deps.db, p.id, sessionId, this.isPending);
      if (!got.ok) {
        this.pending.delete(sessionId);
        throw new Conflict(
          `Profile "${p.name}" is in use by persisting session ${got.holder}; only one session at a time may save it. End that session first, or attach the profile with persist: false (read-only).`,
          "profile_locked",
        );
      }
    }
    const release = () => {
      this.pending.delete(sessionId);
      if (persist) store.releaseLock(this.deps.db, sessionId);
    };
    try {
      store.updateProfile(this.deps.db, p.id, { lastUsedAt: Date.now() });
      const v = p.currentVersion === null ? undefined : store.getVersion(this.deps.db, p.id, p.currentVersion);
      const archive = v ? await this.deps.blobs.read(v.storageKey, { sha256: v.sha256 }) : undefined;
      return { config: { id: p.id, name: p.name, persist, version: v?.version ?? null }, archive, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** The session's row now exists (or the create ended): its lock no longer needs `pending`. */
  settled(sessionId: string): void {
    this.pending.delete(sessionId);
  }

  /** Whether `sessionId` still holds the lock of `profileId` (checked before every save). */
  holds(profileId: string, sessionId: string): boolean {
    return this.lockedBy(profileId) === sessionId;
  }

  releaseFor(sessionId: string): void {
    this.pending.delete(sessionId);
    store.releaseLock(this.deps.db, sessionId);
  }

  /**
   * Saves a user-data-dir read out of a browser as the profile's new version. The archive came
   * from a container a page may have controlled: it is rebuilt by sanitizeArchive like an
   * import (links and devices dropped, caches skipped, sizes capped), streamed from Docker
   * into the blob store without being held whole.
   */
  async saveFromBrowser(profileId: string, sessionId: string, source: "session" | "save", read: () => Promise<NodeJS.ReadableStream>): Promise<ProfileVersionRow> {
    const previous = this.saving.get(profileId) ?? Promise.resolve();
    const run = previous
      .catch(() => {})
      .then(async () => {
        if (!this.holds(profileId, sessionId)) throw new Conflict("This session does not hold the profile's lock (it was attached with persist: false).", "profile_not_persisting");
        const raw = await read();
        return this.storeVersion(profileId, source, sessionId, async (key) => {
          const clean = await sanitizeArchive(raw, { mode: "browser", limits: this.limits, stripPrefix: "profile", skip: isProfileCache }, (out) => this.deps.blobs.put(key, out));
          return { info: clean.stored, content: { contentBytes: clean.bytes, files: clean.files } };
        });
      });
    this.saving.set(profileId, run);
    try {
      return await run;
    } finally {
      if (this.saving.get(profileId) === run) this.saving.delete(profileId);
    }
  }

  /**
   * Writes a version's archive (`write` streams it to the key it is given), then records it as
   * current; versions past the newest N are deleted. A failed write leaves no blob.
   */
  private async storeVersion(
    profileId: string,
    source: ProfileVersionRow["source"],
    sessionId: string | null,
    write: (key: string) => Promise<{ info: BlobInfo; content: { contentBytes: number; files: number } }>,
  ): Promise<ProfileVersionRow> {
    const version = store.reserveVersion(this.deps.db, profileId);
    const key = `profiles/${profileId}/${version}.tar.gz`;
    const { info, content } = await write(key);
    const row = versionRow(profileId, version, info, content, source, sessionId);
    let pruned: ProfileVersionRow[];
    try {
      pruned = store.commitVersion(this.deps.db, row, this.deps.versionsKept);
    } catch (err) {
      await this.deps.blobs.delete(key);
      throw err;
    }
    for (const old of pruned) await this.deps.blobs.delete(old.storageKey).catch((err) => this.deps.log.warn("old profile version not deleted", { key: old.storageKey, err }));
    return row;
  }

  private refuseWhenHeld(p: ProfileRow, what: string): void {
    const holder = this.lockedBy(p.id);
    if (holder) throw new Conflict(`Profile "${p.name}" is in use by persisting session ${holder} and cannot be ${what} now; end that session first.`, "profile_locked");
  }

  private checkName(name: string): void {
    if (!PROFILE_NAME.test(name)) throw new BadRequest("Profile names are 1-64 characters: letters, digits, dot, dash and underscore, starting with a letter or digit.", "invalid_name");
  }

  private isAdmin(owner: Owner): boolean {
    if (owner.type === "static_key") return true;
    if (!owner.id) return false;
    return this.deps.db.select({ role: users.role }).from(users).where(eq(users.id, owner.id)).get()?.role === "admin";
  }
}

function versionRow(
  profileId: string,
  version: number,
  info: BlobInfo,
  content: { contentBytes: number; files: number },
  source: ProfileVersionRow["source"],
  sessionId: string | null,
): ProfileVersionRow {
  return { profileId, version, storageKey: info.key, sha256: info.sha256, size: info.size, contentBytes: content.contentBytes, files: content.files, source, sessionId, createdAt: Date.now() };
}
