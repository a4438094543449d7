// CDP to browsers on an SSH worker: for each remote browser address (<container ip>:9222 as
// seen from the remote host) a listener on 127.0.0.1, ephemeral port, whose every accepted
// connection becomes one `direct-tcpip` channel of the worker's SSH connection to that address.
// The gateway (and the provider's readiness check) connect to the loopback port exactly as they
// connect to a local container, so the gateway needs no SSH code.
//
// Threat: a browser port open on a network. Nothing here listens beyond loopback, and nothing
// listens on the remote host: the remote sshd opens the TCP connection to the container itself.
// Listeners are created on demand (also after a restart of BrowserGrid, from the address kept in
// the database) and closed when the browser stops.
import type { Socket, TCPSocketListener } from "bun";
import type { ClientChannel } from "ssh2";
import type { SshConnection } from "./ssh-connection";

interface Pipe {
  channel: ClientChannel | null;
  /** Client bytes that arrived before the SSH channel opened. */
  pending: Buffer[];
  /** Browser bytes the loopback socket has not taken yet. */
  out: Buffer[];
  closed: boolean;
}

const HIGH_WATER = 4 * 1024 * 1024;

export class CdpTunnels {
  private listeners = new Map<string, TCPSocketListener<Pipe>>();

  constructor(private readonly ssh: SshConnection) {}

  /** The loopback address that reaches `host:port` on the remote side. Synchronous. */
  reach(host: string, port: number): { host: string; port: number } {
    const key = `${host}:${port}`;
    let l = this.listeners.get(key);
    if (!l) {
      l = this.listen(host, port);
      this.listeners.set(key, l);
    }
    return { host: "127.0.0.1", port: l.port };
  }

  release(host: string, port: number): void {
    const key = `${host}:${port}`;
    this.listeners.get(key)?.stop(true);
    this.listeners.delete(key);
  }

  closeAll(): void {
    for (const l of this.listeners.values()) l.stop(true);
    this.listeners.clear();
  }

  private listen(host: string, port: number): TCPSocketListener<Pipe> {
    const ssh = this.ssh;
    const flush = (sock: Socket<Pipe>) => {
      const p = sock.data;
      while (p.out.length) {
        const buf = p.out[0]!;
        const n = sock.write(buf);
        if (n < buf.length) {
          p.out[0] = buf.subarray(Math.max(0, n));
          return;
        }
        p.out.shift();
      }
      p.channel?.resume();
    };
    return Bun.listen<Pipe>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(sock) {
          sock.data = { channel: null, pending: [], out: [], closed: false };
          ssh.openTcp(host, port).then(
            (ch) => {
              const p = sock.data;
              if (p.closed) return void ch.close();
              p.channel = ch;
              for (const b of p.pending.splice(0)) ch.write(b);
              ch.on("data", (d: Buffer) => {
                if (p.out.length) p.out.push(d);
                else {
                  const n = sock.write(d);
                  if (n < d.length) p.out.push(d.subarray(Math.max(0, n)));
                }
                if (p.out.reduce((s, b) => s + b.length, 0) > HIGH_WATER) ch.pause();
              });
              ch.on("close", () => sock.end());
              ch.on("error", () => sock.end());
            },
            () => sock.end(),
          );
        },
        data(sock, d) {
          const p = sock.data;
          if (p.channel) p.channel.write(Buffer.from(d));
          else p.pending.push(Buffer.from(d));
        },
        drain: flush,
        close(sock) {
          sock.data.closed = true;
          sock.data.channel?.close();
        },
        error(sock) {
          sock.data.closed = true;
          sock.data.channel?.close();
        },
      },
    });
  }
}
