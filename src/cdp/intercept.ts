// Which client→browser commands the gateway answers or refuses itself.
//
// Every client message passes here, so the common case costs a few substring searches and no
// JSON.parse. A message is parsed only when it may concern the gateway:
// - `BrowserGrid.*` commands are answered locally and never reach Chromium;
// - `Target.createBrowserContext` with `proxyServer` is refused: with it a CDP client could send
//   a context's traffic around the grid's egress proxy (e.g. "direct://").
// - `Browser/Page.setDownloadBehavior` gets its `downloadPath` pinned to the browser's downloads
//   directory: a client must not make Chromium write files anywhere else in the container (into
//   the profile, say), and files there become the session's artifacts. "allowAndName" becomes
//   "allow", so artifacts keep their real names (the client's file system is not the browser's).
// - `Page.navigate` and `Target.createTarget` may only open http(s), about:, data: and blob:
//   URLs: `file:///etc/passwd` (the container's files), `view-source:file:…`, `chrome://`,
//   `devtools://` and the like are refused. Pages themselves cannot open file: URLs (Chromium
//   refuses a web page's navigation, redirect, iframe or window.open to file:), and the browser
//   image's policy blocks file:// as a second wall; CDP is the one door left, and this closes it.
// Threat: a client hiding the method name from the substring search with JSON escapes
// ("createBrowserConte\u0078t") or duplicate keys. Any `\u` escape also triggers parsing, and a
// parsed message that is forwarded is re-serialised, so Chromium executes exactly what was
// checked here.

export type Interception =
  | { kind: "domain"; id: unknown; sessionId?: string; method: string; params: unknown }
  | { kind: "refuse"; id: unknown; sessionId?: string; code: number; message: string }
  | { kind: "forward"; text: string; downloads?: true };

const DOMAIN_MARK = '"BrowserGrid.';
const CONTEXT_MARK = "createBrowserContext";
const ESCAPE_MARK = "\\u";
const DOWNLOAD_MARK = "setDownloadBehavior";
const NAVIGATE_MARK = "Page.navigate";
const CREATE_TARGET_MARK = "Target.createTarget";
const ALLOWED_SCHEMES = new Set(["http:", "https:", "about:", "data:", "blob:"]);
/** Where downloads land in a browser container (BROWSER_PATHS.downloads). */
export const DOWNLOADS_DIR = "/home/browser/downloads";

/** null: forward the message unchanged (the hot path). */
export function interceptClientMessage(text: string): Interception | null {
  if (
    !text.includes(DOMAIN_MARK) &&
    !text.includes(CONTEXT_MARK) &&
    !text.includes(ESCAPE_MARK) &&
    !text.includes(DOWNLOAD_MARK) &&
    !text.includes(NAVIGATE_MARK) &&
    !text.includes(CREATE_TARGET_MARK)
  )
    return null;
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return null; // Chromium answers malformed JSON itself
  }
  if (typeof msg !== "object" || msg === null || Array.isArray(msg)) return null;
  const m = msg as { id?: unknown; method?: unknown; params?: unknown; sessionId?: unknown };
  const sessionId = typeof m.sessionId === "string" ? m.sessionId : undefined;
  if (typeof m.method === "string" && m.method.startsWith("BrowserGrid.")) {
    return { kind: "domain", id: m.id, sessionId, method: m.method, params: m.params ?? {} };
  }
  if (m.method === "Target.createBrowserContext" && typeof m.params === "object" && m.params !== null && "proxyServer" in m.params) {
    return {
      kind: "refuse",
      id: m.id,
      sessionId,
      code: -32000,
      message: "BrowserGrid: proxyServer is not allowed in Target.createBrowserContext; the session's proxy is set when it is created.",
    };
  }
  if ((m.method === "Page.navigate" || m.method === "Target.createTarget") && typeof m.params === "object" && m.params !== null) {
    const url = (m.params as { url?: unknown }).url;
    const refused = typeof url === "string" ? refusedUrl(url) : null;
    if (refused) return { kind: "refuse", id: m.id, sessionId, code: -32000, message: `BrowserGrid: ${m.method} to ${refused} is not allowed; sessions open http(s), about:, data: and blob: URLs only.` };
  }
  if ((m.method === "Browser.setDownloadBehavior" || m.method === "Page.setDownloadBehavior") && typeof m.params === "object" && m.params !== null) {
    const p = m.params as Record<string, unknown>;
    if (p.behavior === "allow" || p.behavior === "allowAndName") {
      m.params = { ...p, behavior: "allow", downloadPath: DOWNLOADS_DIR };
      return { kind: "forward", text: JSON.stringify(msg), downloads: true };
    }
  }
  return { kind: "forward", text: JSON.stringify(msg) };
}

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

/** The reply frame text for a locally answered command. */
export function cdpResult(id: unknown, sessionId: string | undefined, result: unknown): string {
  return JSON.stringify(sessionId === undefined ? { id, result: result ?? {} } : { id, result: result ?? {}, sessionId });
}

export function cdpError(id: unknown, sessionId: string | undefined, code: number, message: string): string {
  const error = { code, message };
  return JSON.stringify(sessionId === undefined ? { id, error } : { id, error, sessionId });
}
