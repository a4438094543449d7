// The proxy relay: the only proxy a browser is given (`--proxy-server=http://<gateway>:<port>`),
// so credentials never enter a container. It listens on the browser network's bridge gateway,
// knows which session a connection belongs to by its source address (the container's address,
// registered when the session starts; anything else gets 403), and per target host connects
// through the session's proxy, the proxy a route names, or direct — direct only where
// `directAllowed` says the egress guard would let the browser itself go (egress-policy.ts):
// those connections leave from the host, below the packet guard, so the relay must refuse
// exactly what the guard refuses, on the address it is about to dial.
//
// Browser side: `CONNECT host:port` (https, ws, wss) becomes a byte tunnel; an absolute-form
// request (`GET http://host/…`, plain http) is forwarded once with `Connection: close` on both
// sides, so every plain-http request takes a fresh connection and is routed on its own.
// Bytes are counted per session (client → target = sent, target → client = received).
import type { Socket, TCPSocketListener } from "bun";
import type { Logger } from "../../lib/logger";
import type { Route, UpstreamProxy } from "./proxies.service";
import { basicAuth, defaultResolve, dialProxy, openTunnel, UpstreamError, type DirectPolicy, type Target, type TunnelSocket } from "./proxy-upstream";
import { normalizeHost } from "./proxy-url";
import { mayReach, thisHostPolicy, type Reach } from "../../security/egress/egress-policy";

export interface RelayRegistration {
  sessionId: string;
  poolId: string;
  /** The worker the browser runs on: its egress policy governs the session's direct routes. */
  workerId: string | null;
  proxyId: string;
}

export interface RelayErrorEvent {
  code: string;
  target: string;
  message: string;
}

export interface ProxyRelayOptions {
  hostname: string;
  /** 0 or absent: an ephemeral port. */
  port?: number;
  /** Where this session's connection to `host` goes. */
  route(reg: RelayRegistration, host: string): Route;
  /** May this session's browser reach ip:port (a resolved address)? Default: this host's egress policy with nothing allowed. */
  directAllowed?(reg: RelayRegistration, ip: string, port: number): Reach;
  resolve?(host: string): Promise<string[]>;
  /** A connection failed for a reason the session's owner should see (never with credentials). */
  onError?(reg: RelayRegistration, e: RelayErrorEvent): void;
  log: Logger;
  /** Proxy handshakes (CONNECT, SOCKS5) must finish within this. */
  handshakeTimeoutMs?: number;
}

interface Entry {
  ip: string;
  reg: RelayRegistration;
  sent: number;
  received: number;
  clients: Set<ClientSocket>;
}

interface Queue {
  pending: Buffer | null;
}

interface Client {
  phase: "head" | "connecting" | "pipe" | "closed";
  head: Buffer;
  entry?: Entry;
  upstream?: TunnelSocket;
  early: Buffer[];
  toClient: Queue;
  toUpstream: Queue;
  endClientWhenFlushed: boolean;
  /** host:port the browser asked for (for error events). */
  target?: string;
  timer?: ReturnType<typeof setTimeout>;
}

type ClientSocket = Socket<Client>;

const MAX_HEAD = 64 * 1024;
const HEAD_TIMEOUT_MS = 30_000;
const HOP_BY_HOP = /^(proxy-connection|proxy-authorization|connection|keep-alive|proxy-authenticate):/i;

/** Writes what it can; keeps the rest and pauses the source until the destination drains. */
function send(to: Socket<any>, q: Queue, chunk: Buffer, source: Socket<any> | undefined): void {
  if (!chunk.length) return;
  if (q.pending) {
    q.pending = Buffer.concat([q.pending, chunk]);
    return;
  }
  const n = to.write(chunk);
  if (n >= 0 && n < chunk.length) {
    q.pending = Buffer.from(chunk.subarray(n));
    source?.pause();
  }
}

