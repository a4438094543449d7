// The pools API through the real app: CRUD, limits, bad input that stores nothing.
import { beforeAll, describe, expect, test } from "bun:test";
import { makeTestApp, type TestApp } from "../../../test/helpers/app";
import { browserLimitsOf, listPools } from "./pools.service";

describe("pools API", () => {
  test("default pool exists; create, read, update, delete; viewers read, members cannot change", async () => {
    const t = await makeTestApp();
    const list = await t.call("GET", "/api/v1/pools", { auth: t.viewerKey });
    expect(list.status).toBe(200);
    expect(list.body.pools.map((p: { name: string }) => p.name)).toEqual(["default"]);
    expect(list.body.pools[0].stats).toMatchObject({ queued: 0, warm: { ready: 0, starting: 0 } });

    const created = await t.call("POST", "/api/v1/pools", { auth: t.adminKey, body: { name: "scrapers", maxSessions: 4, minWarm: 2, viewport: { width: 800, height: 600 }, placement: "pack" } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "scrapers", maxSessions: 4, minWarm: 2, viewport: { width: 800, height: 600 }, placement: "pack", state: "active" });

    expect((await t.call("POST", "/api/v1/pools", { auth: t.adminKey, body: { name: "scrapers" } })).status).toBe(409);
    expect((await t.call("POST", "/api/v1/pools", { auth: t.memberKey, body: { name: "nope" } })).status).toBe(403);

    const upd = await t.call("PATCH", "/api/v1/pools/scrapers", { auth: t.adminKey, body: { state: "paused", queueTimeoutSec: 5 } });
    expect(upd.status).toBe(200);
    expect(upd.body).toMatchObject({ state: "paused", queueTimeoutSec: 5, maxSessions: 4 });

    const del = await t.call("DELETE", "/api/v1/pools/scrapers", { auth: t.adminKey });
    expect(del.status).toBe(200);
    expect((await t.call("GET", "/api/v1/pools/scrapers", { auth: t.adminKey })).status).toBe(404);
    expect((await t.call("DELETE", "/api/v1/pools/default", { auth: t.adminKey })).status).toBe(409);
  });

  const bad: [string, unknown][] = [
    ["path-like name", { name: "../etc" }],
    ["slash in name", { name: "a/b" }],
    ["upper case", { name: "Scrapers" }],
    ["empty name", { name: "" }],
    ["too long", { name: "a".repeat(64) }],
    ["negative maxSessions", { name: "p1", maxSessions: -1 }],
    ["huge maxSessions", { name: "p1", maxSessions: 1_000_000 }],
    ["fractional", { name: "p1", maxSessions: 1.5 }],
    ["minWarm > maxSessions", { name: "p1", maxSessions: 2, minWarm: 3 }],
    ["unknown field", { name: "p1", maxsessions: 3 }],
    ["bad flavour", { name: "p1", flavour: "firefox" }],
    ["tiny viewport", { name: "p1", viewport: { width: 10, height: 10 } }],
    ["null capacity", { name: "p1", maxSessions: null }],
  ];
  let shared: TestApp;
  beforeAll(async () => {
    shared = await makeTestApp();
  });
  for (const [what, body] of bad)
    test(`refused, nothing stored: ${what}`, async () => {
      const t = shared;
      const res = await t.call("POST", "/api/v1/pools", { auth: t.adminKey, body });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.body.error?.message ?? JSON.stringify(res.body)).toBeTruthy();
      expect(listPools(t.deps.db).map((p) => p.name)).toEqual(["default"]);
    });

  test("PATCH with minWarm above maxSessions is refused and changes nothing", async () => {
    const t = await makeTestApp();
    const res = await t.call("PATCH", "/api/v1/pools/default", { auth: t.adminKey, body: { minWarm: 50 } });
    expect(res.status).toBe(400);
    expect(listPools(t.deps.db)[0]!.minWarm).toBe(0);
  });
});

