// Shared set-up for the gateway tests: the real server entry (listen + UpgradeHandler) with the
// gateway, fake session hooks pointing at a real host Chromium, a static page server, and a raw
// WebSocket client that can stop reading or send hand-made frames.
import type { Socket } from "bun";
import type { App } from "../http/app";
import { listen } from "../http/server";
import { NotFound, Unauthorized } from "../lib/errors";
import { FrameReader, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT, clientFrame, serverFrame } from "./frames";
import { createGateway, type Gateway } from "./gateway";
import { CdpError, type CdpTarget, type GatewayOptions } from "./types";

export interface Fixture {
  gw: Gateway;
  port: number;
  /** http://127.0.0.1:<port> */
  base: string;
  pageUrl: string;
  log: { clients: [string, number][]; activity: string[]; quick: { apiKey: string; params: string }[]; domain: string[] };
  addSession(id: string, token: string, cdp: { host: string; port: number }): void;
  stop(): Promise<void>;
}

export const PAGE_HTML = `<!doctype html><html><head><title>BrowserGrid test page</title></head><body><h1 id="h">Hello from the test page</h1><canvas id="c" width="800" height="600"></canvas>
<script>const g=document.getElementById('c').getContext('2d');for(let i=0;i<400;i++){g.fillStyle='hsl('+(i*37%360)+',70%,50%)';g.fillRect((i*53)%800,(i*97)%600,40,40);}</script></body></html>`;

export async function startFixture(cdp: { host: string; port: number } | null, options: Partial<GatewayOptions> = {}): Promise<Fixture> {
  const sessions = new Map<string, { token: string; target: CdpTarget }>();
  const log: Fixture["log"] = { clients: [], activity: [], quick: [], domain: [] };
  let quickSeq = 0;
  const gw = createGateway({
    ...options,
    hooks: {
      async authorize(sessionId, token) {
        const s = sessions.get(sessionId);
        if (!s) throw new NotFound(`Session ${sessionId}`);
        return s.token === token ? s.target : null;
      },
      async quickConnect(apiKey, params) {
        log.quick.push({ apiKey, params: params.toString() });
        if (apiKey !== "bg_good_key" || !cdp) throw new Unauthorized("Invalid, revoked or expired API key.");
        await Bun.sleep(50); // a session being created
        const id = `quick${++quickSeq}`;
        const target = { sessionId: id, cdp };
        sessions.set(id, { token: "unused", target });
        return target;
      },
      sessionForToken(token) {
        for (const [id, s] of sessions) if (s.token === token) return id;
        return null;
      },
      async verifyApiKey(apiKey) {
        return apiKey === "bg_good_key";
      },
      onClientsChanged(sessionId, count) {
        log.clients.push([sessionId, count]);
      },
      onActivity(sessionId) {
        log.activity.push(sessionId);
      },
      async handleDomainCommand(sessionId, method, params) {
        log.domain.push(method);
        if (method === "BrowserGrid.getSessionInfo") return { id: sessionId, status: "running", echo: params };
        if (method === "BrowserGrid.liveURL") return { error: "Live view is not enabled." };
        throw new CdpError(`'${method}' wasn't found`);
      },
      ...options.hooks,
    },
  });
  const app = { fetch: () => new Response("not found", { status: 404 }) } as unknown as App;
  const server = listen({ host: "127.0.0.1", port: 0, app, upgrade: gw });
  const pages = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(PAGE_HTML, { headers: { "content-type": "text/html" } }) });
  return {
    gw,
    port: server.port!,
    base: `http://127.0.0.1:${server.port}`,
    pageUrl: `http://127.0.0.1:${pages.port}/`,
    log,
    addSession(id, token, target) {
      sessions.set(id, { token, target: { sessionId: id, cdp: target } });
    },
    async stop() {
      gw.shutdown();
      server.stop(true);
      pages.stop(true);
    },
  };
}

/** A CDP client over a Bun WebSocket that matches replies to ids and records everything. */
export class CdpSocket {
  readonly messages: Record<string, unknown>[] = [];
  private waiters = new Map<unknown, (m: Record<string, unknown>) => void>();
  closed: Promise<{ code: number; reason: string }>;
  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      const m = JSON.parse(String(e.data)) as Record<string, unknown>;
      this.messages.push(m);
      const w = this.waiters.get(m.id);
      if (w && !("method" in m)) {
        this.waiters.delete(m.id);
        w(m);
      }
    };
    this.closed = new Promise((r) => ws.addEventListener("close", (e) => r({ code: e.code, reason: e.reason })));
  }
  static async open(url: string): Promise<CdpSocket> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error(`WebSocket to ${url.replace(/token=[^&]*/, "token=…")} failed`));
    });
    return new CdpSocket(ws);
  }
  send(msg: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(msg));
  }
  call(msg: Record<string, unknown>, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no reply to ${String(msg.method)} #${String(msg.id)}`)), timeoutMs);
      this.waiters.set(msg.id, (m) => {
        clearTimeout(t);
        resolve(m);
      });
      this.send(msg);
    });
  }
  close(): void {
    this.ws.close();
  }
}

