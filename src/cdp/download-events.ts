// Downloads the browser finished, as the gateway sees them in the events it forwards to a
// client. Chromium sends download events only to connections that asked: `Browser.download*`
// to a connection whose Browser.setDownloadBehavior had `eventsEnabled` (the gateway turns it on
// with every allow, and hides those events from a client that did not ask for them),
// `Page.download*` to flat page sessions with the Page domain enabled. A finished download is
// reported once per connection as its file name inside the downloads directory:
//   - Browser.downloadProgress "completed" names the file (`filePath`, Chromium ≥ 129);
//   - Page.downloadProgress does not: the name is the `suggestedFilename` of its
//     Page.downloadWillBegin, and Page events count only on connections without Browser events.
// Whatever cannot be read as exactly one plain file in BROWSER_PATHS.downloads is not reported
// (default deny); the end-of-session copy still finds such files when they exist.
import { BROWSER_PATHS } from "../providers/provider";
import type { DownloadsAllowed } from "./policy-checks";

export interface FinishedDownload {
  /** Chromium's id of the download. */
  guid: string;
  /** The file's name in BROWSER_PATHS.downloads (one path segment). */
  name: string;
}

const BROWSER_PREFIX = Buffer.from('{"method":"Browser.download');
const PAGE_PREFIX = Buffer.from('{"method":"Page.download');
/** Download events are a few hundred bytes; anything far larger is not one. */
const MAX_EVENT_BYTES = 64 * 1024;
/** Downloads begun and not yet finished that one connection keeps names for. */
const MAX_PENDING = 256;
/** Linux's limit for one file name, in bytes. */
const MAX_NAME_BYTES = 255;

/** Cheap test run on every browser→client message: does it start like a download event? */
export function isDownloadEvent(payload: Buffer): boolean {
  // Events start with {"method":" (0x6d = "m"); replies with {"id":. Single bytes first (the
  // method's first letter, the "d" of ".download"): most events are ruled out without a compare.
  if (payload.length > MAX_EVENT_BYTES || payload[2] !== 0x6d) return false;
  if (payload[11] === 0x42 && payload[19] === 0x64) return startsWith(payload, BROWSER_PREFIX);
  if (payload[11] === 0x50 && payload[16] === 0x64) return startsWith(payload, PAGE_PREFIX);
  return false;
}

function startsWith(payload: Buffer, prefix: Buffer): boolean {
  return payload.length > prefix.length && payload.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

/**
 * A file name a download may have in the downloads directory, or null: one segment, no
 * control characters, not hidden, not a partial download (.crdownload), at most 255 bytes.
 */
export function downloadFileName(raw: unknown): string | null {
  if (typeof raw !== "string" || raw === "" || raw === "." || raw === "..") return null;
  if (raw.startsWith(".") || raw.includes("/") || raw.includes("\\") || /[\u0000-\u001f\u007f]/.test(raw)) return null;
  if (raw.endsWith(".crdownload") || Buffer.byteLength(raw) > MAX_NAME_BYTES) return null;
  return raw;
}

/** The name of `filePath` when it is a file directly in the downloads directory, else null. */
export function nameInDownloads(filePath: unknown): string | null {
  const dir = `${BROWSER_PATHS.downloads}/`;
  if (typeof filePath !== "string" || !filePath.startsWith(dir)) return null;
  return downloadFileName(filePath.slice(dir.length));
}

/** What one download event means for the connection that carried it. */
export interface DownloadObservation {
  finished: FinishedDownload | null;
  /** false: a Browser.download* event the client did not ask for (the gateway turned them on). */
  forward: boolean;
}

const PASS: DownloadObservation = { finished: null, forward: true };

/** The download events of one client connection (state: names of downloads under way). */
export class DownloadWatch {
  /** This connection allowed downloads with Browser.setDownloadBehavior, so Browser events come here. */
  private browserEvents = false;
  /** The client asked for Browser.download* events itself. */
  private clientWantsBrowserEvents = true;
  private readonly suggested = new Map<string, string>();

  /** The client's setDownloadBehavior allowed downloads, as the gateway forwarded it (policy-checks.ts). */
  downloadsAllowed(how: DownloadsAllowed): void {
    if (!how.browserEvents) return;
    this.browserEvents = true;
    this.clientWantsBrowserEvents = how.clientEvents;
  }

  /** Reads one message that passed isDownloadEvent. Never throws. */
  observe(payload: Buffer): DownloadObservation {
    let msg: { method?: unknown; params?: { guid?: unknown; suggestedFilename?: unknown; state?: unknown; filePath?: unknown } };
    try {
      msg = JSON.parse(payload.toString());
    } catch {
      return PASS;
    }
    const method = msg.method;
    const p = msg.params;
    if (typeof method !== "string" || typeof p !== "object" || p === null || typeof p.guid !== "string") return PASS;
    const guid = p.guid;
    const fromBrowser = method.startsWith("Browser.");
    const forward = !fromBrowser || this.clientWantsBrowserEvents;
    if (!fromBrowser && this.browserEvents) return { finished: null, forward };
    if (method.endsWith(".downloadWillBegin")) {
      const name = downloadFileName(p.suggestedFilename);
      if (name) this.remember(guid, name);
      return { finished: null, forward };
    }
    if (!method.endsWith(".downloadProgress") || (p.state !== "completed" && p.state !== "canceled")) return { finished: null, forward };
    const suggested = this.suggested.get(guid);
    this.suggested.delete(guid);
    if (p.state === "canceled") return { finished: null, forward };
    const name = fromBrowser && p.filePath !== undefined ? nameInDownloads(p.filePath) : (suggested ?? null);
    return { finished: name ? { guid, name } : null, forward };
  }

  private remember(guid: string, name: string): void {
    if (this.suggested.size >= MAX_PENDING) this.suggested.delete(this.suggested.keys().next().value!);
    this.suggested.set(guid, name);
  }
}
