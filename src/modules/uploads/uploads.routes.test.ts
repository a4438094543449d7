// The uploads API through the real app with an in-memory provider: who may upload, which names
// and sizes are taken, and that a refused upload writes nothing. The real copy into a real
// browser, and the page reading it, is in test/e2e/uploads.e2e.test.ts.
import { describe, expect, test } from "bun:test";
import { makeTestApp } from "../../../test/helpers/app";
import { FakeProvider } from "../../../test/helpers/fake-provider";
import { ProviderRegistryImpl } from "../../providers/registry";
import type { IncomingFile } from "../../providers/provider";
import { ensureDefaultPool, updatePool } from "../pools/pools.service";
import { registerWorker, setWorkerStatus } from "../workers/workers.service";

class RecordingProvider extends FakeProvider {
  readonly files: { handle: string; dir: string; name: string; content: string }[] = [];
  async copyFileIn(handle: string, dir: string, file: IncomingFile): Promise<void> {
    const chunks: Uint8Array[] = [];
    for await (const c of file.body) chunks.push(c);
    this.files.push({ handle, dir, name: file.name, content: Buffer.concat(chunks).toString() });
  }
}

async function setup() {
  const providers = new ProviderRegistryImpl();
  const t = await makeTestApp({ providers });
  const pool = ensureDefaultPool(t.deps.db);
  updatePool(t.deps.db, "default", { storageMb: 16 });
  const worker = registerWorker(t.deps.db, { name: "local", poolId: pool.id, endpoint: "unix:///fake.sock", kind: "docker", capacity: 4 });
  setWorkerStatus(t.deps.db, worker.id, "online");
  const provider = new RecordingProvider(worker.id);
  providers.set(worker.id, provider);
  const upload = (key: string, sessionId: string, name: string, body: string | ReadableStream, headers: Record<string, string> = {}) =>
    t.app
      .handle(
        new Request(`http://localhost/api/v1/sessions/${sessionId}/uploads?name=${encodeURIComponent(name)}`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/octet-stream", ...(typeof body === "string" ? { "content-length": String(Buffer.byteLength(body)) } : {}), ...headers },
          body,
        }),
      )
      .then(async (res) => ({ status: res.status, body: (await res.json()) as any }));
  return { t, provider, upload };
}

describe("POST /api/v1/sessions/:id/uploads", () => {
  test("the owner uploads a file and gets the path a client passes to DOM.setFileInputFiles; an admin may too", async () => {
    const { t, provider, upload } = await setup();
    const s = await t.call("POST", "/api/v1/sessions", { auth: t.memberKey, body: {} });
    expect(s.status).toBe(201);
    const res = await upload(t.memberKey, s.body.id, "report-2026.csv", "a,b\n1,2\n");
    expect(res).toEqual({ status: 201, body: { name: "report-2026.csv", path: "/home/browser/uploads/report-2026.csv", size: 8 } });
    expect(provider.files).toEqual([{ handle: expect.any(String), dir: "/home/browser/uploads", name: "report-2026.csv", content: "a,b\n1,2\n" }]);
    expect((await upload(t.adminKey, s.body.id, "from-admin.txt", "x")).status).toBe(201);
  });

  test("viewers, other users' sessions and unknown sessions are refused; nothing is written", async () => {
    const { t, provider, upload } = await setup();
    const mine = await t.call("POST", "/api/v1/sessions", { auth: t.memberKey, body: {} });
    const admins = await t.call("POST", "/api/v1/sessions", { auth: t.adminKey, body: {} });
    expect((await upload(t.viewerKey, mine.body.id, "a.txt", "x")).status).toBe(403);
    expect((await upload(t.memberKey, admins.body.id, "a.txt", "x")).status).toBe(404);
    expect((await upload(t.memberKey, "ses_doesnotexist", "a.txt", "x")).status).toBe(404);
    expect(provider.files).toEqual([]);
  });

  test("names that are not plain file names, sizes past the pool's cap and bodies without a length are refused; nothing is written", async () => {
    const { t, provider, upload } = await setup();
    const s = await t.call("POST", "/api/v1/sessions", { auth: t.memberKey, body: {} });
    for (const name of ["../etc/passwd", "a/b.txt", ".bashrc", "a..b", "-rf", "", "x".repeat(101), "a b.txt", "caf\u00e9.txt"]) {
      const res = await upload(t.memberKey, s.body.id, name, "x");
      expect(res.status, name).toBe(400);
    }
    const big = await upload(t.memberKey, s.body.id, "big.bin", "x", { "content-length": String(17 * 1024 * 1024) });
    expect(big.status).toBe(413);
    expect(big.body.error.message).toContain("storageMb");
    const stream = new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode("chunked")), c.close()) });
    const chunked = await upload(t.memberKey, s.body.id, "chunked.txt", stream);
    expect(chunked.status).toBe(411);
    expect(provider.files).toEqual([]);
  });

  test("a session that is not running takes no upload", async () => {
    const { t, provider, upload } = await setup();
    const s = await t.call("POST", "/api/v1/sessions", { auth: t.memberKey, body: {} });
    await t.call("DELETE", `/api/v1/sessions/${s.body.id}`, { auth: t.memberKey });
    const res = await upload(t.memberKey, s.body.id, "late.txt", "x");
    expect(res.status).toBe(409);
    expect(provider.files).toEqual([]);
  });
});
