// Which client→browser commands the gateway answers or refuses itself.
//
// Every client message passes here, so the common case costs a few substring searches and no
// JSON.parse. A message is parsed only when it may concern the gateway:
// - `BrowserGrid.*` commands are answered locally and never reach Chromium;
// - `Target.createBrowserContext` with `proxyServer` is refused: with it a CDP client could send
//   a context's traffic around the grid's egress proxy (e.g. "direct://").
// Threat: a client hiding the method name from the substring search with JSON escapes
// ("createBrowserConte\u0078t") or duplicate keys. Any `\u` escape also triggers parsing, and a
// parsed message that is forwarded is re-serialised, so Chromium executes exactly what was
// checked here.

export type Interception =
  | { kind: "domain"; id: unknown; sessionId?: string; method: string; params: unknown }
  | { kind: "refuse"; id: unknown; sessionId?: string; code: number; message: string }
  | { kind: "forward"; text: string };

const DOMAIN_MARK = '"BrowserGrid.';
const CONTEXT_MARK = "createBrowserContext";
const ESCAPE_MARK = "\\u";

/** null: forward the message unchanged (the hot path). */
export function interceptClientMessage(text: string): Interception | null {
  if (!text.includes(DOMAIN_MARK) && !text.includes(CONTEXT_MARK) && !text.includes(ESCAPE_MARK)) return null;
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
  return { kind: "forward", text: JSON.stringify(msg) };
}

/** The reply frame text for a locally answered command. */
export function cdpResult(id: unknown, sessionId: string | undefined, result: unknown): string {
  return JSON.stringify(sessionId === undefined ? { id, result: result ?? {} } : { id, result: result ?? {}, sessionId });
}

export function cdpError(id: unknown, sessionId: string | undefined, code: number, message: string): string {
  const error = { code, message };
  return JSON.stringify(sessionId === undefined ? { id, error } : { id, error, sessionId });
}
