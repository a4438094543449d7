import { describe, expect, test } from "bun:test";
import { clientFrame, FrameReader, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT, serverFrame, type FrameSink } from "./frames";

type Event = { kind: "msg"; op: number; data: string } | { kind: "ctl"; op: number; data: string } | { kind: "err"; code: number };

function collector(): { sink: FrameSink; events: Event[] } {
  const events: Event[] = [];
  return {
    events,
    sink: {
      onMessage: (p, op) => events.push({ kind: "msg", op, data: p.toString("latin1") }),
      onControl: (op, p) => events.push({ kind: "ctl", op, data: p.toString("latin1") }),
      onProtocolError: (_r, code) => events.push({ kind: "err", code }),
    },
  };
}

const b = (s: string) => Buffer.from(s, "latin1");
const big = (n: number, seed: number) => {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = 32 + ((i * 31 + seed) % 90);
  return out;
};

// A stream with every length class, control frames between and inside a fragmented message.
const small = b('{"id":1,"result":{}}');
const medium = big(300, 1); // 16-bit length
const large = big(70_000, 2); // 64-bit length
const largeFrame = serverFrame(OP_TEXT, large);
const largeText = large.toString("latin1");
const frames = [
  serverFrame(OP_TEXT, small),
  serverFrame(OP_PING, b("p1")),
  serverFrame(OP_TEXT, medium),
  serverFrame(OP_TEXT, b("frag-a"), false),
  serverFrame(OP_PONG, b("")),
  serverFrame(OP_CONTINUATION, b("frag-b"), false),
  serverFrame(OP_PING, b("p2")),
  serverFrame(OP_CONTINUATION, b("frag-c"), true),
  largeFrame,
  serverFrame(OP_BINARY, b("\x00\x01")),
  serverFrame(OP_TEXT, b("")),
  serverFrame(OP_CLOSE, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65])),
];
const stream = Buffer.concat(frames);
const expected: Event[] = [
  { kind: "msg", op: OP_TEXT, data: small.toString("latin1") },
  { kind: "ctl", op: OP_PING, data: "p1" },
  { kind: "msg", op: OP_TEXT, data: medium.toString("latin1") },
  { kind: "ctl", op: OP_PONG, data: "" },
  { kind: "ctl", op: OP_PING, data: "p2" },
  { kind: "msg", op: OP_TEXT, data: "frag-afrag-bfrag-c" },
  { kind: "msg", op: OP_TEXT, data: large.toString("latin1") },
  { kind: "msg", op: OP_BINARY, data: "\x00\x01" },
  { kind: "msg", op: OP_TEXT, data: "" },
  { kind: "ctl", op: OP_CLOSE, data: "\x03\xe8bye" },
];

