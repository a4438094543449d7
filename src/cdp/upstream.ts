// The gateway's own minimal WebSocket client handshake to Chromium over a raw Bun.connect
// socket, and discovery of the browser's WebSocket path.
//
// Chromium refuses `/json/*` when the Host header is a name, and refuses WebSocket upgrades that
// carry an Origin header unless started with --remote-allow-origins (which BrowserGrid never
// does): we send Host 127.0.0.1:<port>, no Origin, and no permessage-deflate offer (compression
// halves large-frame throughput).
import type { CdpTarget } from "./types";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export function handshakeRequest(path: string, port: number): { request: string; accept: string } {
  const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
  const accept = new Bun.CryptoHasher("sha1").update(key + GUID).digest("base64");
  const request =
    `GET ${path} HTTP/1.1\r\n` +
    `Host: 127.0.0.1:${port}\r\n` +
    "Upgrade: websocket\r\n" +
    "Connection: Upgrade\r\n" +
    `Sec-WebSocket-Key: ${key}\r\n` +
    "Sec-WebSocket-Version: 13\r\n\r\n";
  return { request, accept };
}

/**
 * Checks a complete handshake response head (up to the blank line). Returns null when it is a
 * valid 101 with the expected accept value, else a short reason.
 */
export function checkHandshakeResponse(head: string, accept: string): string | null {
  const statusLine = head.slice(0, head.indexOf("\r\n"));
  const status = Number(statusLine.split(" ")[1]);
  if (status !== 101) return `browser answered the upgrade with HTTP ${Number.isFinite(status) ? status : "?"}`;
  const m = /\r\nsec-websocket-accept:\s*([^\r\n]+)/i.exec(head);
  if (!m || m[1]!.trim() !== accept) return "browser handshake has a wrong Sec-WebSocket-Accept";
  if (/\r\nsec-websocket-extensions:/i.test(head)) return "browser negotiated an extension that was not offered";
  return null;
}

export class UpstreamHttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** GET a DevTools HTTP endpoint of the browser (`/json/version`, `/json/list`, …). */
export async function fetchDevtoolsJson(target: Pick<CdpTarget, "cdp">, path: string, timeoutMs: number): Promise<Response> {
  const { host, port } = target.cdp;
  const hostPart = host.includes(":") ? `[${host}]` : host;
  let res: Response;
  try {
    res = await fetch(`http://${hostPart}:${port}${path}`, {
      headers: { host: `127.0.0.1:${port}` },
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
    });
  } catch (err) {
    throw new UpstreamHttpError(`browser DevTools endpoint unreachable: ${(err as Error).message}`, 502);
  }
  if (!res.ok) throw new UpstreamHttpError(`browser DevTools endpoint answered HTTP ${res.status}`, 502);
  return res;
}

/**
 * The browser-level WebSocket path (`/devtools/browser/<uuid>`) per host:port, cached: it lives
 * as long as the browser process. A stale entry (browser restarted on the same address) fails
 * the handshake; callers then forget it and ask again. One table per process: whoever starts a
 * browser hands the path its provider read (StartedBrowser.browserPath) to rememberBrowserPath,
 * so the first client of a session skips the /json/version round trip (3–13 ms measured).
 */
const knownPaths = new Map<string, string>();

/** The browser at `at` (the address this process connects to) has this browser WebSocket path; anything else is ignored. */
export function rememberBrowserPath(at: CdpTarget["cdp"], path: string): void {
  if (!path.startsWith("/devtools/browser/") || /[\s?#]/.test(path)) return;
  if (knownPaths.size > 10_000) knownPaths.clear();
  knownPaths.set(`${at.host}:${at.port}`, path);
}

/** The browser WebSocket path at an address: remembered, else asked of /json/version (and remembered). */
export async function browserPath(at: CdpTarget["cdp"], timeoutMs: number): Promise<{ path: string; cached: boolean }> {
  const key = `${at.host}:${at.port}`;
  const hit = knownPaths.get(key);
  if (hit) return { path: hit, cached: true };
  const res = await fetchDevtoolsJson({ cdp: at }, "/json/version", timeoutMs);
  const url = ((await res.json()) as { webSocketDebuggerUrl?: string }).webSocketDebuggerUrl;
  const reported = url ? pathOfUrl(url) : undefined;
  if (reported) rememberBrowserPath(at, reported);
  const path = knownPaths.get(key);
  if (!path) throw new UpstreamHttpError("browser /json/version has no browser WebSocket URL", 502);
  return { path, cached: false };
}

/** A remembered path was refused (the browser at that address changed): ask again next time. */
export function forgetBrowserPath(at: CdpTarget["cdp"]): void {
  knownPaths.delete(`${at.host}:${at.port}`);
}

function pathOfUrl(url: string): string | undefined {
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}
