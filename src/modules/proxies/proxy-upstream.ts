// The relay's outgoing side: a TCP (or TLS) connection to a target, either through the user's
// proxy — HTTP `CONNECT` with Basic credentials, or SOCKS5 (RFC 1928) with username/password
// (RFC 1929), always sending the name so the proxy resolves it — or direct. Direct connections
// leave from the BrowserGrid host, below no packet filter, so the name is resolved here and the
// address actually dialled is the one that was checked (no rebinding between check and connect).
// Credentials only ever go to the proxy; error messages carry names, targets and statuses only.
import type { Socket, SocketHandler } from "bun";
import { isIP } from "node:net";
import { lookup } from "node:dns/promises";
import type { UpstreamProxy } from "./proxies.service";
import type { Reach } from "../../security/egress/egress-policy";

export type UpstreamErrorCode = "auth_failed" | "unreachable" | "refused" | "blocked" | "protocol";

export class UpstreamError extends Error {
  constructor(
    readonly code: UpstreamErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Per-socket state: bytes buffered during a handshake, then the pipe's callbacks. */
export interface TunnelData {
  buf: Buffer;
  waiter: (() => void) | null;
  closed: boolean;
  onData?: (chunk: Buffer) => void;
  onDrain?: () => void;
  onClose?: () => void;
}

export type TunnelSocket = Socket<TunnelData>;

const HANDLERS: SocketHandler<TunnelData> = {
  data(s, chunk) {
    if (s.data.onData) return s.data.onData(chunk);
    s.data.buf = s.data.buf.length ? Buffer.concat([s.data.buf, chunk]) : Buffer.from(chunk);
    s.data.waiter?.();
  },
  drain(s) {
    s.data.onDrain?.();
  },
  close(s) {
    s.data.closed = true;
    s.data.waiter?.();
    s.data.onClose?.();
  },
  error() {
    // close() follows and reports it.
  },
};

export interface Target {
  host: string;
  port: number;
}

export interface DirectPolicy {
  /** May this session's browser reach ip:port directly? When it may, the address to dial. */
  check(ip: string, port: number): Reach;
  resolve(host: string): Promise<string[]>;
}

/** IPv4 first: browsers have no IPv6 path, and the relay keeps to the same addresses. */
export const defaultResolve = async (host: string): Promise<string[]> =>
  (await lookup(host, { all: true }))
    .sort((a, b) => a.family - b.family)
    .map((a) => a.address);

const hostPort = (t: Target) => `${t.host.includes(":") ? `[${t.host}]` : t.host}:${t.port}`;

const DIAL_TIMEOUT_MS = 10_000;

async function dial(host: string, port: number, tls: boolean, what: string): Promise<TunnelSocket> {
  const connecting = Bun.connect<TunnelData>({ hostname: host, port, ...(tls ? { tls: { serverName: isIP(host) ? undefined : host } } : {}), data: { buf: Buffer.alloc(0), waiter: null, closed: false }, socket: HANDLERS });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UpstreamError("unreachable", `${what} ${hostPort({ host, port })} did not accept a connection within ${DIAL_TIMEOUT_MS / 1000} s`)), DIAL_TIMEOUT_MS);
  });
  try {
    return await Promise.race([connecting, timeout]);
  } catch (err) {
    void connecting.then((s) => s.terminate()).catch(() => {});
    if (err instanceof UpstreamError) throw err;
    throw new UpstreamError("unreachable", `${what} ${hostPort({ host, port })} did not accept a connection (${(err as { code?: string }).code ?? (err as Error).message})`);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once `ready()` holds for the bytes buffered so far; rejects when the socket closes first. */
function until(s: TunnelSocket, ready: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (ready()) {
        s.data.waiter = null;
        resolve();
      } else if (s.data.closed) {
        s.data.waiter = null;
        reject(new UpstreamError("protocol", `${what} closed the connection during the handshake`));
      }
    };
    s.data.waiter = check;
    check();
  });
}

function take(s: TunnelSocket, n: number): Buffer {
  const out = s.data.buf.subarray(0, n);
  s.data.buf = s.data.buf.subarray(n);
  return out;
}

