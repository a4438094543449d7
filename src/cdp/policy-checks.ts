// The checks the CDP policy table (policy.ts) names for methods that are allowed only with
// certain parameters. Each check gets the parsed `params` of a message the scanner proved
// strict and duplicate-free, and either refuses it (a reason the client can act on) or returns
// the params to forward, re-serialised, so Chromium executes exactly what was checked.
import { posix } from "node:path";
import { isPlainFileName } from "../providers/tar-entry";
import { BROWSER_PATHS } from "../providers/provider";

export type Params = Record<string, unknown>;
/** What a checked setDownloadBehavior that allows downloads means for the connection's download events. */
export interface DownloadsAllowed {
  /** Browser.download* events now come to this connection (Browser.setDownloadBehavior; the gateway turned them on). */
  browserEvents: boolean;
  /** The client asked for those events itself (eventsEnabled: true). */
  clientEvents: boolean;
}

export type CheckResult = { refuse: string } | { params: Params; downloads?: DownloadsAllowed };
export type CheckName = keyof typeof CHECKS;

const ALLOWED_SCHEMES = new Set(["http:", "https:", "about:", "data:", "blob:"]);

/** Why a URL may not be opened through CDP ("file: URLs"), or null when it may. */
export function refusedUrl(url: string): string | null {
  let scheme: string;
  try {
    scheme = new URL(url).protocol.toLowerCase();
  } catch {
    // Not absolute: Chromium refuses it as an invalid URL, unless it starts like a scheme.
    return /^[\s\x00-\x20]*[a-z][a-z0-9+.-]*:/i.test(url) ? "this URL" : null;
  }
  return ALLOWED_SCHEMES.has(scheme) ? null : `${scheme} URLs`;
}

/** Why a path may not be handed to a file input, or null when it names a file in the uploads dir. */
export function refusedUploadPath(path: unknown): string | null {
  if (typeof path !== "string") return "a file path must be a string";
  if (path.includes("\0")) return "a file path must not contain NUL";
  // Only the canonical spelling passes: no "..", ".", "//", trailing "/" or relative paths.
  if (posix.normalize(path) !== path || posix.dirname(path) !== BROWSER_PATHS.uploads) return `${JSON.stringify(path.slice(0, 200))} is not a file in ${BROWSER_PATHS.uploads}`;
  // The same name rule as the upload API that fills the directory.
  if (!isPlainFileName(posix.basename(path))) return `${JSON.stringify(path.slice(0, 200))} is not a plain file name`;
  return null;
}

function uploadsRefusal(files: unknown): string | null {
  if (files === undefined) return null;
  if (!Array.isArray(files)) return "files must be an array of paths";
  for (const f of files) {
    const why = refusedUploadPath(f);
    if (why) return `${why}; upload files to the session first (they land in ${BROWSER_PATHS.uploads})`;
  }
  return null;
}

function urlRefusal(url: unknown): string | null {
  if (url === undefined) return null;
  if (typeof url !== "string") return "url must be a string";
  const why = refusedUrl(url);
  return why ? `${why} are not allowed; sessions open http(s), about:, data: and blob: URLs only` : null;
}

/** Threat: each check names what a client could otherwise do with the browser's own powers. */
export const CHECKS = {
  /** A URL the browser loads: file://, chrome://, view-source:file: etc. read the container. */
  url(p: Params): CheckResult {
    const why = urlRefusal(p.url);
    return why ? { refuse: why } : { params: p };
  },
  /**
   * Downloads land only in the session's downloads dir, never in the profile or elsewhere.
   * Browser.setDownloadBehavior that allows downloads always gets `eventsEnabled: true`, so the
   * gateway sees each finished download (and stores it as an artifact at once); the client sees
   * those events only when it asked for them (download-events.ts).
   */
  downloadPath(p: Params, method?: string): CheckResult {
    if (p.behavior === "allow" || p.behavior === "allowAndName") {
      const browser = method === "Browser.setDownloadBehavior";
      return {
        params: { ...p, behavior: "allow", downloadPath: BROWSER_PATHS.downloads, ...(browser ? { eventsEnabled: true } : {}) },
        downloads: { browserEvents: browser, clientEvents: p.eventsEnabled === true },
      };
    }
    const { downloadPath: _ignored, ...rest } = p;
    return { params: rest };
  },
  /** A context proxy ("direct://") would send traffic around the session's egress proxy. */
  noContextProxy(p: Params): CheckResult {
    if ("proxyServer" in p || "proxyBypassList" in p) {
      return { refuse: "proxyServer is not allowed in Target.createBrowserContext (nor proxyBypassList); the session's proxy is set when it is created" };
    }
    return { params: p };
  },
  /**
   * Only flat sessions: their commands come back through this connection (with a sessionId)
   * and pass this policy. A non-flat session is driven by Target.sendMessageToTarget, whose
   * nested message the policy would not see.
   */
  flatSession(p: Params): CheckResult {
    if (p.flatten === true || p.autoAttach === false) return { params: p };
    return { refuse: "only flat sessions are allowed: pass flatten: true" };
  },
  /** Files handed to a page must come from the session's uploads dir, never /etc/passwd. */
  uploadFiles(p: Params): CheckResult {
    const why = uploadsRefusal(p.files);
    return why ? { refuse: why } : { params: p };
  },
  /** Input.dispatchDragEvent: the dragged files, like uploadFiles. */
  dragFiles(p: Params): CheckResult {
    const data = p.data;
    if (data === undefined) return { params: p };
    if (typeof data !== "object" || data === null || Array.isArray(data)) return { refuse: "data must be an object" };
    const why = uploadsRefusal((data as Params).files);
    return why ? { refuse: why } : { params: p };
  },
  /** Chrome-backend tracing only: a Perfetto config or the system backend can write files. */
  tracing(p: Params): CheckResult {
    if ("perfettoConfig" in p) return { refuse: "perfettoConfig is not allowed; use traceConfig" };
    if (p.tracingBackend !== undefined && p.tracingBackend !== "auto" && p.tracingBackend !== "chrome") return { refuse: 'tracingBackend must be "chrome" or "auto"' };
    return { params: p };
  },
} satisfies Record<string, (p: Params) => CheckResult>;
