// WebSocket framing (RFC 6455) for the gateway's own upstream client to Chromium.
//
// FrameReader finds message boundaries in the byte stream Chromium sends. It is on the hot path
// of every browser→client message: a frame that lies whole inside one TCP chunk is handed on as
// a view into that chunk (no copy); only frames split across chunks are gathered into one
// buffer of exactly the announced size. Nothing here parses JSON or builds strings.
//
// Client→Chromium frames are masked with an all-zero key: legal (the key is the client's choice)
// and it makes masking free, so the payload bytes go out unchanged.

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

export interface FrameSink {
  /** A complete data message (opcode 1 text or 2 binary). `payload` is valid only during the call. */
  onMessage(payload: Buffer, opcode: number): void;
  /** A close, ping or pong frame (payload ≤ 125 bytes, valid only during the call). */
  onControl(opcode: number, payload: Buffer): void;
  /** The stream broke the protocol or a message is too large; the reader stops. */
  onProtocolError(reason: string, closeCode: number): void;
}

const EMPTY = Buffer.alloc(0);

export class FrameReader {
  /** Header bytes of a header split across chunks (at most 14). */
  private readonly hdr = Buffer.allocUnsafe(14);
  private hdrLen = 0;
  /** Payload of a frame split across chunks, filled up to `fill`. */
  private partial: Buffer | null = null;
  private fill = 0;
  private partialB0 = 0;
  private partialMask = 0;
  /** A fragmented message (FIN=0 data frame followed by continuations). */
  private fragOpcode = 0;
  private fragParts: Buffer[] = [];
  private fragBytes = 0;
  private failed = false;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxMessageBytes: number,
  ) {}

  /** Bytes held for incomplete frames and messages (for memory accounting). */
  get bufferedBytes(): number {
    return (this.partial ? this.partial.length : 0) + this.fragBytes + this.hdrLen;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    let off = 0;
    while (off < n && !this.failed) {
      const partial = this.partial;
      if (partial !== null) {
        const take = Math.min(n - off, partial.length - this.fill);
        chunk.copy(partial, this.fill, off, off + take);
        this.fill += take;
        off += take;
        if (this.fill === partial.length) {
          this.partial = null;
          this.fill = 0;
          if (this.partialMask !== 0) unmask(partial, 0, partial.length, this.partialMask);
          this.frame(this.partialB0, partial);
        }
        continue;
      }

      // Header: parsed straight from the chunk when it is all there (the common case), else
      // gathered byte-wise into `hdr` across chunk boundaries.
      let src: Buffer = chunk;
      let h = off;
      let avail = n - off;
      if (this.hdrLen > 0 || avail < 2 || avail < headerSize(chunk[off + 1]!)) {
        const need = this.hdrLen >= 2 ? headerSize(this.hdr[1]!) : 2;
        const take = Math.min(need - this.hdrLen, n - off);
        chunk.copy(this.hdr, this.hdrLen, off, off + take);
        this.hdrLen += take;
        off += take;
        if (this.hdrLen < 2 || this.hdrLen < headerSize(this.hdr[1]!)) continue;
        src = this.hdr;
        h = 0;
        avail = this.hdrLen;
        this.hdrLen = 0;
      }
      const b0 = src[h]!;
      const b1 = src[h + 1]!;
      const size = headerSize(b1);
      let len = b1 & 0x7f;
      let p = h + 2;
      if (len === 126) {
        len = src.readUInt16BE(p);
        p += 2;
      } else if (len === 127) {
        const hi = src.readUInt32BE(p);
        len = src.readUInt32BE(p + 4);
        p += 8;
        if (hi !== 0) return this.fail("message too large", 1009);
      }
      let mask = 0;
      if (b1 & 0x80) {
        mask = src.readUInt32BE(p);
        p += 4;
      }
      if (src === chunk) off += size;
      if (len > this.maxMessageBytes || this.fragBytes + len > this.maxMessageBytes) return this.fail("message too large", 1009);

      if (n - off >= len) {
        const payload = len === 0 ? EMPTY : chunk.subarray(off, off + len);
        off += len;
        if (mask !== 0) unmask(payload, 0, len, mask);
        this.frame(b0, payload);
      } else {
        this.partial = Buffer.allocUnsafe(len);
        this.partialB0 = b0;
        this.partialMask = mask;
        const take = n - off;
        chunk.copy(this.partial, 0, off, n);
        this.fill = take;
        off = n;
      }
    }
  }

  private frame(b0: number, payload: Buffer): void {
    if (b0 & 0x70) return this.fail("reserved bits set without a negotiated extension", 1002);
    const fin = (b0 & 0x80) !== 0;
    const op = b0 & 0x0f;
    if (op === OP_TEXT || op === OP_BINARY) {
      if (this.fragOpcode !== 0) return this.fail("new data frame inside a fragmented message", 1002);
      if (fin) return this.sink.onMessage(payload, op);
      this.fragOpcode = op;
      this.fragParts.push(Buffer.from(payload));
      this.fragBytes = payload.length;
      return;
    }
    if (op === OP_CONTINUATION) {
      if (this.fragOpcode === 0) return this.fail("continuation frame without a message", 1002);
      this.fragParts.push(fin ? payload : Buffer.from(payload));
      this.fragBytes += payload.length;
      if (!fin) return;
      const whole = Buffer.concat(this.fragParts, this.fragBytes);
      const opcode = this.fragOpcode;
      this.fragOpcode = 0;
      this.fragParts = [];
      this.fragBytes = 0;
      return this.sink.onMessage(whole, opcode);
    }
    if (op === OP_CLOSE || op === OP_PING || op === OP_PONG) {
      if (!fin || payload.length > 125) return this.fail("invalid control frame", 1002);
      return this.sink.onControl(op, payload);
    }
    return this.fail(`unknown opcode ${op}`, 1002);
  }

  private fail(reason: string, code: number): void {
    this.failed = true;
    this.partial = null;
    this.fragParts = [];
    this.fragBytes = 0;
    this.sink.onProtocolError(reason, code);
  }
}

