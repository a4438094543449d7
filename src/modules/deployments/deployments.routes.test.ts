// /api/v1/deployments through the whole app: uploads in every form, refusals that store nothing
// (no row, no blob), versions and rollback, bundle downloads, secrets that never come back, roles.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pack } from "tar-stream";
import { eq } from "drizzle-orm";
import { makeTestApp, type TestApp } from "../../../test/helpers/app";
import { zeroBomb } from "../../../test/helpers/archives";
import { zipOf } from "../../../test/helpers/zip";
import { listen } from "../../http/server";
import { bodyGateFor } from "../../http/body-gate";
import type { App } from "../../http/app";
import { auditLog, deploymentSecrets, deployments, deploymentVersions, runs } from "../../db/schema";

let h: TestApp;
let bundlesDir: string;

beforeAll(async () => {
  h = await makeTestApp({ env: { BROWSERGRID_DEPLOYMENT_BUNDLE_MAX_MB: "1", BROWSERGRID_DEPLOYMENT_UNPACKED_MAX_MB: "2" } });
  bundlesDir = join(h.deps.config.dataDir, "storage", "bundles");
});
afterAll(() => {
  h.deps.db.$client.close();
  rmSync(h.deps.config.dataDir, { recursive: true, force: true });
});

type Entry = { name: string; type?: "file" | "directory" | "symlink" | "link" | "character-device"; body?: string | Uint8Array; linkname?: string };

async function tarGz(entries: Entry[]): Promise<Uint8Array> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on("end", () => r()));
  for (const e of entries)
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if ((e.type ?? "file") === "file") p.entry({ name: e.name, mode: 0o644 }, Buffer.from(e.body ?? ""), cb);
      else p.entry({ name: e.name, type: e.type, linkname: e.linkname }, cb);
    });
  p.finalize();
  await done;
  return Bun.gzipSync(Buffer.concat(chunks));
}

const manifest = (m: Record<string, unknown> = {}) => JSON.stringify({ name: "scraper", entry: "main.ts", runtime: "bun", ...m });
const bundle = (m: Record<string, unknown> = {}, extra: Entry[] = []) => tarGz([{ name: "browsergrid.json", body: manifest(m) }, { name: "main.ts", body: "console.log('hi')" }, ...extra]);

async function upload(bytes: Uint8Array, opts: { key?: string; query?: string; filename?: string; field?: string } = {}) {
  const form = new FormData();
  form.append(opts.field ?? "bundle", new Blob([bytes as Uint8Array<ArrayBuffer>]), opts.filename ?? "bundle.tar.gz");
  const res = await h.app.handle(new Request(`http://localhost/api/v1/deployments${opts.query ?? ""}`, { method: "POST", headers: { authorization: `Bearer ${opts.key ?? h.memberKey}` }, body: form }));
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
}

