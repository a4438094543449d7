// A small closed-loop HTTP/1.1 load generator on raw sockets: `conns` keep-alive connections,
// each sending its next request as soon as the previous response is complete. It parses only
// the status line, Content-Length (or the chunked terminator) and, when asked, the body — so
// its own CPU per request is a few µs, far below fetch()'s, which matters when client and
// server share two cores.
import type { Socket } from "bun";

export interface LoadRequest {
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  perSec: number;
  /** Latency samples, µs, from the first byte written to the last byte read. */
  latenciesUs: Float64Array;
  statuses: Record<string, number>;
  /** Per second, for the second step of two-step flows (e.g. DELETE after POST). */
  second?: { latenciesUs: Float64Array; statuses: Record<string, number> };
}

function encode(host: string, r: LoadRequest): Buffer {
  const body = r.body ?? "";
  const h = [`${r.method} ${r.path} HTTP/1.1`, `Host: ${host}`, ...Object.entries(r.headers ?? {}).map(([k, v]) => `${k}: ${v}`)];
  if (r.body !== undefined) h.push("Content-Type: application/json", `Content-Length: ${Buffer.byteLength(body)}`);
  return Buffer.from(h.join("\r\n") + "\r\n\r\n" + body);
}

class Samples {
  a = new Float64Array(1 << 16);
  n = 0;
  push(x: number) {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = x;
  }
  get values() {
    return this.a.subarray(0, this.n);
  }
}

interface ConnState {
  chunks: Buffer[];
  len: number;
  headerEnd: number;
  contentLength: number;
  chunked: boolean;
  status: number;
  onResponse: ((status: number, body: Buffer | null) => void) | null;
  wantBody: boolean;
}

/**
 * Runs a closed loop for `seconds` after `warmupSeconds`. `next(conn, prev)` returns the request
 * to send next on a connection given the previous response (null at start) — for flows such
 * as POST then DELETE; for a fixed request pass a constant function.
 */
export async function runLoad(opts: {
  host: string;
  port: number;
  conns: number;
  seconds: number;
  warmupSeconds: number;
  next: (step: number, prevBody: Buffer | null) => { req: LoadRequest; step: number; wantBody?: boolean };
}): Promise<LoadResult> {
  const hostHeader = `${opts.host}:${opts.port}`;
  const cache = new Map<string, Buffer>();
  const enc = (r: LoadRequest) => {
    const key = `${r.method} ${r.path} ${r.body ?? ""} ${JSON.stringify(r.headers ?? {})}`;
    let b = cache.get(key);
    if (!b) {
      b = encode(hostHeader, r);
      if (cache.size < 10_000) cache.set(key, b);
    }
    return b;
  };
  const first = new Samples();
  const second = new Samples();
  const statuses: Record<string, number> = {};
  const statuses2: Record<string, number> = {};
  let measuring = false;
  let stopping = false;
  let counted = 0;
  const t0 = performance.now();
  let tMeasure = 0;
  let tEnd = 0;

  const sockets: Socket<ConnState>[] = [];
  const finished: Promise<void>[] = [];

  for (let i = 0; i < opts.conns; i++) {
    const done = Promise.withResolvers<void>();
    finished.push(done.promise);
    const state: ConnState = { chunks: [], len: 0, headerEnd: -1, contentLength: -1, chunked: false, status: 0, onResponse: null, wantBody: false };
    const sock = await Bun.connect<ConnState>({
      hostname: opts.host,
      port: opts.port,
      data: state,
      socket: {
        data(s, d) {
          const st = s.data;
          st.chunks.push(d);
          st.len += d.length;
          if (st.headerEnd < 0) {
            const all = st.chunks.length === 1 ? st.chunks[0]! : Buffer.concat(st.chunks);
            st.chunks = [all];
            const he = all.indexOf("\r\n\r\n");
            if (he < 0) return;
            st.headerEnd = he + 4;
            const head = all.subarray(0, he).toString("latin1");
            st.status = Number(head.slice(9, 12));
            const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
            st.contentLength = m ? Number(m[1]) : -1;
            st.chunked = !m && /\r\ntransfer-encoding:\s*chunked/i.test(head);
          }
          let complete = false;
          if (st.contentLength >= 0) complete = st.len >= st.headerEnd + st.contentLength;
          else if (st.chunked) {
            const last = st.chunks[st.chunks.length - 1]!;
            complete = last.subarray(-5).toString("latin1") === "0\r\n\r\n";
          } else complete = true;
          if (!complete) return;
          let body: Buffer | null = null;
          if (st.wantBody) {
            const all = st.chunks.length === 1 ? st.chunks[0]! : Buffer.concat(st.chunks);
            body = all.subarray(st.headerEnd);
          }
          const status = st.status;
          st.chunks = [];
          st.len = 0;
          st.headerEnd = -1;
          const cb = st.onResponse;
          st.onResponse = null;
          cb?.(status, body);
        },
        close() {
          done.resolve();
        },
        error() {
          done.resolve();
        },
      },
    });
    sock.setNoDelay(true);
    sockets.push(sock);
  }

  const loop = (sock: Socket<ConnState>, step: number, prev: Buffer | null) => {
    if (stopping) return;
    const n = opts.next(step, prev);
    const st = sock.data;
    st.wantBody = !!n.wantBody;
    const start = performance.now();
    st.onResponse = (status, body) => {
      if (measuring) {
        const us = (performance.now() - start) * 1000;
        if (step === 0) {
          first.push(us);
          statuses[status] = (statuses[status] ?? 0) + 1;
          counted++;
        } else {
          second.push(us);
          statuses2[status] = (statuses2[status] ?? 0) + 1;
          counted++;
        }
      }
      loop(sock, n.step, body);
    };
    sock.write(enc(n.req));
  };
  for (const s of sockets) loop(s, 0, null);

  await Bun.sleep(opts.warmupSeconds * 1000);
  measuring = true;
  tMeasure = performance.now();
  await Bun.sleep(opts.seconds * 1000);
  measuring = false;
  tEnd = performance.now();
  stopping = true;
  // Let the in-flight requests finish (a server must not see half requests) then close.
  await Bun.sleep(200);
  for (const s of sockets) s.end();
  await Promise.race([Promise.all(finished), Bun.sleep(2000)]);
  void t0;
  const secs = (tEnd - tMeasure) / 1000;
  return {
    requests: counted,
    seconds: secs,
    perSec: counted / secs,
    latenciesUs: first.values,
    statuses,
    ...(second.n ? { second: { latenciesUs: second.values, statuses: statuses2 } } : {}),
  };
}