describe("pool egressAllow", () => {
  let shared: TestApp;
  beforeAll(async () => {
    shared = await makeTestApp();
  });
  test("stored trimmed and without duplicates, returned in the pool JSON, replaced by PATCH", async () => {
    const t = await makeTestApp();
    const created = await t.call("POST", "/api/v1/pools", { auth: t.adminKey, body: { name: "intranet", egressAllow: [" 10.1.0.0/16", "db.internal:5432", "docker-host:3000", "db.internal:5432"] } });
    expect(created.status).toBe(201);
    expect(created.body.egressAllow).toEqual(["10.1.0.0/16", "db.internal:5432", "docker-host:3000"]);
    const upd = await t.call("PATCH", "/api/v1/pools/intranet", { auth: t.adminKey, body: { egressAllow: ["10.1.2.3:443"] } });
    expect(upd.status).toBe(200);
    expect(upd.body.egressAllow).toEqual(["10.1.2.3:443"]);
    expect((await t.call("GET", "/api/v1/pools/default", { auth: t.viewerKey })).body.egressAllow).toEqual([]);
  });

  const badEntries: [string, string][] = [
    ["fd00::1", "IPv6"],
    ["10.0.0.0/0", "prefix length"],
    ["10.1.2.3:99999", "port"],
    ["010.1.2.3", "dotted-decimal"],
    ["not a host", "host name"],
  ];
  for (const [entry, why] of badEntries)
    test(`400 naming the entry, nothing stored: ${entry}`, async () => {
      const t = shared;
      const res = await t.call("POST", "/api/v1/pools", { auth: t.adminKey, body: { name: "bad-allow", egressAllow: ["10.0.0.1", entry] } });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("invalid_egress_allow");
      expect(res.body.error.message).toContain(`"${entry}"`);
      expect(res.body.error.message).toContain(why);
      expect(res.body.error.message).toContain("Accepted forms");
      expect(listPools(t.deps.db).map((p) => p.name)).toEqual(["default"]);
      const patch = await t.call("PATCH", "/api/v1/pools/default", { auth: t.adminKey, body: { egressAllow: [entry] } });
      expect(patch.status).toBe(400);
      expect(listPools(t.deps.db)[0]!.egressAllow).toEqual([]);
    });

  test("limits: more than 256 entries or an entry over 255 characters is refused", async () => {
    const t = shared;
    const many = Array.from({ length: 257 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    for (const egressAllow of [many, ["a".repeat(256)], "10.0.0.1"]) {
      const res = await t.call("PATCH", "/api/v1/pools/default", { auth: t.adminKey, body: { egressAllow } });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(listPools(t.deps.db)[0]!.egressAllow).toEqual([]);
    }
  });
});

describe("pool browser limits (cpus, storageMb)", () => {
  test("defaults of one CPU and 256 MiB; set on create, changed by PATCH, read back as the provider gets them", async () => {
    const t = await makeTestApp();
    const def = await t.call("GET", "/api/v1/pools/default", { auth: t.viewerKey });
    expect(def.body).toMatchObject({ cpus: 1, storageMb: 256 });
    const created = await t.call("POST", "/api/v1/pools", { auth: t.adminKey, body: { name: "heavy", cpus: 1.5, storageMb: 512 } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ cpus: 1.5, storageMb: 512 });
    const upd = await t.call("PATCH", "/api/v1/pools/heavy", { auth: t.adminKey, body: { cpus: 0.25 } });
    expect(upd.body).toMatchObject({ cpus: 0.25, storageMb: 512 });
    const row = listPools(t.deps.db).find((p) => p.name === "heavy")!;
    expect(browserLimitsOf(row)).toEqual({ nanoCpus: 250_000_000, storageBytes: 512 * 1024 * 1024 });
  });

  const badLimits: [string, Record<string, unknown>][] = [
    ["no CPU", { cpus: 0 }],
    ["negative CPUs", { cpus: -1 }],
    ["more CPUs than any host", { cpus: 65 }],
    ["CPUs finer than a thousandth", { cpus: 1.0001 }],
    ["CPUs as text", { cpus: "2" }],
    ["storage too small", { storageMb: 8 }],
    ["storage past the memory limit", { storageMb: 4096 }],
    ["fractional storage", { storageMb: 100.5 }],
  ];
  let shared: TestApp;
  beforeAll(async () => {
    shared = await makeTestApp();
  });
  for (const [what, limits] of badLimits)
    test(`400, nothing stored or changed: ${what}`, async () => {
      const t = shared;
      const res = await t.call("POST", "/api/v1/pools", { auth: t.adminKey, body: { name: "bad-limits", ...limits } });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/cpus|storageMb/);
      expect(listPools(t.deps.db).map((p) => p.name)).toEqual(["default"]);
      expect((await t.call("PATCH", "/api/v1/pools/default", { auth: t.adminKey, body: limits })).status).toBe(400);
      expect(listPools(t.deps.db)[0]).toMatchObject({ cpuMillis: 1000, storageMb: 256 });
    });
});

describe("pools page: browser limits", () => {
  test("shows and takes CPUs and the storage cap; a bad value is shown at its field and changes nothing", async () => {
    const t = await makeTestApp();
    const form = (fields: Record<string, string>) => ({ body: new URLSearchParams(fields).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } });
    const page = await t.call("GET", "/pools", { auth: t.cookie });
    expect(page.body).toContain('name="cpus"');
    expect(page.body).toContain('name="storageMb"');
    expect(page.body).toContain("1 CPU · downloads and uploads up to 256 MiB each");

    const bad = await t.call("POST", "/pools/default", { auth: t.cookie, ...form({ cpus: "lots", storageMb: "99999" }) });
    expect(bad.status).toBe(400);
    expect(bad.body).toContain("Enter a number of CPUs from 0.1 to 64");
    expect(bad.body).toContain("Enter a whole number from 16 to 768.");
    expect(listPools(t.deps.db)[0]).toMatchObject({ cpuMillis: 1000, storageMb: 256 });

    const ok = await t.call("POST", "/pools/default", { auth: t.cookie, ...form({ cpus: "2.5", storageMb: "64" }) });
    expect(ok.status).toBe(303);
    expect(listPools(t.deps.db)[0]).toMatchObject({ cpuMillis: 2500, storageMb: 64 });
  });
});
