// Chromium's HTTP discovery endpoints (/json/version, /json/list, /json/protocol) answered for a
// session, with every WebSocket URL pointing back at the gateway. CDP clients given an http://
// URL (Playwright connectOverCDP, connect_over_cdp) read webSocketDebuggerUrl from here.
// Frontend URLs are removed: they would point at the browser's own port, which is never public.
import { fetchDevtoolsJson } from "./upstream";
import type { CdpTarget } from "./types";

export type DiscoveryKind = "version" | "list" | "protocol";

export interface PublicBase {
  /** ws: or wss: */
  wsProtocol: string;
  /** host[:port] plus any path prefix, no trailing slash. */
  authorityAndPrefix: string;
}

export function publicBase(publicUrl: string | undefined, req: Request): PublicBase {
  const u = new URL(publicUrl ?? req.url);
  const prefix = publicUrl ? u.pathname.replace(/\/+$/, "") : "";
  return { wsProtocol: u.protocol === "https:" || u.protocol === "wss:" ? "wss:" : "ws:", authorityAndPrefix: u.host + prefix };
}

export function sessionWsUrl(base: PublicBase, sessionId: string, token: string, pagePath = ""): string {
  return `${base.wsProtocol}//${base.authorityAndPrefix}/cdp/${encodeURIComponent(sessionId)}${pagePath}?token=${encodeURIComponent(token)}`;
}

const json = (body: unknown) => new Response(JSON.stringify(body, null, 2), { headers: { "content-type": "application/json; charset=UTF-8" } });

export async function answerDiscovery(kind: DiscoveryKind, target: CdpTarget, base: PublicBase, sessionId: string, token: string, timeoutMs: number): Promise<Response> {
  if (kind === "protocol") {
    const res = await fetchDevtoolsJson(target, "/json/protocol", timeoutMs);
    return new Response(res.body, { headers: { "content-type": "application/json; charset=UTF-8" } });
  }
  if (kind === "version") {
    const res = await fetchDevtoolsJson(target, "/json/version", timeoutMs);
    const info = (await res.json()) as Record<string, unknown>;
    info.webSocketDebuggerUrl = sessionWsUrl(base, sessionId, token);
    return json(info);
  }
  const res = await fetchDevtoolsJson(target, "/json/list", timeoutMs);
  const targets = (await res.json()) as Record<string, unknown>[];
  const out = targets.map((t) => {
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(t)) if (!k.startsWith("devtoolsFrontendUrl")) copy[k] = v;
    if (typeof t.webSocketDebuggerUrl === "string" && typeof t.id === "string") {
      copy.webSocketDebuggerUrl = sessionWsUrl(base, sessionId, token, `/devtools/page/${encodeURIComponent(t.id)}`);
    } else delete copy.webSocketDebuggerUrl;
    return copy;
  });
  return json(out);
}

/** /connect/json/version: no session exists yet; it is created when the WebSocket opens. */
export function answerQuickConnectVersion(base: PublicBase, search: string): Response {
  return json({
    Browser: "BrowserGrid (quick connect)",
    "Protocol-Version": "1.3",
    webSocketDebuggerUrl: `${base.wsProtocol}//${base.authorityAndPrefix}/connect${search}`,
  });
}
