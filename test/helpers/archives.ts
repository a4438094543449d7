// Archives for tests and benches, built as streams so that making a bomb never costs its
// unpacked size: tar.gz files of zeros that compress about 1000:1.
import { createGzip } from "node:zlib";
import { pack } from "tar-stream";

/**
 * A tar.gz of `files` files of `fileBytes` zeros each (`files` × `fileBytes` unpacked). Three
 * files of 128 MiB come to about 370 KB.
 */
export async function zeroBomb(files: number, fileBytes: number): Promise<Uint8Array> {
  const p = pack();
  const gz = p.pipe(createGzip({ level: 9 }));
  const chunks: Buffer[] = [];
  gz.on("data", (c: Buffer) => void chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    gz.on("end", resolve);
    gz.on("error", reject);
  });
  const zeros = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < files; i++) {
    const entry = p.entry({ name: `Default/zeros-${i}`, size: fileBytes, mode: 0o600 });
    for (let left = fileBytes; left > 0; left -= zeros.length) {
      const piece = left >= zeros.length ? zeros : zeros.subarray(0, left);
      if (!entry.write(piece)) await new Promise<void>((r) => entry.once("drain", () => r()));
    }
    await new Promise<void>((resolve, reject) => {
      entry.once("error", reject);
      entry.end(() => resolve());
    });
  }
  p.finalize();
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}

/** A small profile-like tar.gz: two directories and a few files with known content. */
export async function smallProfile(): Promise<{ tarGz: Uint8Array; files: Record<string, string> }> {
  const files: Record<string, string> = { "Local State": '{"a":1}', "Default/Cookies": "cookie-bytes", "Default/Preferences": '{"p":true}' };
  const p = pack();
  const gz = p.pipe(createGzip());
  const chunks: Buffer[] = [];
  gz.on("data", (c: Buffer) => void chunks.push(c));
  const done = new Promise<void>((resolve) => gz.on("end", () => resolve()));
  p.entry({ name: "Default/", type: "directory" });
  for (const [name, body] of Object.entries(files)) p.entry({ name, mode: 0o644 }, body);
  p.finalize();
  await done;
  return { tarGz: new Uint8Array(Buffer.concat(chunks)), files };
}

/** A body stream without a Content-Length, in 64 KiB pieces (what a chunked upload looks like). */
export function chunked(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, (at += 64 * 1024)));
    },
  });
}

/** The peak resident memory of this process while `work` runs, above what it was before. */
export async function peakRssGrowth(work: () => Promise<unknown>): Promise<{ growth: number; result: unknown }> {
  Bun.gc(true);
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  try {
    const result = await work().catch((err) => err);
    peak = Math.max(peak, process.memoryUsage.rss());
    return { growth: peak - before, result };
  } finally {
    clearInterval(sampler);
  }
}
