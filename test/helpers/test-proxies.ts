// Proxies for tests, written for them: an authenticating HTTP proxy (Basic; CONNECT and
// absolute-form requests; adds `X-Test-Proxy: http` to the plain-http requests it forwards) and a
// SOCKS5 proxy with username/password (RFC 1928/1929). Both listen on 127.0.0.1, log every request
// or CONNECT target, and can map names to addresses (`hosts`) so tests need no DNS.
import type { Socket, TCPSocketListener } from "bun";

export interface TestProxy {
  port: number;
  /** One line per request: `GET http://host:port/path`, `CONNECT host:port`, `AUTH-FAILED …`. */
  log: string[];
  stop(): void;
}

interface Side {
  peer?: Socket<Side>;
  pending: Buffer[];
  onData(chunk: Buffer): void;
}

const pipeHandlers = {
  data(s: Socket<Side>, chunk: Buffer) {
    s.data.onData(Buffer.from(chunk));
  },
  drain(s: Socket<Side>) {
    while (s.data.pending.length) {
      const b = s.data.pending[0]!;
      const n = s.write(b);
      if (n < b.length) {
        s.data.pending[0] = b.subarray(Math.max(0, n));
        return;
      }
      s.data.pending.shift();
    }
  },
  close(s: Socket<Side>) {
    s.data.peer?.end();
  },
  error() {},
};

function write(s: Socket<Side>, b: Buffer | string): void {
  const buf = typeof b === "string" ? Buffer.from(b, "latin1") : b;
  if (s.data.pending.length) return void s.data.pending.push(buf);
  const n = s.write(buf);
  if (n >= 0 && n < buf.length) s.data.pending.push(buf.subarray(n));
}

async function connectTo(host: string, port: number, client: Socket<Side>): Promise<Socket<Side>> {
  const up = await Bun.connect<Side>({
    hostname: host,
    port,
    data: { pending: [], onData: (chunk) => write(client, chunk) },
    socket: pipeHandlers,
  });
  up.data.peer = client;
  client.data.peer = up;
  client.data.onData = (chunk) => write(up, chunk);
  return up;
}

function listen(onData: (s: Socket<Side>, state: { buf: Buffer }) => void): TCPSocketListener<Side> {
  return Bun.listen<Side>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      ...pipeHandlers,
      open(s) {
        const state = { buf: Buffer.alloc(0) };
        s.data = {
          pending: [],
          onData: (chunk) => {
            state.buf = Buffer.concat([state.buf, chunk]);
            onData(s, state);
          },
        };
      },
    },
  });
}

export function startHttpProxy(opts: { username: string; password: string; hosts?: Record<string, string> }): TestProxy {
  const log: string[] = [];
  const expected = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString("base64")}`;
  const server = listen((s, state) => {
    const end = state.buf.indexOf("\r\n\r\n");
    if (end < 0) return;
    const lines = state.buf.subarray(0, end).toString("latin1").split("\r\n");
    const rest = state.buf.subarray(end + 4);
    s.data.onData = () => {};
    const [method, target, version] = lines[0]!.split(" ") as [string, string, string];
    const auth = lines.find((l) => /^proxy-authorization:/i.test(l))?.replace(/^[^:]*:\s*/, "");
    if (auth !== expected) {
      log.push(`AUTH-FAILED ${method} ${target}`);
      return void s.end(`HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    }
    log.push(`${method} ${target}`);
    const map = (h: string) => opts.hosts?.[h] ?? h;
    if (method === "CONNECT") {
      const i = target.lastIndexOf(":");
      const host = target.slice(0, i);
      if (host.endsWith(".invalid")) return void s.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
      void connectTo(map(host), Number(target.slice(i + 1)), s).then(
        (up) => {
          write(s, "HTTP/1.1 200 Connection Established\r\n\r\n");
          if (rest.length) write(up, rest);
        },
        () => s.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"),
      );
      return;
    }
    const url = new URL(target);
    const headers = lines.slice(1).filter((l) => !/^(proxy-|connection:)/i.test(l));
    void connectTo(map(url.hostname), Number(url.port || 80), s).then(
      (up) => write(up, Buffer.concat([Buffer.from([`${method} ${url.pathname}${url.search} ${version}`, ...headers, "X-Test-Proxy: http", "Connection: close", "", ""].join("\r\n"), "latin1"), rest])),
      () => s.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"),
    );
  });
  return { port: server.port, log, stop: () => server.stop(true) };
}

export function startSocks5Proxy(opts: { username: string; password: string; hosts?: Record<string, string> }): TestProxy {
  const log: string[] = [];
  const server = listen((s, state) => {
    const b = state.buf;
    const st = s.data as Side & { step?: number };
    st.step ??= 0;
    if (st.step === 0) {
      if (b.length < 2 || b.length < 2 + b[1]!) return;
      const methods = [...b.subarray(2, 2 + b[1]!)];
      state.buf = b.subarray(2 + b[1]!);
      if (!methods.includes(2)) {
        log.push("NO-AUTH-OFFERED");
        return void s.end(Buffer.from([5, 0xff]));
      }
      write(s, Buffer.from([5, 2]));
      st.step = 1;
      return;
    }
    if (st.step === 1) {
      if (b.length < 2) return;
      const ulen = b[1]!;
      if (b.length < 3 + ulen) return;
      const plen = b[2 + ulen]!;
      if (b.length < 3 + ulen + plen) return;
      const user = b.subarray(2, 2 + ulen).toString();
      const pass = b.subarray(3 + ulen, 3 + ulen + plen).toString();
      state.buf = b.subarray(3 + ulen + plen);
      if (user !== opts.username || pass !== opts.password) {
        log.push("AUTH-FAILED");
        return void s.end(Buffer.from([1, 1]));
      }
      write(s, Buffer.from([1, 0]));
      st.step = 2;
      return;
    }
    if (st.step === 2) {
      if (b.length < 5) return;
      const atyp = b[3]!;
      const alen = atyp === 1 ? 4 : atyp === 4 ? 16 : 1 + b[4]!;
      if (b.length < 4 + alen + 2) return;
      const host = atyp === 1 ? [...b.subarray(4, 8)].join(".") : atyp === 3 ? b.subarray(5, 5 + b[4]!).toString() : "ipv6";
      const port = b.readUInt16BE(4 + alen);
      const rest = b.subarray(4 + alen + 2);
      st.step = 3;
      s.data.onData = () => {};
      log.push(`CONNECT ${host}:${port} atyp=${atyp}`);
      void connectTo(opts.hosts?.[host] ?? host, port, s).then(
        (up) => {
          write(s, Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
          if (rest.length) write(up, rest);
        },
        () => s.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])),
      );
    }
  });
  return { port: server.port, log, stop: () => server.stop(true) };
}