/** On drain: true once nothing is pending (the source is resumed). */
function flush(to: Socket<any>, q: Queue, source: Socket<any> | undefined): boolean {
  if (!q.pending) return true;
  const n = to.write(q.pending);
  if (n >= 0 && n < q.pending.length) {
    q.pending = q.pending.subarray(n);
    return false;
  }
  q.pending = null;
  source?.resume();
  return true;
}

function plainIp(address: string): string {
  return address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");
}

function parseAuthority(text: string): Target | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]\s]+):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return null;
  return { host: normalizeHost(m[1]!), port: Number(m[2]) };
}

export class ProxyRelay {
  private listener: TCPSocketListener<Client> | null = null;
  private readonly bySource = new Map<string, Entry>();
  private readonly bySession = new Map<string, Entry>();

  constructor(private readonly opts: ProxyRelayOptions) {}

  start(): void {
    if (this.listener) return;
    const relay = this;
    this.listener = Bun.listen<Client>({
      hostname: this.opts.hostname,
      port: this.opts.port ?? 0,
      socket: {
        open(s) {
          s.data = { phase: "head", head: Buffer.alloc(0), early: [], toClient: { pending: null }, toUpstream: { pending: null }, endClientWhenFlushed: false };
          const entry = relay.bySource.get(plainIp(s.remoteAddress));
          if (!entry) return relay.reject(s, 403, "Forbidden", "this address belongs to no BrowserGrid session with a proxy");
          s.data.entry = entry;
          entry.clients.add(s);
          s.data.timer = setTimeout(() => s.data.phase === "head" && s.terminate(), HEAD_TIMEOUT_MS);
        },
        data(s, chunk) {
          relay.onClientData(s, chunk);
        },
        drain(s) {
          const c = s.data;
          if (flush(s, c.toClient, c.upstream) && c.endClientWhenFlushed) s.end();
        },
        close(s) {
          const c = s.data;
          if (!c) return;
          c.phase = "closed";
          clearTimeout(c.timer);
          c.entry?.clients.delete(s);
          c.upstream?.end();
        },
        error() {
          // close() follows.
        },
      },
    });
  }

  get port(): number | null {
    return this.listener?.port ?? null;
  }

  get hostname(): string {
    return this.opts.hostname;
  }

  stop(): void {
    for (const e of this.bySession.values()) for (const c of e.clients) c.terminate();
    this.listener?.stop(true);
    this.listener = null;
  }

  /** Connections from `ip` now belong to this session. */
  register(ip: string, reg: RelayRegistration): void {
    const previous = this.bySession.get(reg.sessionId);
    const entry: Entry = previous && previous.ip === ip ? previous : { ip, reg, sent: 0, received: 0, clients: new Set() };
    entry.reg = reg;
    this.bySource.set(ip, entry);
    this.bySession.set(reg.sessionId, entry);
  }

  /** The session ended: its connections are closed; returns its counters not yet taken. */
  unregister(sessionId: string): { sent: number; received: number } | null {
    const e = this.bySession.get(sessionId);
    if (!e) return null;
    this.bySession.delete(sessionId);
    if (this.bySource.get(e.ip) === e) this.bySource.delete(e.ip);
    for (const c of e.clients) c.terminate();
    return { sent: e.sent, received: e.received };
  }

  isRegistered(sessionId: string): boolean {
    return this.bySession.has(sessionId);
  }

  /** Byte counts since the last call, per session with traffic; the counters restart at zero. */
  takeCounts(): { sessionId: string; sent: number; received: number }[] {
    const out: { sessionId: string; sent: number; received: number }[] = [];
    for (const e of this.bySession.values()) {
      if (!e.sent && !e.received) continue;
      out.push({ sessionId: e.reg.sessionId, sent: e.sent, received: e.received });
      e.sent = e.received = 0;
    }
    return out;
  }

  // ---- one browser connection ----------------------------------------------------------