function headerSize(b1: number): number {
  const len = b1 & 0x7f;
  return 2 + (len === 126 ? 2 : len === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
}

function unmask(buf: Buffer, start: number, end: number, mask: number): void {
  const k = [(mask >>> 24) & 0xff, (mask >>> 16) & 0xff, (mask >>> 8) & 0xff, mask & 0xff];
  for (let i = start; i < end; i++) buf[i] = buf[i]! ^ k[(i - start) & 3]!;
}

/** Room reserved in front of a payload for the longest masked client header. */
export const MAX_CLIENT_HEADER = 14;

/**
 * Writes a masked (zero key) client frame header so that it ends exactly at `payloadStart`
 * in `buf` (which must have MAX_CLIENT_HEADER bytes free before it). Returns the header start.
 */
export function writeClientHeader(buf: Buffer, payloadStart: number, payloadLength: number, opcode: number): number {
  const keyAt = payloadStart - 4;
  buf[keyAt] = 0;
  buf[keyAt + 1] = 0;
  buf[keyAt + 2] = 0;
  buf[keyAt + 3] = 0;
  let start: number;
  if (payloadLength < 126) {
    start = keyAt - 2;
    buf[start + 1] = 0x80 | payloadLength;
  } else if (payloadLength < 65536) {
    start = keyAt - 4;
    buf[start + 1] = 0x80 | 126;
    buf.writeUInt16BE(payloadLength, start + 2);
  } else {
    start = keyAt - 10;
    buf[start + 1] = 0x80 | 127;
    buf.writeUInt32BE(Math.floor(payloadLength / 2 ** 32), start + 2);
    buf.writeUInt32BE(payloadLength >>> 0, start + 6);
  }
  buf[start] = 0x80 | opcode;
  return start;
}

/** A whole masked (zero key) client frame, for control frames and rare paths. */
export function clientFrame(opcode: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(MAX_CLIENT_HEADER + payload.length);
  out.set(payload, MAX_CLIENT_HEADER);
  const start = writeClientHeader(out, MAX_CLIENT_HEADER, payload.length, opcode);
  return out.subarray(start);
}

/** An unmasked frame as a server (Chromium) sends it; for tests and tools. */
export function serverFrame(opcode: number, payload: Uint8Array, fin = true): Buffer {
  const len = payload.length;
  const size = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(size + len);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) out[1] = len;
  else if (len < 65536) {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  out.set(payload, size);
  return out;
}
