// A minimal CDP client on a raw socket for benchmarks: the same code talks to Chromium directly
// and to the gateway, offers no compression and no Origin, and never parses replies (it counts
// messages and bytes), so the client's own cost is equal on both paths and small.
import type { Socket } from "bun";
import { FrameReader, OP_TEXT, clientFrame } from "../../src/cdp/frames";

export class BenchCdpClient {
  private socket!: Socket<BenchCdpClient>;
  private head = "";
  private open = Promise.withResolvers<void>();
  private reader: FrameReader;
  received = 0;
  receivedBytes = 0;
  /** Called for every message (payload valid only during the call). */
  onMessage: ((payload: Buffer) => void) | null = null;
  private waiter: (() => void) | null = null;
  private waitCount = 0;

  private constructor() {
    this.reader = new FrameReader(
      {
        onMessage: (p) => {
          this.received++;
          this.receivedBytes += p.length;
          this.onMessage?.(p);
          if (this.waiter && this.received >= this.waitCount) {
            const w = this.waiter;
            this.waiter = null;
            w();
          }
        },
        onControl: () => {},
        onProtocolError: (r) => {
          throw new Error(`bench client protocol error: ${r}`);
        },
      },
      1 << 30,
    );
  }

  static async connect(host: string, port: number, path: string): Promise<BenchCdpClient> {
    const c = new BenchCdpClient();
    c.socket = await Bun.connect<BenchCdpClient>({
      hostname: host,
      port,
      data: c,
      socket: {
        data(s, d) {
          const self = s.data;
          if (self.head !== null && self.head !== "done") {
            self.head += d.toString("latin1");
            const end = self.head.indexOf("\r\n\r\n");
            if (end < 0) return;
            if (!self.head.startsWith("HTTP/1.1 101")) return self.open.reject(new Error(self.head.split("\r\n")[0]));
            const rest = Buffer.from(self.head.slice(end + 4), "latin1");
            self.head = "done";
            self.open.resolve();
            if (rest.length) self.reader.push(rest);
            return;
          }
          self.reader.push(d);
        },
        close(s) {
          s.data.open.reject(new Error("closed"));
        },
      },
    });
    c.socket.setNoDelay(true);
    c.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await c.open.promise;
    return c;
  }

  send(text: string): void {
    this.socket.write(clientFrame(OP_TEXT, Buffer.from(text)));
  }

  /** Sends several messages in one write (as a pipelining client does). */
  sendMany(texts: string[]): void {
    this.socket.write(Buffer.concat(texts.map((t) => clientFrame(OP_TEXT, Buffer.from(t)))));
  }

  /** Resolves when `received` reaches `count`. */
  until(count: number): Promise<void> {
    if (this.received >= count) return Promise.resolve();
    this.waitCount = count;
    return new Promise((r) => (this.waiter = r));
  }

  /** Sends one command and waits for the next message (use on a connection without events). */
  async roundTrip(text: string): Promise<Buffer> {
    let got: Buffer | null = null;
    this.onMessage = (p) => {
      if (got === null) got = Buffer.from(p);
    };
    const target = this.received + 1;
    this.send(text);
    await this.until(target);
    this.onMessage = null;
    return got!;
  }

  close(): void {
    this.socket.end();
  }
}
