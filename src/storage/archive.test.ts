// Archive validation: what must be refused (and leave nothing behind) and what must pass.
import { describe, expect, test } from "bun:test";
import { extract, pack } from "tar-stream";
import { BadRequest } from "../lib/errors";
import { peakRssGrowth, zeroBomb } from "../../test/helpers/archives";
import { ArchiveRejected, normaliseEntryName, sanitizeArchive as sanitizeTo, type ArchiveLimits, type ArchiveSource, type SanitizeOptions } from "./archive";

const LIMITS: ArchiveLimits = { maxFileBytes: 1024, maxTotalBytes: 4096, maxEntries: 50 };

type E = { name: string; type?: "file" | "directory" | "symlink" | "link" | "character-device" | "fifo"; body?: string; size?: number; linkname?: string };

/** A tar built entry by entry, exactly as written (tar-stream does not clean names). */
async function tarOf(entries: E[], gzip = false): Promise<Uint8Array> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on("end", () => r()));
  for (const e of entries) {
    const type = e.type ?? "file";
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === "file") p.entry({ name: e.name, type, mode: 0o4755 }, e.body ?? "", cb);
      else p.entry({ name: e.name, type, linkname: e.linkname, mode: 0o644 }, cb);
    });
  }
  p.finalize();
  await done;
  const tar = Buffer.concat(chunks);
  return gzip ? Bun.gzipSync(tar) : new Uint8Array(tar);
}

/** The rebuilt archive collected in memory (small test archives only). */
async function sanitizeArchive(input: ArchiveSource, opts: SanitizeOptions) {
  const r = await sanitizeTo(input, opts, async (out) => {
    const chunks: Uint8Array[] = [];
    for await (const c of out) chunks.push(c);
    return new Uint8Array(Buffer.concat(chunks));
  });
  return { ...r, tarGz: r.stored };
}

async function entriesOf(tarGz: Uint8Array): Promise<{ name: string; type: string; mode: number; uid: number; body: string }[]> {
  const ex = extract();
  const out: { name: string; type: string; mode: number; uid: number; body: string }[] = [];
  const feed = (async () => {
    ex.end(Buffer.from(Bun.gunzipSync(Buffer.from(tarGz))));
  })();
  for await (const e of ex) {
    let body = "";
    for await (const c of e as AsyncIterable<Buffer>) body += c.toString();
    out.push({ name: e.header.name, type: e.header.type!, mode: e.header.mode!, uid: e.header.uid!, body });
  }
  await feed;
  return out;
}

describe("sanitizeArchive: refused archives", () => {
  const cases: [string, E[], RegExp][] = [
    ["../ entry", [{ name: "../evil", body: "x" }], /outside/],
    ["nested ../", [{ name: "Default/../../evil", body: "x" }], /outside/],
    ["absolute path", [{ name: "/etc/passwd", body: "x" }], /outside/],
    ["symlink", [{ name: "Default/link", type: "symlink", linkname: "/etc/shadow" }], /symlink/],
    ["hardlink", [{ name: "a", body: "x" }, { name: "b", type: "link", linkname: "a" }], /link/],
    ["character device", [{ name: "dev", type: "character-device" }], /character-device/],
    ["fifo", [{ name: "pipe", type: "fifo" }], /fifo/],
    ["oversized file", [{ name: "big", body: "x".repeat(2000) }], /limit is 1024/],
    ["total too large", Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, body: "x".repeat(1000) })), /add up/],
    ["too many entries", Array.from({ length: 60 }, (_, i) => ({ name: `f${i}`, body: "" })), /entries/],
    ["duplicate entry", [{ name: "a", body: "1" }, { name: "a", body: "2" }], /twice/],
  ];
  for (const [what, entries, message] of cases)
    for (const gzip of [false, true])
      test(`${what}${gzip ? " (gzip)" : ""}`, async () => {
        const input = await tarOf(entries, gzip);
        const err = await sanitizeArchive(input, { mode: "import", limits: LIMITS }).catch((e) => e);
        expect(err).toBeInstanceOf(ArchiveRejected);
        expect(err.status).toBe(400);
        expect(err.message).toMatch(message);
      });

  test("garbage bytes", async () => {
    const err = await sanitizeArchive(new TextEncoder().encode("not a tar at all".repeat(100)), { mode: "import", limits: LIMITS }).catch((e) => e);
    expect(err).toBeInstanceOf(ArchiveRejected);
  });

  test("a gzip bomb stops at the cap, before it is all unpacked", async () => {
    const bomb = Bun.gzipSync(new Uint8Array(64 * 1024 * 1024)); // 64 MiB of zeros ≈ 64 KiB compressed
    const err = await sanitizeArchive(bomb, { mode: "import", limits: LIMITS }).catch((e) => e);
    expect(err).toBeInstanceOf(ArchiveRejected);
  });
});

