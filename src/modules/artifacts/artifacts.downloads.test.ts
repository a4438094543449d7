// The copy of one finished download while the session runs, against a provider whose copyOut
// is scripted: what is copied (one file, by its path), within which cap and deadline, and what
// happens when the copy fails. The real path (Docker, Chromium, Playwright, SSH) is
// test/e2e/downloads.e2e.test.ts.
import { expect, test } from "bun:test";
import { pack } from "tar-stream";
import { PassThrough } from "node:stream";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { makeTestApp } from "../../../test/helpers/app";
import { FakeProvider } from "../../../test/helpers/fake-provider";
import { ProviderRegistryImpl } from "../../providers/registry";
import { createPool, findPoolByName } from "../pools/pools.service";
import { registerWorker, setWorkerStatus } from "../workers/workers.service";
import { listEvents } from "../sessions/sessions.store";
import { storageOf } from "../profiles/session-storage";
import { captureFinishedDownload } from "./artifacts.downloads";

const MiB = 1024 * 1024;

/** copyOut answers what `files[<file name>]` gives for a path in the downloads dir; the paths are recorded. */
class CopyingProvider extends FakeProvider {
  asked: string[] = [];
  files: Record<string, () => Promise<NodeJS.ReadableStream>> = {};
  async copyOut(_handle: string, path: string): Promise<NodeJS.ReadableStream> {
    this.asked.push(path);
    const answer = this.files[path.replace("/home/browser/downloads/", "")];
    if (!answer) throw new Error(`${path} does not exist`);
    return answer();
  }
}

function oneFileTar(name: string, size: number, fill = 0x61): NodeJS.ReadableStream {
  const p = pack();
  void (async () => {
    const entry = p.entry({ name, size });
    const piece = Buffer.alloc(Math.min(MiB, Math.max(size, 1)), fill);
    for (let left = size; left > 0; left -= piece.length) if (!entry.write(left >= piece.length ? piece : piece.subarray(0, left))) await new Promise<void>((r) => entry.once("drain", () => r()));
    await new Promise<void>((r) => entry.end(() => r()));
    p.finalize();
  })();
  return p as unknown as NodeJS.ReadableStream;
}

async function runningSession(pool?: { name: string; storageMb: number }) {
  const providers = new ProviderRegistryImpl();
  const t = await makeTestApp({ providers });
  const poolId = pool ? createPool(t.deps.db, pool.name, { storageMb: pool.storageMb }).id : findPoolByName(t.deps.db, "default")!.id;
  const worker = registerWorker(t.deps.db, { name: "w1", poolId, endpoint: "unix:///fake.sock", kind: "docker", capacity: 10 });
  setWorkerStatus(t.deps.db, worker.id, "online");
  const provider = new CopyingProvider(worker.id);
  providers.set(worker.id, provider);
  const s = await t.call("POST", "/api/v1/sessions", { auth: t.memberKey, body: pool ? { pool: pool.name } : {} });
  expect(s.status).toBe(201);
  const sessionId = s.body.id as string;
  return { t, provider, sessionId, artifacts: storageOf(t.deps).artifacts };
}

test("the one finished file is copied by its path and stored; listing waits for the copy", async () => {
  const { t, provider, sessionId, artifacts } = await runningSession();
  provider.files["report (1).csv"] = async () => {
    await Bun.sleep(50);
    return oneFileTar("report (1).csv", 12);
  };
  captureFinishedDownload(t.deps, sessionId, { guid: "g1", name: "report (1).csv" });
  const listed = await t.call("GET", `/api/v1/sessions/${sessionId}/artifacts`, { auth: t.memberKey });
  expect(listed.body.artifacts.map((a: { kind: string; name: string; size: number }) => [a.kind, a.name, a.size])).toEqual([["download", "report (1).csv", 12]]);
  const stored = listEvents(t.deps.db, sessionId).filter((e) => e.type === "download_stored");
  expect(stored.map((e) => (e.detail as { name: string }).name)).toEqual(["report (1).csv"]);
  expect(artifacts.list(sessionId)).toHaveLength(1);
  expect(provider.asked).toEqual(["/home/browser/downloads/report (1).csv"]);
});

