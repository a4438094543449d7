// Bundle intake: zips and tars that must be refused (with a message naming the problem) and the
// ones that must come out as the same normalised tar.gz.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "tar-stream";
import { zipOf, type ZipSpec } from "../../../test/helpers/zip";
import { zeroBomb } from "../../../test/helpers/archives";
import { intakeBundle, intakeInline, type BundleLimits } from "./bundle-intake";
import { readZipDirectory } from "./bundle-zip";

const LIMITS: BundleLimits = { maxUploadBytes: 1024 * 1024, maxTotalBytes: 64 * 1024, maxFileBytes: 64 * 1024, maxEntries: 20 };
const MANIFEST = JSON.stringify({ name: "bot", entry: "main.ts", runtime: "bun" });

type T = { name: string; type?: "file" | "directory" | "symlink" | "link" | "character-device" | "fifo"; body?: string; linkname?: string };
async function tarGzOf(entries: T[]): Promise<Uint8Array> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on("end", () => r()));
  for (const e of entries)
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if ((e.type ?? "file") === "file") p.entry({ name: e.name, mode: 0o755 }, e.body ?? "", cb);
      else p.entry({ name: e.name, type: e.type, linkname: e.linkname }, cb);
    });
  p.finalize();
  await done;
  return Bun.gzipSync(Buffer.concat(chunks));
}

async function refusal(bytes: Uint8Array, limits = LIMITS): Promise<{ status: number; message: string }> {
  try {
    await intakeBundle(bytes, limits);
  } catch (err) {
    return { status: (err as { status: number }).status, message: (err as Error).message };
  }
  throw new Error("the bundle was accepted");
}

const ok = (extra: ZipSpec[] = []): ZipSpec[] => [{ name: "browsergrid.json", body: MANIFEST }, { name: "main.ts", body: "console.log(1)" }, ...extra];

describe("zip bundles", () => {
  test("a plain zip (stored and deflate) becomes a tar.gz with its files", async () => {
    const r = await intakeBundle(zipOf([{ name: "browsergrid.json", body: MANIFEST, method: 0 }, { name: "lib/", body: "" }, { name: "lib/a.ts", body: "export const a = 1;".repeat(50) }, { name: "main.ts", body: "import {a} from './lib/a'" }]), LIMITS);
    expect(r.manifestText).toBe(MANIFEST);
    expect([...r.listing.keys()].sort()).toEqual(["browsergrid.json", "lib", "lib/a.ts", "main.ts"]);
    expect(r.listing.get("lib/a.ts")!.size).toBe(19 * 50);
    expect(r.tarGz[0]).toBe(0x1f);
    expect(r.strippedDir).toBeNull();
  });

  test("a zip made by the zip tool of a folder is stripped of the folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bg-zip-"));
    try {
      mkdirSync(join(dir, "mybot/src"), { recursive: true });
      writeFileSync(join(dir, "mybot/browsergrid.json"), JSON.stringify({ name: "bot", entry: "src/main.ts", runtime: "bun" }));
      writeFileSync(join(dir, "mybot/src/main.ts"), "console.log('hi')");
      const proc = Bun.spawnSync(["zip", "-r", "-q", "bot.zip", "mybot"], { cwd: dir });
      expect(proc.exitCode).toBe(0);
      const r = await intakeBundle(new Uint8Array(await Bun.file(join(dir, "bot.zip")).arrayBuffer()), LIMITS);
      expect(r.strippedDir).toBe("mybot");
      expect(r.listing.get("src/main.ts")?.type).toBe("file");
      expect(r.listing.has("mybot")).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const refused: [string, Uint8Array, RegExp][] = [
    ["traversal", zipOf(ok([{ name: "../evil.ts", body: "x" }])), /"\.\.\/evil\.ts" points outside/],
    ["absolute path", zipOf(ok([{ name: "/etc/cron.d/x", body: "x" }])), /points outside/],
    ["backslashes", zipOf(ok([{ name: "..\\..\\evil", body: "x" }])), /backslashes/],
    ["symlink", zipOf(ok([{ name: "link", body: "/etc/passwd", unixMode: 0o120777 }])), /"link" is a symbolic link/],
    ["device", zipOf(ok([{ name: "dev", body: "", unixMode: 0o020666 }])), /device, fifo or socket/],
    ["encrypted", zipOf(ok([{ name: "secret.ts", body: "x", flags: 0x0801 }])), /"secret\.ts" is encrypted/],
    ["AES (method 99)", zipOf(ok([{ name: "aes.ts", body: "x", method: 99 }])), /encrypted/],
    ["bzip2 method", zipOf(ok([{ name: "b.ts", body: "x", method: 12 }])), /compression method 12/],
    ["ZIP64", zipOf(ok(), { zip64Locator: true }), /ZIP64/],
    ["duplicate names", zipOf(ok([{ name: "main.ts", body: "again" }])), /"main\.ts" appears twice/],
    ["duplicate after normalising", zipOf(ok([{ name: "./main.ts", body: "again" }])), /appears twice/],
    ["a lying size (bomb)", zipOf(ok([{ name: "big", body: "0".repeat(50_000), declaredSize: 10 }])), /more than the 10 bytes it declares/],
    ["a declared size over the cap", zipOf(ok([{ name: "big", body: "0".repeat(70_000) }])), /"big" is 70000 bytes; the limit is 65536/],
    ["too many entries", zipOf(ok(Array.from({ length: 25 }, (_, i) => ({ name: `f${i}`, body: "x" })))), /more than 20 entries/],
    ["a bad CRC", zipOf(ok([{ name: "c.ts", body: "hello", crc: 1234 }])), /"c\.ts" is damaged \(CRC-32/],
    ["a local name that differs", zipOf(ok([{ name: "a.ts", localName: "../a.ts", body: "x" }])), /different name in its local header/],
    ["a non-UTF-8 name", zipOf(ok([{ name: "x", rawName: new Uint8Array([0xff, 0xfe, 0x41]), body: "x" }])), /not UTF-8/],
    ["trailing data", zipOf(ok(), { trailing: new Uint8Array([1, 2, 3]) }), /after its end record/],
    ["no end record", new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0]), /no end of central directory/],
  ];
  test.each(refused)("refuses %s with 400 naming it", async (_, bytes, message) => {
    const r = await refusal(bytes);
    expect(r.status).toBe(400);
    expect(r.message).toMatch(message);
  });

  test("overlapping entries (the densest zip bombs) are refused", async () => {
    // Two central entries pointing at the same local header and data.
    const one = zipOf([{ name: "a", body: "0".repeat(1000) }]);
    const view = new DataView(one.buffer);
    const end = one.length - 22;
    const cdStart = view.getUint32(end + 16, true);
    const cd = one.slice(cdStart, end);
    const twice = new Uint8Array([...one.slice(0, cdStart), ...cd, ...cd, ...one.slice(end)]);
    const v2 = new DataView(twice.buffer);
    const end2 = twice.length - 22;
    v2.setUint16(end2 + 8, 2, true);
    v2.setUint16(end2 + 10, 2, true);
    v2.setUint32(end2 + 12, cd.length * 2, true);
    expect(() => readZipDirectory(twice, { ...LIMITS, maxEntries: 10 })).toThrow(/appears twice|overlap/);
  });
});

