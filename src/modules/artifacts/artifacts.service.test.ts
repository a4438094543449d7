// Downloads read out of a browser container: only plain files inside the directory are kept,
// and each streams into storage without being held in memory whole.
import { expect, test } from "bun:test";
import { pack } from "tar-stream";
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
function downloadsTar(files: { name: string; size: number; type?: "file" | "symlink" }[]): NodeJS.ReadableStream {
  const p = pack();
  void (async () => {
    const piece = Buffer.alloc(MiB, 0x61);
    for (const f of files) {
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
