// Profiles and artifacts around a session's life, plugged into SessionService
// (its `storage`): the profile goes into the browser before Chromium starts, comes back out
// as a new version when a persisting session ends normally, and the browser's downloads become
// artifacts. The storage services are built once, by boot.ts (createStorage), and carried as
// `deps.storage`.
//
// Getting a consistent profile out (measured, Docker 20.10, headless-shell): Chromium writes
// cookies and localStorage to disk lazily (cookies are batched for up to ~30 s), so reading a
// running browser's directory can miss the last login. At the end of a persisting session
// BrowserGrid sends CDP `Browser.close` on its own link to the browser (src/cdp/session-links.ts) — Chromium flushes every store
// and exits cleanly, which ends the container — and then reads the profile volume of the
// stopped container through the Docker archive API before removing it. No entrypoint change is
// needed. Measured cost at end: see docs/profiles.md.
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import type { Config } from "../../config";
import { join } from "node:path";
import { BROWSER_PATHS, type BrowserProvider } from "../../providers/provider";
import { LocalBlobStore } from "../../storage/local-blob-store";
import type { SessionLinks } from "../../cdp/session-links";
import { appendEvent, appendNote, getSession, listEvents, type SessionRow } from "../sessions/sessions.store";
import type { Owner, SessionService, SessionStorage } from "../sessions/sessions.service";
import { ArtifactService } from "../artifacts/artifacts.service";
import { ProfileService, type ProfileRef } from "./profiles.service";
import { sweepDeadLocks } from "./profiles.store";

export interface Storage {
  blobs: LocalBlobStore;
  profiles: ProfileService;
  artifacts: ArtifactService;
  /** Sessions on which a client allowed downloads (also recorded as a `downloads_enabled` event). */
  downloads: Set<string>;
}

/** What the storage functions below need: the app's config, database, logger and storage. */
type StorageDeps = { config: Readonly<Config>; db: Db; log: Logger; storage: Storage };

/** The storage services of this process, under BROWSERGRID_DATA_DIR/storage (boot.ts builds them once). */
export function createStorage(config: Readonly<Config>, db: Db, log: Logger): Storage {
  const blobs = new LocalBlobStore(join(config.dataDir, "storage"));
  return {
    blobs,
    profiles: new ProfileService({ db, log, blobs, versionsKept: config.profileVersionsKept, maxBytes: config.profileMaxBytes }),
    artifacts: new ArtifactService({ db, log, blobs, maxAgeDays: config.artifactMaxAgeDays, maxTotalBytes: config.artifactMaxTotalBytes }),
    downloads: new Set(),
  };
}

/** The storage services of the app `deps` belongs to. */
export function storageOf(deps: { storage: Storage }): Storage {
  return deps.storage;
}

type ProfileConfig = { id: string; name: string; persist: boolean; version: number | null };

function profileOf(row: SessionRow): ProfileConfig | undefined {
  const p = (row.config as { profile?: ProfileConfig }).profile;
  return p && typeof p.id === "string" ? p : undefined;
}

/** How long Chromium gets to flush and exit after Browser.close before the save reads anyway. */
const EXIT_TIMEOUT_MS = 10_000;