test("a session that is not running copies nothing", async () => {
  const { t, provider, sessionId, artifacts } = await runningSession();
  expect((await t.call("DELETE", `/api/v1/sessions/${sessionId}`, { auth: t.memberKey })).status).toBe(200);
  captureFinishedDownload(t.deps, sessionId, { guid: "g1", name: "a.txt" });
  captureFinishedDownload(t.deps, "ses_unknown", { guid: "g1", name: "a.txt" });
  await artifacts.settled(sessionId);
  expect(provider.asked).toEqual([]);
});

test("a file larger than the pool's downloads cap is not stored", async () => {
  const { t, provider, sessionId, artifacts } = await runningSession({ name: "small", storageMb: 16 });
  provider.files["big.bin"] = async () => oneFileTar("big.bin", 17 * MiB);
  provider.files["ok.bin"] = async () => oneFileTar("ok.bin", 15 * MiB);
  captureFinishedDownload(t.deps, sessionId, { guid: "g1", name: "big.bin" });
  captureFinishedDownload(t.deps, sessionId, { guid: "g2", name: "ok.bin" });
  await artifacts.settled(sessionId);
  expect(artifacts.list(sessionId).map((a) => [a.name, a.size])).toEqual([["ok.bin", 15 * MiB]]);
  expect(provider.asked).toHaveLength(2);
});

test("a failed copy stores nothing and the next copy still runs", async () => {
  const { t: app, provider, sessionId, artifacts } = await runningSession();
  const warnings: { name: string; err: string }[] = [];
  const log = Object.create(app.deps.log) as typeof app.deps.log;
  log.warn = (_msg: string, fields?: Record<string, unknown>) => void warnings.push({ name: String(fields?.name), err: (fields?.err as Error)?.message });
  const t = { ...app, deps: { ...app.deps, log } };
  provider.files["a.txt"] = async () => {
    throw new Error("worker unreachable");
  };
  captureFinishedDownload(t.deps, sessionId, { guid: "g1", name: "a.txt" });
  // A tar that breaks half way: no artifact, no file left behind.
  provider.files["b.txt"] = async () => {
    const broken = new PassThrough();
    const tar = oneFileTar("b.txt", 2 * MiB);
    let n = 0;
    tar.on("data", (chunk: Buffer) => {
      n += chunk.length;
      if (n > MiB) broken.destroy(new Error("connection reset"));
      else broken.write(chunk);
    });
    return broken;
  };
  captureFinishedDownload(t.deps, sessionId, { guid: "g2", name: "b.txt" });
  provider.files["c.txt"] = async () => oneFileTar("c.txt", 3);
  captureFinishedDownload(t.deps, sessionId, { guid: "g3", name: "c.txt" });
  await artifacts.settled(sessionId);
  expect(artifacts.list(sessionId).map((a) => a.name)).toEqual(["c.txt"]);
  expect(warnings.map((w) => w.name)).toEqual(["a.txt", "b.txt"]);
  expect(warnings.map((w) => w.err)).toEqual(["worker unreachable", "connection reset"]);
  expect(readdirSync(join(t.deps.config.dataDir, "storage", "artifacts", sessionId)).length).toBe(1);
});

test("a copy that never ends is cut off at its deadline", async () => {
  const { t, provider, sessionId, artifacts } = await runningSession();
  const stalled = new PassThrough();
  provider.files["slow.bin"] = async () => stalled; // a header's worth, then nothing
  stalled.write(Buffer.alloc(100));
  const started = performance.now();
  captureFinishedDownload(t.deps, sessionId, { guid: "g1", name: "slow.bin" }, 300);
  await artifacts.settled(sessionId);
  expect(performance.now() - started).toBeLessThan(5000);
  expect(stalled.destroyed).toBe(true);
  expect(artifacts.list(sessionId)).toEqual([]);
}, 10_000);