describe("sanitizeArchive: accepted archives", () => {
  test("files and directories are rebuilt with the browser's uid and plain modes", async () => {
    const input = await tarOf([{ name: "./Default/", type: "directory" }, { name: "./Default/Cookies", body: "c" }, { name: "Local State", body: "{}" }], true);
    const r = await sanitizeArchive(input, { mode: "import", limits: LIMITS });
    expect(r.files).toBe(2);
    expect(r.bytes).toBe(3);
    const entries = await entriesOf(r.tarGz);
    expect(entries.map((e) => [e.name, e.type, e.mode, e.uid])).toEqual([
      ["Default", "directory", 0o700, 1000],
      ["Default/Cookies", "file", 0o600, 1000],
      ["Local State", "file", 0o600, 1000],
    ]);
    expect(entries[1]!.body).toBe("c");
  });

  test("browser mode: prefix stripped, lock symlinks dropped, caches skipped", async () => {
    const input = await tarOf([
      { name: "profile/", type: "directory" },
      { name: "profile/SingletonLock", type: "symlink", linkname: "host-1" },
      { name: "profile/Default/", type: "directory" },
      { name: "profile/Default/Cache/", type: "directory" },
      { name: "profile/Default/Cache/data_0", body: "cache" },
      { name: "profile/Default/Cookies", body: "cookie" },
    ]);
    const r = await sanitizeArchive(input, { mode: "browser", limits: LIMITS, stripPrefix: "profile", skip: (p) => p === "Default/Cache" });
    expect((await entriesOf(r.tarGz)).map((e) => e.name)).toEqual(["Default", "Default/Cookies"]);
    expect(r.dropped).toBe(3);
  });

  test("browser mode still refuses names outside the directory", async () => {
    const input = await tarOf([{ name: "other/x", body: "1" }]);
    await expect(sanitizeArchive(input, { mode: "browser", limits: LIMITS, stripPrefix: "profile" })).rejects.toThrow(/outside/);
  });
});

describe("sanitizeArchive: memory stays bounded", () => {
  const MiB = 1024 * 1024;
  const BIG: ArchiveLimits = { maxFileBytes: 128 * MiB, maxTotalBytes: 512 * MiB, maxEntries: 1000 };
  /** Counts the rebuilt archive's bytes without keeping them. */
  const discard = async (out: AsyncIterable<Uint8Array>) => {
    let n = 0;
    for await (const c of out) n += c.byteLength;
    return n;
  };

  test("a 370 KB archive of 384 MiB of zeros streams through without being held", async () => {
    const bomb = await zeroBomb(3, 128 * MiB);
    const { growth, result } = await peakRssGrowth(() => sanitizeTo(bomb, { mode: "import", limits: BIG }, discard));
    expect(result).toMatchObject({ files: 3, bytes: 384 * MiB });
    expect(growth).toBeLessThan(256 * MiB); // holding the data whole would take 300 MiB or more
  }, 120_000);

  test("a bomb over the total cap is refused, its bytes never held", async () => {
    const bomb = await zeroBomb(3, 128 * MiB);
    const { growth, result } = await peakRssGrowth(() => sanitizeTo(bomb, { mode: "import", limits: { ...BIG, maxTotalBytes: 300 * MiB } }, discard));
    expect(result).toBeInstanceOf(ArchiveRejected);
    expect((result as Error).message).toMatch(/add up/);
    expect(growth).toBeLessThan(256 * MiB); // holding the data whole would take 300 MiB or more
  }, 120_000);

  test("a sink that fails (a full disk) is the caller's error as it is, not a refused archive", async () => {
    const input = await tarOf([{ name: "a", body: "1" }, { name: "b", body: "2" }]);
    const full = Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
    const err = await sanitizeTo(input, { mode: "import", limits: LIMITS }, async () => {
      throw full;
    }).catch((e) => e);
    expect(err).toBe(full);
  });

  test("the source's own refusal (a body over its cap) reaches the caller as it is", async () => {
    class TooLarge extends BadRequest {}
    const failing = (async function* () {
      yield new Uint8Array(1024);
      throw new TooLarge("the body is over its cap", "payload_too_large");
    })();
    const sinkSaw: unknown[] = [];
    const err = await sanitizeTo(failing, { mode: "import", limits: LIMITS }, (out) => discard(out).catch((e) => (sinkSaw.push(e), Promise.reject(e)))).catch((e) => e);
    expect(err).toBeInstanceOf(TooLarge);
    expect(sinkSaw).toHaveLength(1); // the sink saw the failure too, so it can remove what it wrote
  });
});

test("normaliseEntryName", () => {
  expect(normaliseEntryName("./a/b/")).toBe("a/b");
  expect(normaliseEntryName("a//b")).toBeNull();
  expect(normaliseEntryName("a/./b")).toBeNull();
  expect(normaliseEntryName("a\0b")).toBeNull();
  expect(normaliseEntryName("./")).toBe("");
  expect(normaliseEntryName("profile/x", "profile")).toBe("x");
  expect(normaliseEntryName("profilex/y", "profile")).toBeNull();
});