/** `links`: BrowserGrid's own CDP links to the browsers (never through the gateway). */
export function sessionStorageHooks(deps: StorageDeps & { links: SessionLinks }): SessionStorage {
  const storage = storageOf(deps);
  const { profiles, artifacts } = storage;
  const { db, log, links } = deps;
  sweepDeadLocks(db, Date.now());

  /** Asks Chromium to write everything and exit; true when the container stopped. */
  async function closeBrowser(row: SessionRow, provider: BrowserProvider): Promise<boolean> {
    try {
      const link = await links.link(row.id);
      await link.send("Browser.close", {}, undefined, 3_000).catch(() => {}); // the socket may close before the reply
      link.release();
    } catch (err) {
      log.warn("Browser.close failed before a profile save", { sessionId: row.id, err });
    }
    return provider.waitExited ? provider.waitExited(row.containerId!, EXIT_TIMEOUT_MS) : false;
  }

  return {
    async prepareProfile(owner: Owner, sessionId: string, ref: unknown) {
      const got = await profiles.attach(owner, ref as ProfileRef, sessionId);
      return { config: got.config, archive: got.archive, release: got.release };
    },

    async beforeStop(row, status, provider) {
      if (!provider || !row.containerId) return;
      const profile = profileOf(row);
      if (profile?.persist && provider.copyOut) {
        if (status === "completed" || status === "timed_out") {
          const started = performance.now();
          try {
            const exited = await closeBrowser(row, provider);
            const flushMs = Math.round(performance.now() - started);
            const v = await profiles.saveFromBrowser(profile.id, row.id, "session", () => provider.copyOut!(row.containerId!, BROWSER_PATHS.profile));
            appendEvent(db, row.id, "profile_saved", { profile: profile.name, version: v.version, size: v.size, files: v.files, cleanExit: exited, flushMs, totalMs: Math.round(performance.now() - started) });
            log.info("profile saved", { sessionId: row.id, profile: profile.name, version: v.version, size: v.size, cleanExit: exited, flushMs, totalMs: Math.round(performance.now() - started) });
          } catch (err) {
            appendEvent(db, row.id, "profile_save_failed", { profile: profile.name, reason: (err as Error).message.slice(0, 300) });
            log.error("profile save failed; the previous version is kept", { sessionId: row.id, profile: profile.name, err });
          }
        } else appendEvent(db, row.id, "profile_not_saved", { profile: profile.name, reason: `session ${status}; the last saved version is kept` });
      }
    },

    collectFiles(row, provider) {
      // Reading the downloads volume costs one Docker archive call (measured 60-160 ms on a busy
      // 2-core host, even when empty), so only sessions where a client allowed downloads pay it.
      const downloads = storage.downloads.delete(row.id) || listEvents(db, row.id).some((e) => e.type === "downloads_enabled");
      if (!downloads || !provider?.copyOut || !row.containerId) return Promise.resolve();
      const containerId = row.containerId;
      return artifacts.collecting(row.id, async () => {
        try {
          const n = await artifacts.collectDownloads(row.id, await provider.copyOut!(containerId, BROWSER_PATHS.downloads));
          if (n) appendEvent(db, row.id, "downloads_collected", { files: n });
        } catch (err) {
          log.warn("downloads not collected", { sessionId: row.id, err });
        }
      });
    },

    afterEnd(sessionId) {
      profiles.releaseFor(sessionId);
      artifacts.forgetReports(sessionId);
    },
  };
}

/**
 * BrowserGrid.saveProfile: a new version from the running browser, without stopping it. It
 * holds what Chromium has written to disk so far (cookies can lag up to ~30 s); the version
 * saved when the session ends is the complete one.
 */
export async function saveProfileNow(deps: StorageDeps, sessions: SessionService, sessionId: string) {
  const row = getSession(deps.db, sessionId);
  const profile = row ? profileOf(row) : undefined;
  if (!row || row.status !== "running" || !row.containerId) return { error: "The session is not running." };
  if (!profile) return { error: "This session has no profile." };
  if (!profile.persist) return { error: "This session uses its profile read-only (persist: false); nothing is saved." };
  const provider = sessions.providerOf(row);
  if (!provider?.copyOut) return { error: "This worker cannot copy files out of its browsers." };
  try {
    const v = await storageOf(deps).profiles.saveFromBrowser(profile.id, row.id, "save", () => provider.copyOut!(row.containerId!, BROWSER_PATHS.profile));
    appendEvent(deps.db, row.id, "profile_saved", { profile: profile.name, version: v.version, size: v.size, files: v.files, midSession: true });
    return { profile: profile.name, version: v.version, size: v.size, files: v.files };
  } catch (err) {
    deps.log.warn("BrowserGrid.saveProfile failed", { sessionId, err });
    return { error: `The profile was not saved: ${(err as Error).message.slice(0, 300)}` };
  }
}

/** The storage clean-up job: artifact retention, dead profile locks, temp files of a crash. */
export async function storageUpkeep(deps: StorageDeps, opts: { atBoot?: boolean } = {}): Promise<void> {
  const s = storageOf(deps);
  if (opts.atBoot) s.blobs.sweepTemp();
  sweepDeadLocks(deps.db, Date.now() - 10 * 60_000);
  await s.artifacts.sweep();
}

/** The gateway saw a client allow downloads on this session: collect them when it ends. */
export function markDownloadsEnabled(deps: StorageDeps, sessionId: string): void {
  const { downloads } = storageOf(deps);
  if (downloads.has(sessionId)) return;
  downloads.add(sessionId);
  appendNote(deps.db, sessionId, "downloads_enabled", {});
}