/** A WebSocket client on a raw TCP socket: sees the HTTP status, can stop reading, send any frame. */
export class RawClient {
  status = 0;
  head = "";
  readonly messages: string[] = [];
  closeCode: number | null = null;
  private buf = "";
  private readonly reader = new FrameReader(
    {
      onMessage: (p) => this.messages.push(p.toString()),
      onControl: (op, p) => {
        if (op === 0x8) this.closeCode = p.length >= 2 ? p.readUInt16BE(0) : 1005;
      },
      onProtocolError: () => {},
    },
    1 << 30,
  );
  socket!: Socket<RawClient>;
  private headDone = Promise.withResolvers<void>();
  ended = false;

  static async open(port: number, path: string, headers: Record<string, string> = {}): Promise<RawClient> {
    const c = new RawClient();
    c.socket = await Bun.connect<RawClient>({
      hostname: "127.0.0.1",
      port,
      data: c,
      socket: {
        data(s, d) {
          s.data.onData(d);
        },
        close(s) {
          s.data.ended = true;
          s.data.headDone.resolve();
        },
      },
    });
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    c.socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    );
    await c.headDone.promise;
    return c;
  }

  private onData(d: Buffer): void {
    if (this.status === 0) {
      this.buf += d.toString("latin1");
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      this.head = this.buf.slice(0, end);
      this.status = Number(this.head.split(" ")[1]);
      const rest = Buffer.from(this.buf.slice(end + 4), "latin1");
      this.buf = "";
      this.headDone.resolve();
      if (this.status === 101 && rest.length) this.reader.push(rest);
      else if (rest.length) this.head += "\r\n\r\n" + rest.toString();
      return;
    }
    if (this.status === 101) this.reader.push(d);
    else this.head += d.toString();
  }

  send(text: string): void {
    this.socket.write(clientFrame(OP_TEXT, Buffer.from(text)));
  }

  async waitFor(pred: () => boolean, timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > end) throw new Error("timed out waiting");
      await Bun.sleep(5);
    }
  }
}

/**
 * A scripted stand-in for Chromium on a raw TCP port: /json/version, the WebSocket handshake,
 * and frames written exactly as a test wants them (fragmented, byte by byte, ping, close).
 * Records the request heads and every frame the gateway sends, raw and parsed.
 */
export interface FakeBrowser {
  port: number;
  heads: string[];
  received: string[];
  rawFrames: Buffer[];
  pongs: string[];
  connections: number;
  stop(): void;
}

export function startFakeBrowser(): FakeBrowser {
  const fb: FakeBrowser = { port: 0, heads: [], received: [], rawFrames: [], pongs: [], connections: 0, stop: () => {} };
  type Conn = { head: string; upgraded: boolean; reader: FrameReader | null };
  const reply = (s: Socket<Conn>, text: string) => s.write(serverFrame(OP_TEXT, Buffer.from(text)));
  const onMessage = (s: Socket<Conn>, text: string) => {
    fb.received.push(text);
    const m = JSON.parse(text) as { id: number; method: string; params?: { expression?: string } };
    const body = JSON.stringify({ id: m.id, result: { method: m.method } });
    // Scenarios are named by an evaluated expression: the gateway's policy forwards only real
    // CDP methods.
    switch (m.method === "Runtime.evaluate" ? m.params?.expression : undefined) {
      case "Test.fragmented": {
        const b = Buffer.from(body);
        const third = Math.floor(b.length / 3);
        s.write(Buffer.concat([
          serverFrame(OP_TEXT, b.subarray(0, third), false),
          serverFrame(OP_PING, Buffer.from("ka")),
          serverFrame(OP_CONTINUATION, b.subarray(third, 2 * third), false),
          serverFrame(OP_CONTINUATION, b.subarray(2 * third), true),
        ]));
        return;
      }
      case "Test.byteByByte": {
        const bytes = Buffer.concat([serverFrame(OP_TEXT, Buffer.from(body)), serverFrame(OP_TEXT, Buffer.from(JSON.stringify({ method: "Test.event", params: { n: 1 } })))]);
        let i = 0;
        const next = () => {
          if (i >= bytes.length) return;
          s.write(bytes.subarray(i, i + 1));
          i++;
          setTimeout(next, 1);
        };
        next();
        return;
      }
      case "Test.close":
        s.write(serverFrame(OP_CLOSE, Buffer.from([0x03, 0xe8])));
        s.end();
        return;
      default:
        reply(s, body);
    }
  };
  const listener = Bun.listen<Conn>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { head: "", upgraded: false, reader: null };
        fb.connections++;
      },
      data(s, d) {
        const c = s.data;
        if (c.upgraded) {
          fb.rawFrames.push(Buffer.from(d));
          c.reader!.push(d);
          return;
        }
        c.head += d.toString("latin1");
        const end = c.head.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = c.head.slice(0, end);
        fb.heads.push(head);
        if (head.startsWith("GET /json/version")) {
          const body = JSON.stringify({ Browser: "Fake/1.0", "Protocol-Version": "1.3", webSocketDebuggerUrl: `ws://127.0.0.1:${fb.port}/devtools/browser/fake-id` });
          s.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
          return;
        }
        const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? "";
        const accept = new Bun.CryptoHasher("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
        s.write(`HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        c.upgraded = true;
        c.reader = new FrameReader(
          {
            onMessage: (p) => onMessage(s, p.toString()),
            onControl: (op, p) => {
              if (op === OP_PONG) fb.pongs.push(p.toString());
            },
            onProtocolError: () => s.end(),
          },
          1 << 30,
        );
      },
    },
  });
  fb.port = listener.port;
  fb.stop = () => listener.stop(true);
  return fb;
}