async function raw(bytes: Uint8Array | string, type: string, key = h.memberKey) {
  const res = await h.app.handle(new Request("http://localhost/api/v1/deployments", { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": type }, body: bytes as string | Uint8Array<ArrayBuffer> }));
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
}

function blobFiles(): string[] {
  if (!existsSync(bundlesDir)) return [];
  return readdirSync(bundlesDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

function stored() {
  const db = h.deps.db;
  return { deployments: db.select().from(deployments).all().length, versions: db.select().from(deploymentVersions).all().length, blobs: blobFiles().length };
}

describe("refused uploads store nothing", () => {
  const cases: [string, () => Promise<Uint8Array>, number, RegExp][] = [
    ["no manifest", () => tarGz([{ name: "main.ts", body: "x" }]), 400, /no browsergrid\.json/],
    ["entry outside the bundle", () => bundle({ entry: "../main.ts" }), 400, /"entry" "\.\.\/main\.ts" must be a relative path inside the bundle/],
    ["entry not in the bundle", () => bundle({ entry: "other.ts" }), 400, /"entry" "other\.ts" is not in the bundle/],
    ["entry with the wrong extension", () => bundle({ runtime: "python" }), 400, /must end in \.py for runtime "python"/],
    ["unknown runtime", () => bundle({ runtime: "node" }), 400, /"runtime" must be one of "bun", "python" \(got "node"\)/],
    ["unknown key", () => bundle({ timeoutsec: 5 }), 400, /unknown key "timeoutsec"/],
    ["unknown nested key", () => bundle({ browser: { pool: "default", headless: true } }), 400, /unknown key "headless" in "browser"/],
    ["schema with an unsupported keyword", () => bundle({ params: { type: "object", properties: { u: { type: "string", format: "uri" } } } }), 400, /keyword "format" is not supported/],
    ["manifest that is not JSON", () => tarGz([{ name: "browsergrid.json", body: "{name:" }, { name: "main.ts", body: "x" }]), 400, /not valid JSON/],
    ["bad name", () => bundle({ name: "Bad Name" }), 400, /"name" must be/],
    ["unknown pool", () => bundle({ browser: { pool: "nope" } }), 400, /there is no pool "nope"/],
    ["unknown proxy", () => bundle({ browser: { proxy: "nope" } }), 400, /there is no proxy "nope"/],
    ["unknown rule set", () => bundle({ browser: { ruleSets: ["preset:ads", "nope"] } }), 400, /there is no rule set "nope"/],
    ["unknown profile", () => bundle({ browser: { profile: "nope" } }), 400, /there is no profile "nope"/],
    ["timeout out of range", () => bundle({ timeoutSec: 0 }), 400, /"timeoutSec" must be a whole number from 1 to 86400/],
    ["traversal", () => bundle({}, [{ name: "../../etc/x", body: "x" }]), 400, /points outside the directory/],
    ["absolute path", () => bundle({}, [{ name: "/etc/x", body: "x" }]), 400, /points outside the directory/],
    ["symlink", () => bundle({}, [{ name: "l", type: "symlink", linkname: "/var/run/docker.sock" }]), 400, /"l" is a symlink/],
    ["hardlink", () => bundle({}, [{ name: "h", type: "link", linkname: "main.ts" }]), 400, /"h" is a link/],
    ["device", () => bundle({}, [{ name: "d", type: "character-device" }]), 400, /"d" is a character-device/],
    ["duplicate names", () => bundle({}, [{ name: "main.ts", body: "again" }]), 400, /"main\.ts" appears twice/],
    ["gzip bomb", () => zeroBomb(1, 8 * 1024 * 1024), 400, /larger than|the limit is/],
    ["encrypted zip", async () => zipOf([{ name: "browsergrid.json", body: manifest() }, { name: "main.ts", body: "x", flags: 0x0801 }]), 400, /"main\.ts" is encrypted/],
    ["zip symlink", async () => zipOf([{ name: "browsergrid.json", body: manifest() }, { name: "main.ts", body: "/etc/passwd", unixMode: 0o120777 }]), 400, /"main\.ts" is a symbolic link/],
    ["over the bundle cap", async () => new Uint8Array(1024 * 1024 + 10).fill(7), 413, /larger than 1048576 bytes/],
    ["not an archive", async () => new TextEncoder().encode("just some text, not an archive at all"), 400, /Archive rejected/],
  ];
  test.each(cases)("%s → %d naming the problem", async (_, make, status, message) => {
    const before = stored();
    const r = await upload(await make());
    expect(r.status).toBe(status);
    expect(r.body.error.message).toMatch(message);
    expect(stored()).toEqual(before);
  });

  test("a body that is neither form, archive nor JSON is 415; a form without the bundle field is 400", async () => {
    expect((await raw("x", "text/plain")).status).toBe(415);
    expect((await upload(await bundle(), { field: "file" })).body.error.message).toMatch(/form field "file"/);
    expect((await raw('{"manifest": {"name": "x"}}', "application/json")).body.error.message).toMatch(/Field "files"/);
    expect((await raw('{"manifest": {}, "files": {"a": "b"}, "x": 1}', "application/json")).body.error.message).toMatch(/Unknown field "x"/);
  });
});

describe("versions", () => {
  test("uploads add immutable versions; activate=false, pin and rollback; downloads", async () => {
    const first = await upload(await bundle({ params: { type: "object", properties: { url: { type: "string", default: "https://example.com" } } } }));
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ name: "scraper", version: 1, currentVersion: 1, created: true, runtime: "bun", entry: "main.ts", strippedDir: null });

    const second = await raw(await bundle({ timeoutSec: 60 }), "application/gzip");
    expect(second.body).toMatchObject({ version: 2, currentVersion: 2, created: false });
    const zip = zipOf([{ name: "scraper/browsergrid.json", body: manifest({ concurrency: 2 }) }, { name: "scraper/main.ts", body: "console.log(3)" }]);
    const third = await upload(zip, { query: "?activate=false", filename: "b.zip" });
    expect(third.body).toMatchObject({ version: 3, currentVersion: 2, strippedDir: "scraper" });
    const inline = await raw(JSON.stringify({ manifest: JSON.parse(manifest()), files: { "main.ts": "console.log(4)" } }), "application/json");
    expect(inline.body).toMatchObject({ version: 4, currentVersion: 4 });

    const list = await h.call("GET", "/api/v1/deployments", { auth: h.viewerKey });
    expect(list.body.deployments.map((d: any) => [d.name, d.currentVersion, d.versions, d.runtime])).toEqual([["scraper", 4, 4, "bun"]]);
    const versions = await h.call("GET", "/api/v1/deployments/scraper/versions", { auth: h.viewerKey });
    expect(versions.body.versions.map((v: any) => [v.version, v.current])).toEqual([[4, true], [3, false], [2, false], [1, false]]);
    expect(versions.body.versions[1].manifest.concurrency).toBe(2);

    const pinned = await h.call("PATCH", "/api/v1/deployments/scraper", { auth: h.memberKey, body: { currentVersion: 1 } });
    expect(pinned.status).toBe(200);
    expect(pinned.body.currentVersion).toBe(1);
    expect(pinned.body.manifest.params.properties.url.default).toBe("https://example.com");
    const missing = await h.call("PATCH", "/api/v1/deployments/scraper", { auth: h.memberKey, body: { currentVersion: 9 } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/no version 9/);

    const resolved = h.deps.deployments.resolveVersion("scraper");
    expect(resolved.version.version).toBe(1);
    expect(h.deps.deployments.validateParams(resolved.manifest, {})).toEqual({ url: "https://example.com" });
    expect(() => h.deps.deployments.validateParams(resolved.manifest, { url: 1 })).toThrow("params.url: must be a string.");
    expect(() => h.deps.deployments.resolveVersion("scraper", 7)).toThrow(/was not found/);
    expect(() => h.deps.deployments.resolveVersion("nope")).toThrow(/was not found/);

    const res = await h.app.handle(new Request("http://localhost/api/v1/deployments/scraper/versions/3/bundle", { headers: { authorization: `Bearer ${h.memberKey}` } }));
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(new Bun.CryptoHasher("sha256").update(bytes).digest("hex")).toBe(res.headers.get("x-browsergrid-bundle-sha256")!);
    expect(await h.deps.deployments.bundle(resolved.deployment.id, 3)).toEqual(bytes);
    const viewerDownload = await h.call("GET", "/api/v1/deployments/scraper/versions/3/bundle", { auth: h.viewerKey });
    expect(viewerDownload.status).toBe(403);
    expect(blobFiles().length).toBe(4);
  });

  test("roles: viewers cannot upload, members cannot delete", async () => {
    expect((await upload(await bundle({ name: "other" }), { key: h.viewerKey })).status).toBe(403);
    expect((await h.call("DELETE", "/api/v1/deployments/scraper", { auth: h.memberKey })).status).toBe(403);
  });
});

describe("secrets", () => {
  test("stored encrypted, names listed, values never returned, given to runs decrypted", async () => {
    const put = await h.call("PUT", "/api/v1/deployments/scraper/secrets/API_TOKEN", { auth: h.memberKey, body: { value: "s3cr3t-value-xyz" } });
    expect(put.status).toBe(201);
    expect(put.body).toEqual({ name: "API_TOKEN", created: true });
    const again = await h.call("PUT", "/api/v1/deployments/scraper/secrets/API_TOKEN", { auth: h.memberKey, body: { value: "s3cr3t-value-new" } });
    expect(again.status).toBe(200);
    const list = await h.call("GET", "/api/v1/deployments/scraper/secrets", { auth: h.memberKey });
    expect(list.body.secrets.map((s: any) => s.name)).toEqual(["API_TOKEN"]);
    for (const path of ["/api/v1/deployments/scraper/secrets", "/api/v1/deployments/scraper", "/api/v1/deployments/scraper/versions", "/api/v1/deployments"]) {
      const r = await h.call("GET", path, { auth: h.adminKey });
      expect(JSON.stringify(r.body)).not.toContain("s3cr3t");
    }
    const row = h.deps.db.select().from(deploymentSecrets).get()!;
    expect(row.valueEncrypted).not.toContain("s3cr3t");
    expect(h.deps.deployments.secretsEnv(row.deploymentId)).toEqual({ API_TOKEN: "s3cr3t-value-new" });
    const audits = JSON.stringify(h.deps.db.select().from(auditLog).where(eq(auditLog.action, "deployment.secret_updated")).all());
    expect(audits).toContain("API_TOKEN");
    expect(audits).not.toContain("s3cr3t");
    expect((await h.call("GET", "/api/v1/deployments/scraper/secrets", { auth: h.viewerKey })).status).toBe(403);
  });

  test.each([
    ["lower", /must be 1-64 uppercase/],
    ["BROWSERGRID_TOKEN", /is reserved/],
    ["BROWSER_WS_ENDPOINT", /is reserved/],
    ["9LIVES", /must be 1-64 uppercase/],
  ])("name %s is refused", async (name, message) => {
    const r = await h.call("PUT", `/api/v1/deployments/scraper/secrets/${name}`, { auth: h.memberKey, body: { value: "x" } });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(message);
  });

  test("delete, then 404", async () => {
    expect((await h.call("DELETE", "/api/v1/deployments/scraper/secrets/API_TOKEN", { auth: h.memberKey })).status).toBe(204);
    expect((await h.call("DELETE", "/api/v1/deployments/scraper/secrets/API_TOKEN", { auth: h.memberKey })).status).toBe(404);
    expect((await h.call("PUT", "/api/v1/deployments/nope/secrets/A", { auth: h.memberKey, body: { value: "x" } })).status).toBe(404);
  });
});

describe("delete", () => {
  test("409 while a run is queued; then everything goes: rows, versions, secrets, blobs", async () => {
    const d = h.deps.deployments.get("scraper");
    await h.call("PUT", "/api/v1/deployments/scraper/secrets/KEEP", { auth: h.memberKey, body: { value: "v" } });
    h.deps.db.insert(runs).values({ id: "run_test", deploymentId: d.id, version: 1, status: "queued", params: {}, trigger: "api" }).run();
    const busy = await h.call("DELETE", "/api/v1/deployments/scraper", { auth: h.adminKey });
    expect(busy.status).toBe(409);
    expect(busy.body.error.message).toMatch(/1 queued or running run/);
    h.deps.db.update(runs).set({ status: "succeeded" }).where(eq(runs.id, "run_test")).run();
    const seenByHook: string[] = [];
    h.deps.deployments.onDelete(async (gone) => {
      // Runs of the deployment are still there for the hook to clean up after.
      seenByHook.push(`${gone.name}:${h.deps.db.select().from(runs).where(eq(runs.deploymentId, gone.id)).all().length}`);
    });
    expect((await h.call("DELETE", "/api/v1/deployments/scraper", { auth: h.adminKey })).status).toBe(204);
    expect(seenByHook).toEqual(["scraper:1"]);
    expect(h.deps.db.select().from(runs).all()).toEqual([]);
    expect(stored()).toEqual({ deployments: 0, versions: 0, blobs: 0 });
    expect(h.deps.db.select().from(deploymentSecrets).all()).toEqual([]);
    expect((await h.call("GET", "/api/v1/deployments/scraper", { auth: h.adminKey })).status).toBe(404);
    const actions = h.deps.db.select({ a: auditLog.action }).from(auditLog).all().map((r) => r.a);
    expect(actions).toEqual(expect.arrayContaining(["deployment.created", "deployment.version_added", "deployment.current_changed", "deployment.deleted", "deployment.secret_created"]));
  });
});

describe("through the server's body gate", () => {
  test("anonymous uploads are refused before the body is read; an over-cap chunked upload is 413; a multipart upload works", async () => {
    const app = await makeTestApp({ env: { BROWSERGRID_DEPLOYMENT_BUNDLE_MAX_MB: "1" } });
    const server = listen({ host: "127.0.0.1", port: 0, app: app.app as unknown as App, bodyGate: bodyGateFor(app.deps) });
    const url = `http://127.0.0.1:${server.port}/api/v1/deployments`;
    try {
      const anonymous = await fetch(url, { method: "POST", headers: { "content-type": "application/gzip" }, body: new Uint8Array(200 * 1024) });
      expect(anonymous.status).toBe(401);
      let at = 0;
      const endless = new ReadableStream<Uint8Array>({
        pull(c) {
          if ((at += 64 * 1024) > 4 * 1024 * 1024) return c.close();
          c.enqueue(new Uint8Array(64 * 1024).fill(1));
        },
      });
      const chunked = await fetch(url, { method: "POST", headers: { "content-type": "application/gzip", authorization: `Bearer ${app.memberKey}` }, body: endless, duplex: "half" } as RequestInit);
      expect(chunked.status).toBe(413);
      const form = new FormData();
      form.append("bundle", new Blob([(await bundle({ name: "served" })) as Uint8Array<ArrayBuffer>]), "b.tar.gz");
      const ok = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${app.memberKey}` }, body: form });
      expect(ok.status).toBe(201);
      expect(((await ok.json()) as any).name).toBe("served");
    } finally {
      server.stop(true);
      app.deps.db.$client.close();
      rmSync(app.deps.config.dataDir, { recursive: true, force: true });
    }
  });
});

describe("uploads at once, and a failure after the blob is written", () => {
  test("two uploads of one name at once get consecutive versions", async () => {
    const [a, b] = await Promise.all([upload(await bundle({ name: "racer" })), upload(await bundle({ name: "racer" }))]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect([a.body.version, b.body.version].sort()).toEqual([1, 2]);
    const c = await upload(await bundle({ name: "racer" }));
    expect(c.body.version).toBe(3);
  });

  test("when the rows cannot be written, the bundle just stored is removed again", async () => {
    const { DeploymentsService } = await import("./deployments.service");
    const { manifestRefs } = await import("./deployments.wiring");
    const real = h.deps.storage.blobs;
    const racer = h.deps.deployments.get("racer");
    // The blob store's put also takes the version number the upload reserved, so the insert fails.
    const blobs = Object.create(real) as typeof real;
    blobs.put = async (key, data, opts) => {
      const info = await real.put(key, data, opts);
      h.deps.db.insert(deploymentVersions).values({ deploymentId: racer.id, version: 4, manifest: {}, bundleKey: "x", bundleSha256: "x", bundleSize: 0, fileCount: 0, unpackedBytes: 0 }).run();
      return info;
    };
    const svc = new DeploymentsService({ db: h.deps.db, log: h.deps.log, blobs, installKey: h.deps.installKey, refs: manifestRefs(h.deps.db), limits: { maxUploadBytes: 1 << 20, maxTotalBytes: 1 << 20, maxFileBytes: 1 << 20, maxEntries: 100 } });
    const before = blobFiles().length;
    await expect(svc.deployArchive(await bundle({ name: "racer" }), { activate: true, createdBy: null })).rejects.toThrow(/UNIQUE|constraint/i);
    expect(blobFiles().length).toBe(before);
    expect(h.deps.deployments.get("racer").currentVersion).toBe(3);
  });
});
