// Profiles API and the lock rules, on the full app with a fake provider (fast). The real
// transfer through Docker and Chromium is in test/e2e/profiles.e2e.test.ts.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { extract } from "tar-stream";
import { makeTestApp } from "../../../test/helpers/app";
import { chunked, peakRssGrowth, smallProfile, zeroBomb } from "../../../test/helpers/archives";
import { FakeProvider } from "../../../test/helpers/fake-provider";
import { ProviderRegistryImpl } from "../../providers/registry";
import { registerWorker, setWorkerStatus } from "../workers/workers.service";
import { findPoolByName } from "../pools/pools.service";
import { storageOf } from "./session-storage";
import * as sessionsStore from "../sessions/sessions.store";

async function setup() {
  const providers = new ProviderRegistryImpl();
  const t = await makeTestApp({ providers });
  const pool = findPoolByName(t.deps.db, "default")!;
  const worker = registerWorker(t.deps.db, { name: "local", poolId: pool.id, endpoint: "unix:///fake.sock", kind: "docker", capacity: 10 });
  setWorkerStatus(t.deps.db, worker.id, "online");
  providers.set(worker.id, new FakeProvider(worker.id));
  return t;
}

describe("profiles API", () => {
  test("create, list, get by name, rename, delete; names are validated and unique", async () => {
    const t = await setup();
    const created = await t.call("POST", "/api/v1/profiles", { auth: t.memberKey, body: { name: "shop", description: "login" } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "shop", description: "login", currentVersion: null, versions: 0, size: 0, lockedBy: null, lastUsedAt: null });
    expect((await t.call("POST", "/api/v1/profiles", { auth: t.memberKey, body: { name: "shop" } })).status).toBe(409);
    for (const name of ["../x", "", "a b", "x".repeat(65), "-lead"]) expect((await t.call("POST", "/api/v1/profiles", { auth: t.memberKey, body: { name } })).status).toBe(400);
    expect((await t.call("POST", "/api/v1/profiles", { auth: t.memberKey, body: { name: "ok", colour: "red" } })).status).toBe(400);
    expect((await t.call("GET", "/api/v1/profiles/shop", { auth: t.viewerKey })).body.id).toBe(created.body.id);
    expect((await t.call("PATCH", "/api/v1/profiles/shop", { auth: t.memberKey, body: { name: "shop2" } })).body.name).toBe("shop2");
    expect((await t.call("GET", "/api/v1/profiles", { auth: t.memberKey })).body.profiles.map((p: { name: string }) => p.name)).toEqual(["shop2"]);
    expect((await t.call("POST", "/api/v1/profiles", { auth: t.viewerKey, body: { name: "v" } })).status).toBe(403);
    expect((await t.call("DELETE", "/api/v1/profiles/shop2", { auth: t.memberKey })).status).toBe(204);
    expect((await t.call("GET", "/api/v1/profiles/shop2", { auth: t.memberKey })).status).toBe(404);
  });

  test("members see and use only their own profiles; exports need write rights", async () => {
    const t = await setup();
    await t.call("POST", "/api/v1/profiles", { auth: t.adminKey, body: { name: "admins" } });
    expect((await t.call("GET", "/api/v1/profiles/admins", { auth: t.memberKey })).status).toBe(404);
    expect((await t.call("GET", "/api/v1/profiles", { auth: t.memberKey })).body.profiles).toEqual([]);
    expect((await t.call("GET", "/api/v1/profiles/admins", { auth: t.viewerKey })).status).toBe(200);
    expect((await t.call("GET", "/api/v1/profiles/admins/export", { auth: t.viewerKey })).status).toBe(403);
    const s = await t.call("POST", "/api/v1/sessions", { auth: t.memberKey, body: { profile: { name: "admins" } } });
    expect(s.status).toBe(400);
    expect(s.body.error.code).toBe("unknown_profile");
  });

  test("a refused import leaves no row and no file", async () => {
    const t = await setup();
    const res = await t.call("POST", "/api/v1/profiles/import?name=evil", { auth: t.memberKey, body: "definitely not a tar archive".repeat(40), headers: { "content-type": "application/octet-stream" } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("archive_rejected");
    expect((await t.call("GET", "/api/v1/profiles/evil", { auth: t.memberKey })).status).toBe(404);
    const dir = join(t.deps.config.dataDir, "storage", "profiles");
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });
});

describe("import and export stream", () => {
  const importing = (t: Awaited<ReturnType<typeof setup>>, name: string, body: Uint8Array) =>
    t.app.handle(new Request(`http://localhost/api/v1/profiles/import?name=${name}`, { method: "POST", headers: { authorization: `Bearer ${t.memberKey}` }, body: chunked(body), duplex: "half" } as RequestInit));

  test("a profile imported in chunks exports with the same files", async () => {
    const t = await setup();
    const { tarGz, files } = await smallProfile();
    const res = await importing(t, "round", tarGz);
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ name: "round", currentVersion: 1, contentBytes: Object.values(files).join("").length });
    const exported = await t.app.handle(new Request("http://localhost/api/v1/profiles/round/export", { headers: { authorization: `Bearer ${t.memberKey}` } }));
    expect(exported.status).toBe(200);
    const got: Record<string, string> = {};
    const ex = extract();
    const feeding = (async () => ex.end(Buffer.from(Bun.gunzipSync(new Uint8Array(await exported.arrayBuffer())))))();
    for await (const e of ex) {
      let body = "";
      for await (const c of e as AsyncIterable<Buffer>) body += c.toString();
      if (e.header.type === "file") got[e.header.name] = body;
    }
    await feeding;
    expect(got).toEqual(files);
  });

  test("an export whose stored blob was damaged fails instead of passing as complete", async () => {
    const t = await setup();
    const { tarGz } = await smallProfile();
    const created = await (await importing(t, "damaged", tarGz)).json();
    const file = join(t.deps.config.dataDir, "storage", "profiles", created.id, "1.tar.gz");
    const stored = readFileSync(file);
    stored[stored.length - 1] = stored[stored.length - 1]! ^ 0xff;
    writeFileSync(file, stored);
    const exported = await t.app.handle(new Request("http://localhost/api/v1/profiles/damaged/export", { headers: { authorization: `Bearer ${t.memberKey}` } }));
    expect(exported.status).toBe(200); // the headers go out before the end of the blob is read
    await expect(exported.arrayBuffer()).rejects.toThrow(/damaged/);
  });

  test("a gzip bomb over the profile cap: 400, memory bounded, no row and no file", async () => {
    const t = await setup(); // BROWSERGRID_PROFILE_MAX_MB: 512 by default; the bomb unpacks to 640 MiB
    const bomb = await zeroBomb(5, 128 * 1024 * 1024);
    const { growth, result } = await peakRssGrowth(() => importing(t, "bomb", bomb));
    const res = result as Response;
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/add up to more than/);
    expect(growth).toBeLessThan(384 * 1024 * 1024); // unpacking up to the 512 MiB cap in memory would exceed it
    expect((await t.call("GET", "/api/v1/profiles/bomb", { auth: t.memberKey })).status).toBe(404);
    const dir = join(t.deps.config.dataDir, "storage", "profiles");
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  }, 120_000);
});