  private onClientData(s: ClientSocket, chunk: Buffer): void {
    const c = s.data;
    if (c.phase === "pipe" && c.upstream) {
      c.entry!.sent += chunk.length;
      return send(c.upstream, c.toUpstream, Buffer.from(chunk), s);
    }
    if (c.phase === "connecting") {
      c.early.push(Buffer.from(chunk));
      s.pause();
      return;
    }
    if (c.phase !== "head") return;
    c.head = Buffer.concat([c.head, chunk]);
    const end = c.head.indexOf("\r\n\r\n");
    if (end < 0) {
      if (c.head.length > MAX_HEAD) this.reject(s, 431, "Request Header Fields Too Large", "request head too large");
      return;
    }
    clearTimeout(c.timer);
    const head = c.head.subarray(0, end).toString("latin1");
    const rest = Buffer.from(c.head.subarray(end + 4));
    c.head = Buffer.alloc(0);
    c.phase = "connecting";
    s.pause();
    void this.handle(s, head, rest).catch((err) => {
      if (c.phase === "closed") return;
      const e = err instanceof UpstreamError ? err : new UpstreamError("protocol", (err as Error).message);
      if (!(err instanceof UpstreamError)) this.opts.log.warn("proxy relay connection failed", { sessionId: c.entry?.reg.sessionId, err });
      this.reject(s, e.code === "blocked" ? 403 : 502, e.code === "blocked" ? "Forbidden" : "Bad Gateway", e.message, e.code);
    });
  }

