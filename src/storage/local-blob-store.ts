// BlobStore on the local file system under BROWSERGRID_DATA_DIR/storage. A put writes a
// hidden temp file in the target directory, fsyncs it and renames it over the key, so a crash
// leaves either the old blob or the new one (plus at worst a temp file, swept on open).
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { open, rename, rm, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { BlobTooLarge, checkKey, CorruptBlob, type BlobInfo, type BlobStore } from "./blob-store";

const TEMP_PREFIX = ".tmp-";

export class LocalBlobStore implements BlobStore {
  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  /** Removes temp files left by a crash mid-write (call once at start). */
  sweepTemp(dir = this.root): number {
    let n = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) n += this.sweepTemp(p);
      else if (e.name.startsWith(TEMP_PREFIX)) {
        rmSync(p, { force: true });
        n++;
      }
    }
    return n;
  }

  private path(key: string): string {
    return join(this.root, ...checkKey(key));
  }

  async put(key: string, data: Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>, opts: { maxBytes?: number } = {}): Promise<BlobInfo> {
    const target = this.path(key);
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    const temp = join(dirname(target), `${TEMP_PREFIX}${crypto.randomUUID()}`);
    const hash = createHash("sha256");
    let size = 0;
    const fh = await open(temp, "wx", 0o600);
    try {
      const write = async (chunk: Uint8Array) => {
        size += chunk.byteLength;
        if (opts.maxBytes !== undefined && size > opts.maxBytes) throw new BlobTooLarge(opts.maxBytes);
        hash.update(chunk);
        await fh.write(chunk);
      };
      if (data instanceof Uint8Array) await write(data);
      else for await (const chunk of data as unknown as AsyncIterable<Uint8Array>) await write(chunk);
      await fh.sync();
      await fh.close();
      await rename(temp, target);
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(temp).catch(() => {});
      throw err;
    }
    return { key, size, sha256: hash.digest("hex") };
  }

  async read(key: string, opts: { sha256?: string } = {}): Promise<Uint8Array> {
    const bytes = new Uint8Array(await Bun.file(this.path(key)).arrayBuffer());
    if (opts.sha256) {
      const actual = createHash("sha256").update(bytes).digest("hex");
      if (actual !== opts.sha256) throw new CorruptBlob(key, opts.sha256, actual);
    }
    return bytes;
  }

  stream(key: string): ReadableStream<Uint8Array> | null {
    const p = this.path(key);
    try {
      if (!statSync(p).isFile()) return null;
    } catch {
      return null;
    }
    return Bun.file(p).stream();
  }

  async size(key: string): Promise<number | null> {
    try {
      const s = await stat(this.path(key));
      return s.isFile() ? s.size : null;
    } catch {
      return null;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<void> {
    await rm(join(this.root, ...checkKey(prefix, { prefix: true })), { recursive: true, force: true });
  }
}
