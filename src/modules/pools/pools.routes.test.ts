// The pools API through the real app: CRUD, limits, bad input that stores nothing.
import { beforeAll, describe, expect, test } from "bun:test";
import { makeTestApp, type TestApp } from "../../../test/helpers/app";
import { listPools } from "./pools.service";

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