describe("FrameReader", () => {
  test("the whole stream in one chunk", () => {
    const { sink, events } = collector();
    new FrameReader(sink, 1 << 20).push(Buffer.from(stream));
    expect(events).toEqual(expected);
  });

  test("split into two chunks at every offset", () => {
    // Every offset of the stream without the 70 kB frame; for the whole stream, every offset
    // within 16 bytes of a frame boundary plus a stride through the large payload.
    const withoutLarge = Buffer.concat(frames.filter((f) => f !== largeFrame));
    const expectedWithoutLarge = expected.filter((e) => e.kind === "err" || e.data !== largeText);
    const boundaries: number[] = [];
    let at = 0;
    for (const f of frames) {
      boundaries.push(at);
      at += f.length;
    }
    boundaries.push(at);
    const cuts = new Set<number>();
    for (const x of boundaries) for (let d = -16; d <= 16; d++) if (x + d >= 0 && x + d <= stream.length) cuts.add(x + d);
    for (let x = 0; x <= stream.length; x += 997) cuts.add(x);
    const runs: [Buffer, Event[], Iterable<number>][] = [
      [withoutLarge, expectedWithoutLarge, Array.from({ length: withoutLarge.length + 1 }, (_, i) => i)],
      [stream, expected, cuts],
    ];
    for (const [bytes, want, offsets] of runs) {
      const wantKey = JSON.stringify(want);
      for (const cut of offsets) {
        const { sink, events } = collector();
        const r = new FrameReader(sink, 1 << 20);
        r.push(Buffer.from(bytes.subarray(0, cut)));
        r.push(Buffer.from(bytes.subarray(cut)));
        if (JSON.stringify(events) !== wantKey) throw new Error(`mismatch when split at ${cut}`);
        expect(r.bufferedBytes).toBe(0);
      }
    }
  });

  test("one byte per chunk", () => {
    const { sink, events } = collector();
    const r = new FrameReader(sink, 1 << 20);
    for (let i = 0; i < stream.length; i++) r.push(Buffer.from(stream.subarray(i, i + 1)));
    expect(events).toEqual(expected);
  });

  test("random chunk sizes", () => {
    for (let round = 0; round < 50; round++) {
      const { sink, events } = collector();
      const r = new FrameReader(sink, 1 << 20);
      let off = 0;
      while (off < stream.length) {
        const n = 1 + Math.floor(Math.random() * 2000);
        r.push(Buffer.from(stream.subarray(off, off + n)));
        off += n;
      }
      expect(events).toEqual(expected);
    }
  });

  test("the 64-bit and 16-bit length boundaries", () => {
    for (const n of [0, 125, 126, 127, 65535, 65536, 65537]) {
      const { sink, events } = collector();
      const payload = big(n, n);
      new FrameReader(sink, 1 << 20).push(serverFrame(OP_TEXT, payload));
      expect(events).toEqual([{ kind: "msg", op: OP_TEXT, data: payload.toString("latin1") }]);
    }
  });

  test("masked frames are unmasked (zero and non-zero keys)", () => {
    const { sink, events } = collector();
    const r = new FrameReader(sink, 1 << 20);
    r.push(clientFrame(OP_TEXT, b("hello zero key")));
    const payload = b("hello real key");
    const key = [0x12, 0x34, 0x56, 0x78];
    const masked = Buffer.from(payload.map((x, i) => x ^ key[i & 3]!));
    r.push(Buffer.concat([Buffer.from([0x81, 0x80 | masked.length, ...key]), masked]));
    expect(events).toEqual([
      { kind: "msg", op: OP_TEXT, data: "hello zero key" },
      { kind: "msg", op: OP_TEXT, data: "hello real key" },
    ]);
  });

  test("client frames use 7/16/64-bit lengths with a zero key", () => {
    expect([...clientFrame(OP_TEXT, b("ab"))]).toEqual([0x81, 0x82, 0, 0, 0, 0, 0x61, 0x62]);
    const m = clientFrame(OP_TEXT, big(200, 0));
    expect([m[0], m[1], m.readUInt16BE(2), m.readUInt32BE(4)]).toEqual([0x81, 0xfe, 200, 0]);
    const l = clientFrame(OP_TEXT, big(70_000, 0));
    expect([l[0], l[1], l.readUInt32BE(2), l.readUInt32BE(6), l.readUInt32BE(10)]).toEqual([0x81, 0xff, 0, 70_000, 0]);
    expect(l.length).toBe(14 + 70_000);
  });

  test("protocol errors stop the reader", () => {
    const cases: [Buffer, number][] = [
      [serverFrame(OP_CONTINUATION, b("x")), 1002],
      [Buffer.concat([serverFrame(OP_TEXT, b("a"), false), serverFrame(OP_TEXT, b("b"))]), 1002],
      [Buffer.from([0x83, 0x00]), 1002],
      [Buffer.from([0xc1, 0x00]), 1002],
      [serverFrame(OP_PING, big(126, 0)), 1002],
      [serverFrame(OP_TEXT, big(2000, 0)), 1009],
      [Buffer.from([0x81, 0x7f, 0, 0, 0, 1, 0, 0, 0, 0]), 1009],
    ];
    for (const [bytes, code] of cases) {
      const { sink, events } = collector();
      const r = new FrameReader(sink, 1000);
      r.push(Buffer.concat([bytes, serverFrame(OP_TEXT, b("after"))]));
      expect(events.filter((e) => e.kind === "err")).toEqual([{ kind: "err", code }]);
      expect(events.some((e) => e.kind === "msg" && e.data === "after")).toBe(false);
    }
  });

  test("a fragmented message over the size limit is refused", () => {
    const { sink, events } = collector();
    const r = new FrameReader(sink, 100);
    r.push(serverFrame(OP_TEXT, big(60, 0), false));
    r.push(serverFrame(OP_CONTINUATION, big(60, 0), true));
    expect(events).toEqual([{ kind: "err", code: 1009 }]);
  });
});