describe("tar.gz bundles", () => {
  const refused: [string, T[], RegExp][] = [
    ["traversal", [{ name: "browsergrid.json", body: MANIFEST }, { name: "../x", body: "x" }], /"\.\.\/x" points outside/],
    ["absolute", [{ name: "/etc/x", body: "x" }], /points outside/],
    ["symlink", [{ name: "browsergrid.json", body: MANIFEST }, { name: "l", type: "symlink", linkname: "/etc/passwd" }], /"l" is a symlink/],
    ["hardlink", [{ name: "browsergrid.json", body: MANIFEST }, { name: "h", type: "link", linkname: "browsergrid.json" }], /"h" is a link/],
    ["device", [{ name: "d", type: "character-device" }], /"d" is a character-device/],
    ["fifo", [{ name: "f", type: "fifo" }], /"f" is a fifo/],
    ["duplicates", [{ name: "browsergrid.json", body: MANIFEST }, { name: "browsergrid.json", body: MANIFEST }], /appears twice/],
  ];
  test.each(refused)("refuses %s with 400 naming it", async (_, entries, message) => {
    const r = await refusal(await tarGzOf(entries));
    expect(r.status).toBe(400);
    expect(r.message).toMatch(message);
  });

  test("a gzip bomb stops at the unpacked cap", async () => {
    const r = await refusal(await zeroBomb(1, 8 * 1024 * 1024));
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/larger than|the limit is/);
  });

  test("an upload over the bundle cap is 413", async () => {
    const r = await refusal(new Uint8Array(LIMITS.maxUploadBytes + 1).fill(1));
    expect(r.status).toBe(413);
    expect(r.message).toMatch(/larger than 1048576 bytes/);
  });

  test("no manifest is 400 manifest_missing; a manifest in a nested directory does not count", async () => {
    expect((await refusal(await tarGzOf([{ name: "main.ts", body: "x" }]))).message).toMatch(/no browsergrid\.json/);
    expect((await refusal(await tarGzOf([{ name: "a/b/browsergrid.json", body: MANIFEST }]))).message).toMatch(/no browsergrid\.json/);
    expect((await refusal(await tarGzOf([{ name: "a/browsergrid.json", body: MANIFEST }, { name: "b/main.ts", body: "x" }]))).message).toMatch(/no browsergrid\.json/);
  });

  test("a wrapper directory is stripped; modes and clutter are normalised away", async () => {
    const r = await intakeBundle(
      await tarGzOf([{ name: "bot/", type: "directory" }, { name: "bot/browsergrid.json", body: MANIFEST }, { name: "bot/main.ts", body: "x" }, { name: "__MACOSX/._main.ts", body: "junk" }, { name: "bot/.DS_Store", body: "junk" }]),
      LIMITS,
    );
    expect(r.strippedDir).toBe("bot");
    expect([...r.listing.keys()].sort()).toEqual(["browsergrid.json", "main.ts"]);
  });

  test("the inline form packs the manifest and files", async () => {
    const r = await intakeInline({ manifest: JSON.parse(MANIFEST), files: { "main.ts": "console.log(1)" } }, LIMITS);
    expect(JSON.parse(r.manifestText)).toEqual(JSON.parse(MANIFEST));
    expect(r.listing.get("main.ts")?.size).toBe(14);
    await expect(intakeInline({ manifest: {}, files: { "../x.ts": "x" } }, LIMITS)).rejects.toThrow(/points outside/);
    await expect(intakeInline({ manifest: {}, files: { "browsergrid.json": "{}" } }, LIMITS)).rejects.toThrow(/not as a file/);
  });
});