describe("the one-writer lock", () => {
  test("persisting sessions exclude each other; read-only sessions do not; the lock dies with the session", async () => {
    const t = await setup();
    await t.call("POST", "/api/v1/profiles", { auth: t.memberKey, body: { name: "shop" } });
    const a = await t.call("POST", "/api/v1/sessions", { auth: t.memberKey, body: { profile: { name: "shop", persist: true } } });
    expect(a.status).toBe(201);
    expect(a.body.config.profile).toMatchObject({ name: "shop", persist: true });
    const b = await t.call("POST", "/api/v1/sessions", { auth: t.memberKey, body: { profile: { name: "shop", persist: true } } });
    expect(b.status).toBe(409);
    expect(b.body.error).toMatchObject({ code: "profile_locked" });
    expect((await t.call("POST", "/api/v1/sessions", { auth: t.memberKey, body: { profile: { name: "shop" } } })).status).toBe(201);
    expect((await t.call("POST", "/api/v1/sessions", { auth: t.memberKey, body: { profile: { id: "x", name: "shop" } } })).status).toBe(400);
    expect((await t.call("POST", "/api/v1/profiles/shop/versions/1/restore", { auth: t.memberKey })).status).toBe(409);

    // A crash of the whole server: the lock row stays, but the session is terminal → the lock is dead.
    sessionsStore.transition(t.deps.db, a.body.id, ["running"], "crashed", { endedAt: Date.now() }, { type: "crashed" });
    expect(storageOf(t.deps).profiles.lockedBy((await t.call("GET", "/api/v1/profiles/shop", { auth: t.memberKey })).body.id)).toBeNull();
    const c = await t.call("POST", "/api/v1/sessions", { auth: t.memberKey, body: { profile: { name: "shop", persist: true } } });
    expect(c.status).toBe(201);
    await t.call("DELETE", `/api/v1/sessions/${c.body.id}`, { auth: t.memberKey });
    expect((await t.call("GET", "/api/v1/profiles/shop", { auth: t.memberKey })).body.lockedBy).toBeNull();
  });
});
