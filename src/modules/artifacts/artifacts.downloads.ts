// A download the browser finished becomes an artifact at once, while the session runs. The
// gateway reports it from the CDP events it forwards (src/cdp/download-events.ts), before the
// client hears of it; the one file is copied out of BROWSER_PATHS.downloads through the
// session's provider (the Docker archive API, the same on local and SSH workers) and streamed
// into the artifact store with the rules of the end-of-session copy: a regular file only, at
// most the pool's downloads cap (and the 512 MiB per-file cap), never held in memory whole.
// Copies of one session run one at a time and the end-of-session copy runs after them, skipping
// what they stored; artifact readers wait for copies under way (ArtifactService.settled).
import type { AppDeps } from "../../http/context";
import type { FinishedDownload } from "../../cdp/download-events";
import { BROWSER_PATHS } from "../../providers/provider";
import { findPoolById } from "../pools/pools.service";
import { appendNote, getSession, type SessionRow } from "../sessions/sessions.store";
import { storageOf } from "../profiles/session-storage";

/** Opening the copy and reading it whole: past this the copy is cut off (the end-of-session copy tries again). */
const COPY_DEADLINE_MS = 120_000;

type Deps = Pick<AppDeps, "config" | "db" | "log" | "sessions" | "storage">;

/** Queues the copy of one finished download of a running session; returns at once and never throws (it runs on the gateway's message path). */
export function captureFinishedDownload(deps: Deps, sessionId: string, download: FinishedDownload, deadlineMs = COPY_DEADLINE_MS): void {
  try {
    queueCopy(deps, sessionId, download, deadlineMs);
  } catch (err) {
    deps.log.error("finished download not queued for copying", { sessionId, name: download.name, err });
  }
}

function queueCopy(deps: Deps, sessionId: string, download: FinishedDownload, deadlineMs: number): void {
  const row = getSession(deps.db, sessionId);
  if (!row || row.status !== "running" || !row.containerId) return;
  const provider = deps.sessions.providerOf(row);
  if (!provider?.copyOut) return; // such a worker cannot copy files out at all (the local-process provider)
  const { artifacts } = storageOf(deps);
  if (!artifacts.firstReport(sessionId, download.guid)) return;
  const containerId = row.containerId;
  void artifacts.collecting(sessionId, async () => {
    const started = performance.now();
    const deadline = AbortSignal.timeout(deadlineMs);
    let tar: NodeJS.ReadableStream | undefined;
    try {
      tar = await Promise.race([provider.copyOut!(containerId, `${BROWSER_PATHS.downloads}/${download.name}`), rejectOn(deadline, deadlineMs)]);
      deadline.addEventListener("abort", () => destroy(tar!, deadline.reason), { once: true });
      const a = await artifacts.collectDownload(sessionId, tar, download.name, downloadCapOf(deps, row));
      if (a) appendNote(deps.db, sessionId, "download_stored", { artifact: a.id, name: a.name, size: a.size, ms: Math.round(performance.now() - started) });
    } catch (err) {
      if (tar) destroy(tar, err);
      deps.log.warn("finished download not copied while the session runs; the end-of-session copy tries again", { sessionId, name: download.name, err });
    }
  });
}

/** The pool's downloads cap (storageMb): no file in the directory can be larger. */
function downloadCapOf(deps: Deps, row: SessionRow): number | undefined {
  const pool = row.poolId ? findPoolById(deps.db, row.poolId) : undefined;
  return pool ? pool.storageMb * 1024 * 1024 : undefined; // collectDownload caps at its own maximum too
}

function rejectOn(signal: AbortSignal, ms: number): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error(`the copy did not finish within ${ms} ms`)), { once: true }));
}

function destroy(stream: NodeJS.ReadableStream, reason: unknown): void {
  (stream as NodeJS.ReadableStream & { destroy?(err?: Error): void }).destroy?.(reason instanceof Error ? reason : new Error(String(reason)));
}