/** Bounds a handshake in time: on expiry the socket is closed and the error says who was slow. */
async function withDeadline<T>(s: TunnelSocket, ms: number, what: string, work: Promise<T>): Promise<T> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    s.terminate();
  }, ms);
  try {
    return await work;
  } catch (err) {
    if (timedOut) throw new UpstreamError("unreachable", `${what} did not answer within ${Math.round(ms / 1000)} s`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

export function basicAuth(p: UpstreamProxy): string | null {
  return p.username !== undefined ? `Basic ${Buffer.from(`${p.username}:${p.password ?? ""}`).toString("base64")}` : null;
}

const proxyLabel = (p: UpstreamProxy) => `Proxy "${p.name}"`;

/** Reads an HTTP response head (status and raw head) from a socket in handshake mode. */
async function readHead(s: TunnelSocket, what: string): Promise<{ status: number; statusLine: string }> {
  let end = -1;
  await until(s, () => (end = s.data.buf.indexOf("\r\n\r\n")) >= 0 || s.data.buf.length > 16384, what);
  if (end < 0) throw new UpstreamError("protocol", `${what} sent an oversized or malformed answer`);
  const head = take(s, end + 4).toString("latin1");
  const statusLine = head.slice(0, head.indexOf("\r\n"));
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
  if (!Number.isFinite(status)) throw new UpstreamError("protocol", `${what} did not answer like an HTTP proxy`);
  return { status, statusLine: statusLine.slice(0, 120).replace(/[^\x20-\x7e]/g, "?") };
}

async function httpConnect(s: TunnelSocket, p: UpstreamProxy, t: Target): Promise<void> {
  const auth = basicAuth(p);
  s.write(`CONNECT ${hostPort(t)} HTTP/1.1\r\nHost: ${hostPort(t)}\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ""}\r\n`);
  const { status, statusLine } = await readHead(s, proxyLabel(p));
  if (status === 407)
    throw new UpstreamError("auth_failed", p.username !== undefined ? `${proxyLabel(p)} rejected the credentials (407 Proxy Authentication Required)` : `${proxyLabel(p)} requires credentials (407 Proxy Authentication Required)`);
  if (status < 200 || status > 299) throw new UpstreamError("refused", `${proxyLabel(p)} refused CONNECT ${hostPort(t)}: ${statusLine}`);
}

const SOCKS_REPLIES: Record<number, string> = {
  1: "general failure",
  2: "connection not allowed by ruleset",
  3: "network unreachable",
  4: "host unreachable",
  5: "connection refused",
  6: "TTL expired",
  7: "command not supported",
  8: "address type not supported",
};

async function socksAuth(s: TunnelSocket, p: UpstreamProxy): Promise<void> {
  const what = proxyLabel(p);
  const creds = p.username !== undefined;
  s.write(Buffer.from(creds ? [5, 2, 0, 2] : [5, 1, 0]));
  await until(s, () => s.data.buf.length >= 2, what);
  const [ver, method] = take(s, 2);
  if (ver !== 5) throw new UpstreamError("protocol", `${what} did not answer like a SOCKS5 proxy`);
  if (method === 0xff) throw new UpstreamError("auth_failed", creds ? `${what} accepts none of the offered authentication methods` : `${what} requires credentials (no acceptable SOCKS5 authentication method)`);
  if (method === 0) return;
  if (method !== 2 || !creds) throw new UpstreamError("protocol", `${what} chose an unsupported SOCKS5 authentication method (${method})`);
  const u = Buffer.from(p.username!);
  const pw = Buffer.from(p.password ?? "");
  s.write(Buffer.concat([Buffer.from([1, u.length]), u, Buffer.from([pw.length]), pw]));
  await until(s, () => s.data.buf.length >= 2, what);
  const [, status] = take(s, 2);
  if (status !== 0) throw new UpstreamError("auth_failed", `${what} rejected the credentials (SOCKS5 username/password authentication failed)`);
}

async function socksConnect(s: TunnelSocket, p: UpstreamProxy, t: Target): Promise<void> {
  const what = proxyLabel(p);
  const v = isIP(t.host);
  let addr: Buffer;
  if (v === 4) addr = Buffer.from([1, ...t.host.split(".").map(Number)]);
  else if (v === 6) {
    const b = Buffer.alloc(17);
    b[0] = 4;
    const groups = expandV6(t.host);
    groups.forEach((g, i) => b.writeUInt16BE(g, 1 + i * 2));
    addr = b;
  } else {
    // ATYP 3: the proxy resolves the name (no lookup from here, no leak of what is visited).
    const name = Buffer.from(t.host);
    if (name.length > 255) throw new UpstreamError("protocol", `host name too long for SOCKS5`);
    addr = Buffer.concat([Buffer.from([3, name.length]), name]);
  }
  s.write(Buffer.concat([Buffer.from([5, 1, 0]), addr, Buffer.from([t.port >> 8, t.port & 0xff])]));
  let need = 5;
  await until(
    s,
    () => {
      const b = s.data.buf;
      if (b.length < 5) return false;
      need = b[3] === 1 ? 10 : b[3] === 4 ? 22 : b[3] === 3 ? 7 + b[4]! : 5;
      return b.length >= need;
    },
    what,
  );
  const reply = take(s, need);
  if (reply[0] !== 5) throw new UpstreamError("protocol", `${what} sent a malformed SOCKS5 reply`);
  if (reply[1] !== 0) throw new UpstreamError("refused", `${what} could not connect to ${hostPort(t)}: ${SOCKS_REPLIES[reply[1]!] ?? `SOCKS5 error ${reply[1]}`}`);
}

function expandV6(ip: string): number[] {
  const [head, tail] = ip.includes("::") ? ip.split("::") : [ip, ""];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  return [...h, ...new Array(8 - h.length - t.length).fill("0"), ...t].map((g) => parseInt(g, 16));
}

/** A connection to the proxy itself (for absolute-form forwarding through an HTTP proxy). */
export async function dialProxy(p: UpstreamProxy): Promise<TunnelSocket> {
  return dial(p.host, p.port, p.scheme === "https", proxyLabel(p));
}

/**
 * A byte stream to `target` through `via` (a proxy) or direct. Bytes that arrived after the
 * handshake stay in `socket.data.buf` for the caller to forward first.
 */
export async function openTunnel(via: UpstreamProxy | null, target: Target, direct: DirectPolicy, timeoutMs: number): Promise<TunnelSocket> {
  if (!via) return openDirect(target, direct);
  const s = await dialProxy(via);
  try {
    await withDeadline(
      s,
      timeoutMs,
      proxyLabel(via),
      via.scheme === "socks5" ? socksAuth(s, via).then(() => socksConnect(s, via, target)) : httpConnect(s, via, target),
    );
    return s;
  } catch (err) {
    s.terminate();
    throw err;
  }
}

async function openDirect(target: Target, direct: DirectPolicy): Promise<TunnelSocket> {
  let addresses: string[];
  try {
    addresses = isIP(target.host) ? [target.host] : await direct.resolve(target.host);
  } catch {
    throw new UpstreamError("unreachable", `${target.host} does not resolve`);
  }
  // The address dialled is the one checked: a name cannot rebind between check and connect.
  let refused: string | null = null;
  for (const a of addresses) {
    const reach = direct.check(a, target.port);
    if (reach.ok) return dial(reach.address, target.port, false, "target");
    refused ??= reach.reason;
  }
  const shown = addresses[0] && addresses[0] !== target.host ? ` (${addresses[0]})` : "";
  throw new UpstreamError("blocked", `direct connection to ${hostPort(target)}${shown} refused: ${refused ?? "the name has no address"}; the egress guard refuses it too`);
}

/**
 * Checks that a proxy answers and takes its credentials, before a session depends on it: the
 * SOCKS5 username/password exchange, or an HTTP(S) proxy's answer to CONNECT for a name that can
 * never resolve (.invalid, RFC 6761) so nothing is actually contacted. 407 = wrong credentials;
 * any other answer means they were accepted.
 */
export async function checkProxy(p: UpstreamProxy, timeoutMs: number): Promise<void> {
  const s = await dialProxy(p);
  try {
    await withDeadline(
      s,
      timeoutMs,
      proxyLabel(p),
      p.scheme === "socks5"
        ? socksAuth(s, p)
        : httpConnect(s, p, { host: "credentials-check.browsergrid.invalid", port: 443 }).catch((err) => {
            if (err instanceof UpstreamError && err.code === "refused") return;
            throw err;
          }),
    );
  } finally {
    s.terminate();
  }
}
