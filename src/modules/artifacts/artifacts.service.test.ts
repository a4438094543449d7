// Downloads read out of a browser container: only plain files inside the directory are kept,
// and each streams into storage without being held in memory whole.
import { expect, test } from "bun:test";
import { pack } from "tar-stream";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { makeTestApp } from "../../../test/helpers/app";
import { peakRssGrowth } from "../../../test/helpers/archives";
import { FakeProvider } from "../../../test/helpers/fake-provider";
import { ProviderRegistryImpl } from "../../providers/registry";
import { findPoolByName } from "../pools/pools.service";
import { registerWorker, setWorkerStatus } from "../workers/workers.service";
import { storageOf } from "../profiles/session-storage";

const MiB = 1024 * 1024;

async function sessionOf() {
  const providers = new ProviderRegistryImpl();
  const t = await makeTestApp({ providers });
  const worker = registerWorker(t.deps.db, { name: "local", poolId: findPoolByName(t.deps.db, "default")!.id, endpoint: "unix:///fake.sock", kind: "docker", capacity: 10 });
  setWorkerStatus(t.deps.db, worker.id, "online");
  providers.set(worker.id, new FakeProvider(worker.id));
  const s = await t.call("POST", "/api/v1/sessions", { auth: t.memberKey, body: {} });
  expect(s.status).toBe(201);
  return { t, sessionId: s.body.id as string, artifacts: storageOf(t.deps).artifacts };
}

/** A tar as Docker's archive API streams it, made as it is read (a big file costs no memory). */
function downloadsTar(files: { name: string; size: number; type?: "file" | "symlink"; fill?: number }[]): NodeJS.ReadableStream {
  const p = pack();
  void (async () => {
    for (const f of files) {
      const piece = Buffer.alloc(Math.min(MiB, Math.max(f.size, 1)), f.fill ?? 0x61);
      if (f.type === "symlink") {
        p.entry({ name: f.name, type: "symlink", linkname: "/etc/passwd" });
        continue;
      }
      const entry = p.entry({ name: f.name, size: f.size });
      for (let left = f.size; left > 0; left -= piece.length) if (!entry.write(left >= piece.length ? piece : piece.subarray(0, left))) await new Promise<void>((r) => entry.once("drain", () => r()));
      await new Promise<void>((r) => entry.end(() => r()));
    }
    p.finalize();
  })();
  return p as unknown as NodeJS.ReadableStream;
}

test("only plain files inside the downloads directory become artifacts", async () => {
  const { sessionId, artifacts, t } = await sessionOf();
  const n = await artifacts.collectDownloads(sessionId, downloadsTar([
    { name: "downloads/report.csv", size: 10 },
    { name: "downloads/partial.crdownload", size: 5 },
    { name: "downloads/link", size: 0, type: "symlink" },
    { name: "elsewhere/x", size: 3 },
  ]));
  expect(n).toBe(1);
  const listed = await t.call("GET", `/api/v1/sessions/${sessionId}/artifacts`, { auth: t.memberKey });
  expect(listed.body.artifacts.map((a: { name: string; size: number }) => [a.name, a.size])).toEqual([["report.csv", 10]]);
});

test("a 300 MiB download streams into storage: the server does not grow by its size", async () => {
  const { sessionId, artifacts } = await sessionOf();
  const { growth, result } = await peakRssGrowth(() => artifacts.collectDownloads(sessionId, downloadsTar([{ name: "downloads/big.bin", size: 300 * MiB }])));
  expect(result).toBe(1);
  expect(growth).toBeLessThan(256 * MiB); // holding the data whole would take 300 MiB or more
}, 120_000);

const names = (rows: { name: string; size: number }[]) => rows.map((a) => [a.name, a.size]);

test("one finished download: only the named regular file is stored, within the cap", async () => {
  const { sessionId, artifacts } = await sessionOf();
  expect(await artifacts.collectDownload(sessionId, downloadsTar([{ name: "report.csv", size: 0, type: "symlink" }]), "report.csv")).toBeNull();
  expect(await artifacts.collectDownload(sessionId, downloadsTar([{ name: "other.csv", size: 4 }]), "report.csv")).toBeNull();
  expect(await artifacts.collectDownload(sessionId, downloadsTar([{ name: "../report.csv", size: 4 }]), "report.csv")).toBeNull();
  expect(await artifacts.collectDownload(sessionId, downloadsTar([{ name: "report.csv", size: 4 * MiB }]), "report.csv", MiB)).toBeNull();
  expect(artifacts.list(sessionId)).toEqual([]);
  const row = await artifacts.collectDownload(sessionId, downloadsTar([{ name: "report.csv", size: 10 }, { name: "report.csv", size: 20 }]), "report.csv");
  expect(row).toMatchObject({ kind: "download", name: "report.csv", size: 10, contentType: "text/csv" });
  expect(names(artifacts.list(sessionId))).toEqual([["report.csv", 10]]);
});

test("the end-of-session copy does not store again what was stored while the session ran; a changed file is new", async () => {
  const { sessionId, artifacts, t } = await sessionOf();
  expect(await artifacts.collectDownload(sessionId, downloadsTar([{ name: "a.txt", size: 5 }]), "a.txt")).not.toBeNull();
  // The same download reported by a second client: no second row, no second file.
  expect(await artifacts.collectDownload(sessionId, downloadsTar([{ name: "a.txt", size: 5 }]), "a.txt")).toBeNull();
  expect(await artifacts.collectDownload(sessionId, downloadsTar([{ name: "b.txt", size: 5 }]), "b.txt")).not.toBeNull();
  // At the end: a.txt unchanged, b.txt overwritten by a second download of the same name, c.txt new.
  const n = await artifacts.collectDownloads(sessionId, downloadsTar([{ name: "downloads/a.txt", size: 5 }, { name: "downloads/b.txt", size: 5, fill: 0x62 }, { name: "downloads/c.txt", size: 3 }]));
  expect(n).toBe(2);
  expect(artifacts.list(sessionId).map((a) => `${a.name}:${a.sha256.slice(0, 8)}`).sort()).toEqual(
    ["a.txt:" + sha("aaaaa"), "b.txt:" + sha("aaaaa"), "b.txt:" + sha("bbbbb"), "c.txt:" + sha("aaa")].sort(),
  );
  const files = readdirSync(join(t.deps.config.dataDir, "storage", "artifacts", sessionId));
  expect(files.length).toBe(4); // the duplicate's file went with its row
});

const sha = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest("hex").slice(0, 8);

test("collections of one session run one after another; settled() waits for all", async () => {
  const { sessionId, artifacts } = await sessionOf();
  const order: string[] = [];
  const slow = artifacts.collecting(sessionId, async () => {
    await Bun.sleep(50);
    order.push("first");
  });
  const fast = artifacts.collecting(sessionId, async () => {
    order.push("second");
  });
  const failing = artifacts.collecting(sessionId, async () => {
    throw new Error("copy failed");
  });
  const after = artifacts.collecting(sessionId, async () => {
    order.push("after a failure");
  });
  await artifacts.settled(sessionId);
  expect(order).toEqual(["first", "second", "after a failure"]);
  await slow;
  await fast;
  await after;
  expect(failing).rejects.toThrow("copy failed");
});
