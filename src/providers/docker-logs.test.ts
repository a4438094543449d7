// The log demultiplexer on frames built here byte by byte, as Docker sends them.
import { describe, expect, test } from "bun:test";
import { demuxLogLines, MAX_LINE_CHARS, parseDockerTime } from "./docker-logs";

function frame(stream: 1 | 2, text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + payload.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}

async function collect(chunks: Uint8Array[]) {
  async function* gen() {
    yield* chunks;
  }
  const lines = [];
  for await (const l of demuxLogLines(gen())) lines.push(l);
  return lines;
}

describe("demuxLogLines", () => {
  test("splits frames of both streams into timestamped lines, in order", async () => {
    const lines = await collect([frame(1, "2026-12-07T23:40:00.123456789Z hello\n2026-12-07T23:40:01.5Z world\n"), frame(2, "2026-12-07T23:40:02.000000001Z oops\n")]);
    expect(lines).toEqual([
      { stream: "stdout", at: Date.parse("2026-12-07T23:40:00.123Z"), line: "hello" },
      { stream: "stdout", at: Date.parse("2026-12-07T23:40:01.500Z"), line: "world" },
      { stream: "stderr", at: Date.parse("2026-12-07T23:40:02.000Z"), line: "oops" },
    ]);
  });

  test("joins frames and headers cut across chunks, and UTF-8 cut inside a character", async () => {
    const whole = frame(1, "2026-12-07T23:40:00Z grüße\n");
    const parts = [whole.slice(0, 3), whole.slice(3, 30), whole.slice(30)];
    expect((await collect(parts)).map((l) => l.line)).toEqual(["grüße"]);
  });

  test("delivers a last line without newline at the end and cuts overlong lines", async () => {
    const long = "x".repeat(MAX_LINE_CHARS + 5);
    const lines = await collect([frame(2, `2026-12-07T23:40:00Z ${long}\n`), frame(1, "2026-12-07T23:40:00Z tail")]);
    expect(lines.map((l) => [l.stream, l.line.length])).toEqual([
      ["stderr", MAX_LINE_CHARS],
      ["stderr", 5],
      ["stdout", 4],
    ]);
  });

  test("parseDockerTime refuses what is not a timestamp", () => {
    expect(parseDockerTime("hello")).toBeNaN();
    expect(parseDockerTime("2026-12-07T23:40:00+02:00")).toBe(Date.parse("2026-12-07T21:40:00Z"));
  });
});
