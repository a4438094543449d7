import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalBlobStore } from "./local-blob-store";
import { BlobTooLarge, CorruptBlob, safeName } from "./blob-store";

function store() {
  // The root's parent is private to the test too, so "../x" checks cannot meet a stranger's /tmp/x.
  return new LocalBlobStore(join(mkdtempSync(join(tmpdir(), "bg-store-")), "root"));
}

describe("LocalBlobStore", () => {
  test("put → read with checksum → stream → size → delete", async () => {
    const s = store();
    const info = await s.put("profiles/p1/1.tar.gz", new TextEncoder().encode("hello"));
    expect(info).toEqual({ key: "profiles/p1/1.tar.gz", size: 5, sha256: new Bun.CryptoHasher("sha256").update("hello").digest("hex") });
    expect(new TextDecoder().decode(await s.read(info.key, { sha256: info.sha256 }))).toBe("hello");
    expect(await new Response(s.stream(info.key)!).text()).toBe("hello");
    expect(await s.size(info.key)).toBe(5);
    await s.delete(info.key);
    expect(await s.size(info.key)).toBeNull();
    expect(s.stream(info.key)).toBeNull();
  });

  test("a damaged blob fails its checksum", async () => {
    const s = store();
    const info = await s.put("a/b", new TextEncoder().encode("good"));
    writeFileSync(join(s.root, "a", "b"), "evil");
    await expect(s.read("a/b", { sha256: info.sha256 })).rejects.toBeInstanceOf(CorruptBlob);
  });

  test("streams are written whole or not at all; a size cap leaves no file", async () => {
    const s = store();
    const big = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(1000));
        c.close();
      },
    });
    await expect(s.put("x/y", big, { maxBytes: 5000 })).rejects.toBeInstanceOf(BlobTooLarge);
    expect(readdirSync(join(s.root, "x"))).toEqual([]);
  });

  test("keys cannot leave the root", async () => {
    const s = store();
    for (const key of ["../x", "a/../../x", "/etc/passwd", "a//b", ".tmp/x", "a/./b", ""]) await expect(s.put(key, new Uint8Array())).rejects.toThrow(/invalid storage key/);
    expect(existsSync(join(s.root, "..", "x"))).toBe(false);
  });

  test("deletePrefix removes a directory of blobs; sweepTemp removes crash leftovers", async () => {
    const s = store();
    await s.put("artifacts/ses1/a.png", new Uint8Array([1]));
    await s.put("artifacts/ses1/b.png", new Uint8Array([2]));
    writeFileSync(join(s.root, "artifacts", ".tmp-leftover"), "x");
    expect(s.sweepTemp()).toBe(1);
    await s.deletePrefix("artifacts/ses1/");
    expect(existsSync(join(s.root, "artifacts", "ses1"))).toBe(false);
  });

  test("safeName", () => {
    expect(safeName("../../etc/passwd")).toBe("etc_passwd");
    expect(safeName("report 2024.pdf")).toBe("report_2024.pdf");
    expect(safeName("..")).toBe("file");
  });
});
