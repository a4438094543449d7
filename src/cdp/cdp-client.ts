// BrowserGrid's own CDP client connection to a session's browser: a WebSocket straight to
// Chromium's browser endpoint, not through the gateway, so it never counts as a user's client
// and never keeps a session alive by itself. One client, one owner: session-links.ts holds it
// and shares it between BrowserGrid's users of the session (its onEvent/onClose are its own).
//
// The browser's WebSocket path comes from the table the gateway uses (src/cdp/upstream.ts:
// remembered from the browser's start, else asked of /json/version with Host 127.0.0.1).
// Chromium refuses a WebSocket upgrade that carries an Origin header (unless started with
// --remote-allow-origins, which BrowserGrid never does): we send no Origin, and offer no
// compression (screencast frames are JPEG already).
import { browserPath, forgetBrowserPath } from "./upstream";

export interface CdpTargetAddress {
  host: string;
  port: number;
}

type Pending = { resolve(v: any): void; reject(e: Error): void; timer: ReturnType<typeof setTimeout> };

export class CdpError extends Error {}

export class CdpClient {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private closed = false;
  onEvent: (method: string, params: any, sessionId: string | undefined) => void = () => {};
  onClose: (reason: string) => void = () => {};

  private constructor(private ws: WebSocket) {
    ws.onmessage = (ev) => this.receive(typeof ev.data === "string" ? ev.data : new TextDecoder().decode(ev.data as ArrayBuffer));
    ws.onclose = (ev) => this.shutdown(`browser connection closed (${ev.code})`);
    ws.onerror = () => this.shutdown("browser connection failed");
  }

  static async connect(target: CdpTargetAddress, timeoutMs = 5000): Promise<CdpClient> {
    const pathOf = () =>
      browserPath(target, timeoutMs).catch((err: Error) => {
        throw new CdpError(err.message);
      });
    const { path, cached } = await pathOf();
    try {
      return await CdpClient.open(target, path, timeoutMs);
    } catch (err) {
      if (!cached) throw err;
      // A remembered path is refused when another browser now answers at that address.
      forgetBrowserPath(target);
      return CdpClient.open(target, (await pathOf()).path, timeoutMs);
    }
  }

  private static async open(target: CdpTargetAddress, path: string, timeoutMs: number): Promise<CdpClient> {
    const hostPart = target.host.includes(":") ? `[${target.host}]` : target.host;
    // Bun's constructor takes options (the DOM typing does not know them).
    const BunWebSocket = WebSocket as unknown as new (url: string, options: Bun.WebSocketOptions) => WebSocket;
    const ws = new BunWebSocket(`ws://${hostPart}:${target.port}${path}`, { perMessageDeflate: false });
    ws.binaryType = "arraybuffer";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.close();
        reject(new CdpError("browser WebSocket did not open in time"));
      }, timeoutMs);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve();
      };
      ws.onerror = () => {
        clearTimeout(timer);
        reject(new CdpError("browser WebSocket refused"));
      };
    });
    return new CdpClient(ws);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  send<T = any>(method: string, params: Record<string, unknown> = {}, sessionId?: string, timeoutMs = 10_000): Promise<T> {
    if (this.closed) return Promise.reject(new CdpError("browser connection is closed"));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CdpError(`${method} timed out`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify(sessionId ? { id, method, params, sessionId } : { id, method, params }));
    });
  }

  close(reason = "closed by BrowserGrid"): void {
    if (this.closed) return;
    this.ws.close();
    this.shutdown(reason);
  }

  private receive(text: string): void {
    let msg: { id?: number; result?: unknown; error?: { message?: string }; method?: string; params?: unknown; sessionId?: string };
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error) p.reject(new CdpError(msg.error.message ?? "CDP error"));
      else p.resolve(msg.result);
    } else if (msg.method) this.onEvent(msg.method, msg.params, msg.sessionId);
  }

  private shutdown(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new CdpError(reason));
    }
    this.pending.clear();
    this.onClose(reason);
  }
}