  private async handle(s: ClientSocket, head: string, rest: Buffer): Promise<void> {
    const c = s.data;
    const entry = c.entry!;
    const lines = head.split("\r\n");
    const [method, target, version] = lines[0]!.split(" ");
    if (!method || !target || !/^HTTP\/1\.[01]$/.test(version ?? "")) return this.reject(s, 400, "Bad Request", "malformed request line");

    if (method.toUpperCase() === "CONNECT") {
      const t = parseAuthority(target);
      if (!t) return this.reject(s, 400, "Bad Request", "CONNECT needs host:port");
      c.target = `${t.host}:${t.port}`;
      const up = await this.tunnel(entry, t);
      if (c.phase === "closed") return void up.terminate();
      s.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      return this.pipe(s, up, Buffer.concat([rest, ...c.early]), false);
    }

    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return this.reject(s, 400, "Bad Request", "only CONNECT and absolute-form http:// requests are relayed");
    }
    if (url.protocol !== "http:") return this.reject(s, 400, "Bad Request", `only http:// URLs are forwarded in absolute form (got ${url.protocol})`);
    const t: Target = { host: normalizeHost(url.hostname), port: Number(url.port || 80) };
    c.target = `${t.host}:${t.port}`;
    const headers = lines.slice(1).filter((l) => l && !HOP_BY_HOP.test(l));
    const route = this.routeOf(entry, t);
    let up: TunnelSocket;
    let requestHead: string;
    if (route.kind === "proxy" && route.proxy.scheme !== "socks5") {
      // Forwarded to the HTTP proxy as it came (absolute form), with the credentials added here.
      up = await dialProxy(route.proxy);
      const auth = basicAuth(route.proxy);
      requestHead = [`${method} ${target} ${version}`, ...headers, ...(auth ? [`Proxy-Authorization: ${auth}`] : []), "Connection: close", "", ""].join("\r\n");
    } else {
      up = await this.open(entry, route, t);
      requestHead = [`${method} ${url.pathname}${url.search} ${version}`, ...headers, "Connection: close", "", ""].join("\r\n");
    }
    if (c.phase === "closed") return void up.terminate();
    const headBytes = Buffer.from(requestHead, "latin1");
    entry.sent += headBytes.length;
    up.write(headBytes);
    this.pipe(s, up, Buffer.concat([rest, ...c.early]), route.kind === "proxy" ? route.proxy : "other");
  }

  private routeOf(entry: Entry, t: Target): Route {
    try {
      return this.opts.route(entry.reg, t.host);
    } catch (err) {
      throw new UpstreamError("unreachable", `the session's proxy is gone: ${(err as Error).message}`);
    }
  }

  private async tunnel(entry: Entry, t: Target): Promise<TunnelSocket> {
    return this.open(entry, this.routeOf(entry, t), t);
  }

  private open(entry: Entry, route: Route, t: Target): Promise<TunnelSocket> {
    const allowed = this.opts.directAllowed ?? ((_reg: RelayRegistration, ip: string, port: number) => mayReach(thisHostPolicy(), ip, port));
    const direct: DirectPolicy = { check: (ip, port) => allowed(entry.reg, ip, port), resolve: this.opts.resolve ?? defaultResolve };
    return openTunnel(route.kind === "proxy" ? route.proxy : null, t, direct, this.opts.handshakeTimeoutMs ?? 15_000);
  }

  /**
   * Joins browser and target. `rewrite` set: the answer to a forwarded plain-http request, whose
   * head gets `Connection: close` (and whose 407 from the user's proxy becomes a 502: the browser
   * must never be asked for proxy credentials).
   */
  private pipe(s: ClientSocket, up: TunnelSocket, early: Buffer, rewrite: false | UpstreamProxy | "other"): void {
    const c = s.data;
    const entry = c.entry!;
    c.upstream = up;
    c.early = [];
    c.phase = "pipe";
    let head: Buffer | null = rewrite ? Buffer.alloc(0) : null;
    const toClient = (chunk: Buffer) => {
      entry.received += chunk.length;
      send(s, c.toClient, chunk, up);
    };
    const fromUpstream = (chunk: Buffer) => {
      if (c.phase === "closed") return;
      if (!head) return toClient(Buffer.from(chunk));
      head = Buffer.concat([head, chunk]);
      for (;;) {
        const end: number = head.indexOf("\r\n\r\n");
        if (end < 0) {
          if (head.length > MAX_HEAD) this.reject(s, 502, "Bad Gateway", "the target's response head is too large");
          return;
        }
        const lines = head.subarray(0, end).toString("latin1").split("\r\n");
        const rest: Buffer = head.subarray(end + 4);
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)?.[1] ?? NaN);
        if (status === 407 && typeof rewrite === "object") {
          return this.reject(s, 502, "Bad Gateway", `Proxy "${rewrite.name}" rejected the credentials (407 Proxy Authentication Required)`, "auth_failed");
        }
        const out = [lines[0]!, ...lines.slice(1).filter((l) => !HOP_BY_HOP.test(l)), ...(status >= 100 && status < 200 ? [] : ["Connection: close"]), "", ""].join("\r\n");
        toClient(Buffer.from(out, "latin1"));
        if (status >= 100 && status < 200 && status !== 101) {
          head = Buffer.from(rest);
          continue;
        }
        head = null;
        return toClient(Buffer.from(rest));
      }
    };
    up.data.onData = fromUpstream;
    up.data.onDrain = () => void flush(up, c.toUpstream, s);
    up.data.onClose = () => {
      if (c.phase === "closed") return;
      if (c.toClient.pending) c.endClientWhenFlushed = true;
      else s.end();
    };
    const buffered = up.data.buf;
    up.data.buf = Buffer.alloc(0);
    if (buffered.length) fromUpstream(buffered);
    if (early.length) {
      entry.sent += early.length;
      send(up, c.toUpstream, early, s);
    }
    if (up.data.closed) up.data.onClose();
    s.resume();
  }

  /** Answers the browser with an error page and closes; also reported as a session event. */
  private reject(s: ClientSocket, status: number, reason: string, message: string, code?: string): void {
    const c = s.data;
    if (c.entry && status !== 400 && status !== 431) this.opts.onError?.(c.entry.reg, { code: code ?? "upstream_failed", target: c.target ?? "", message });
    const body = `BrowserGrid proxy relay: ${message}\n`;
    if (c.phase !== "closed") s.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    c.phase = "closed";
    c.upstream?.terminate();
  }
}
