// Which pools a worker serves, through the real app: the local engine serves all pools (new ones
// too), other workers a list; PATCH replaces it; unknown or empty lists are refused with nothing
// changed; deleting a pool leaves no relation behind and is refused while it is some worker's
// only pool.
import { describe, expect, test } from "bun:test";
import { makeTestApp, type TestApp } from "../../../test/helpers/app";
import { workerPools } from "../../db/schema";
import { listWorkers } from "./workers.service";

const DOCKER = "unix:///var/run/docker.sock";

async function pool(t: TestApp, name: string) {
  const res = await t.call("POST", "/api/v1/pools", { auth: t.adminKey, body: { name } });
  expect(res.status).toBe(201);
  return res.body;
}

const relations = (t: TestApp) => t.deps.db.select().from(workerPools).all();

describe("worker pools API", () => {
  test("the local engine serves every pool, pools created later too; GET ?pool= lists it for each", async () => {
    const t = await makeTestApp();
    const w = (await t.call("POST", "/api/v1/workers", { auth: t.adminKey, body: { endpoint: DOCKER } })).body;
    expect(w.pools).toBe("all");
    await pool(t, "later");
    for (const p of ["default", "later"]) {
      const listed = (await t.call("GET", `/api/v1/workers?pool=${p}`, { auth: t.viewerKey })).body.workers;
      expect(listed.map((x: { id: string }) => x.id)).toEqual([w.id]);
    }
    expect((await t.call("GET", "/api/v1/pools/later", { auth: t.viewerKey })).body.stats.workers).toBe(1);
  });

  test("a list of pools on create; PATCH replaces it, narrows to one, widens to all", async () => {
    const t = await makeTestApp();
    await pool(t, "a");
    await pool(t, "b");
    const created = await t.call("POST", "/api/v1/workers", { auth: t.adminKey, body: { endpoint: DOCKER, pools: ["b", "a"] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ pools: ["a", "b"], pool: null });
    expect((await t.call("GET", "/api/v1/workers?pool=default", { auth: t.viewerKey })).body.workers).toHaveLength(0);
    const narrowed = await t.call("PATCH", `/api/v1/workers/${created.body.id}`, { auth: t.adminKey, body: { pools: ["b"] } });
    expect(narrowed.status).toBe(200);
    expect(narrowed.body).toMatchObject({ pools: ["b"], pool: "b" });
    expect((await t.call("GET", "/api/v1/workers?pool=a", { auth: t.viewerKey })).body.workers).toHaveLength(0);
    const widened = await t.call("PATCH", `/api/v1/workers/${created.body.id}`, { auth: t.adminKey, body: { pools: "all" } });
    expect(widened.body.pools).toBe("all");
    expect(relations(t)).toHaveLength(0); // "all" is the flag, not a row per pool
  });

  test('the older single "pool" field still works, and is the same as "pools": [name]', async () => {
    const t = await makeTestApp();
    await pool(t, "a");
    const res = await t.call("POST", "/api/v1/workers", { auth: t.adminKey, body: { endpoint: DOCKER, pool: "a" } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ pools: ["a"], pool: "a" });
  });

  const refusedCreate: [string, Record<string, unknown>, number, string?][] = [
    ["an unknown pool in the list", { endpoint: DOCKER, pools: ["default", "nope"] }, 400, "unknown_pool"],
    ["an empty list", { endpoint: DOCKER, pools: [] }, 400],
    ["both pool and pools", { endpoint: DOCKER, pool: "default", pools: ["default"] }, 400, "pools_conflict"],
    ["a word other than all", { endpoint: DOCKER, pools: "every" }, 400],
    ["a duplicated name", { endpoint: DOCKER, pools: ["default", "default"] }, 400],
    ["a name that is not a string", { endpoint: DOCKER, pools: [7] }, 400],
  ];
  for (const [what, body, status, code] of refusedCreate)
    test(`create refused, nothing stored: ${what}`, async () => {
      const t = await makeTestApp();
      const res = await t.call("POST", "/api/v1/workers", { auth: t.adminKey, body });
      expect(res.status).toBe(status);
      if (code) expect(res.body.error.code).toBe(code);
      expect(res.body.error.message.length).toBeGreaterThan(10);
      expect(listWorkers(t.deps.db)).toHaveLength(0);
      expect(relations(t)).toHaveLength(0);
    });

  test("PATCH refused, nothing changed: unknown pool (400 unknown_pool), empty list (400), a member's key (403)", async () => {
    const t = await makeTestApp();
    await pool(t, "a");
    const w = (await t.call("POST", "/api/v1/workers", { auth: t.adminKey, body: { endpoint: DOCKER, pools: ["a"] } })).body;
    const unknown = await t.call("PATCH", `/api/v1/workers/${w.id}`, { auth: t.adminKey, body: { pools: ["a", "nope"], capacity: 3 } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: "unknown_pool" });
    expect(unknown.body.error.message).toContain('"nope"');
    const empty = await t.call("PATCH", `/api/v1/workers/${w.id}`, { auth: t.adminKey, body: { pools: [] } });
    expect(empty.status).toBe(400);
    expect((await t.call("PATCH", `/api/v1/workers/${w.id}`, { auth: t.memberKey, body: { pools: "all" } })).status).toBe(403);
    expect((await t.call("GET", `/api/v1/workers/${w.id}`, { auth: t.adminKey })).body).toMatchObject({ pools: ["a"], capacity: 10 });
  });

  test("deleting a pool: refused while it is a worker's only pool; otherwise its relations go with it", async () => {
    const t = await makeTestApp();
    await pool(t, "a");
    await pool(t, "b");
    const only = (await t.call("POST", "/api/v1/workers", { auth: t.adminKey, body: { endpoint: DOCKER, name: "only-a", pools: ["a"] } })).body;
    const refused = await t.call("DELETE", "/api/v1/pools/a", { auth: t.adminKey });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: "pool_in_use" });
    expect(refused.body.error.message).toContain("only-a");
    expect((await t.call("PATCH", `/api/v1/workers/${only.id}`, { auth: t.adminKey, body: { pools: ["a", "b"] } })).status).toBe(200);
    const deleted = await t.call("DELETE", "/api/v1/pools/a", { auth: t.adminKey });
    expect(deleted.status).toBe(200);
    expect(relations(t).map((r) => r.poolId)).toEqual([(await t.call("GET", "/api/v1/pools/b", { auth: t.adminKey })).body.id]);
    expect((await t.call("GET", `/api/v1/workers/${only.id}`, { auth: t.adminKey })).body.pools).toEqual(["b"]);
  });

  test("removing a worker removes its relations", async () => {
    const t = await makeTestApp();
    await pool(t, "a");
    const w = (await t.call("POST", "/api/v1/workers", { auth: t.adminKey, body: { endpoint: DOCKER, pools: ["a", "default"] } })).body;
    expect(relations(t)).toHaveLength(2);
    const del = await t.call("DELETE", `/api/v1/workers/${w.id}`, { auth: t.adminKey });
    expect(del.body).toMatchObject({ removed: true });
    expect(relations(t)).toHaveLength(0);
  });
});

describe("workers page: choosing a worker's pools", () => {
  const form = (body: string) => ({ body, headers: { "content-type": "application/x-www-form-urlencoded" } });

  test("the page shows what each worker serves and a box per pool; ticked pools are saved, nothing ticked is refused and changes nothing", async () => {
    const t = await makeTestApp();
    await pool(t, "a");
    await pool(t, "b");
    const w = (await t.call("POST", "/api/v1/workers", { auth: t.adminKey, body: { endpoint: DOCKER } })).body;
    const page = await t.call("GET", "/workers", { auth: t.cookie });
    expect(page.body).toContain("all pools");
    expect(page.body).toContain(`action="/workers/${w.id}/pools"`);
    expect(page.body).toContain('name="pools" value="b"');

    const two = await t.call("POST", `/workers/${w.id}/pools`, { auth: t.cookie, ...form("pools=a&pools=b") });
    expect(two.status).toBe(303);
    expect((await t.call("GET", `/api/v1/workers/${w.id}`, { auth: t.adminKey })).body.pools).toEqual(["a", "b"]);
    const one = await t.call("POST", `/workers/${w.id}/pools`, { auth: t.cookie, ...form("pools=b") });
    expect(one.status).toBe(303);
    expect((await t.call("GET", `/api/v1/workers/${w.id}`, { auth: t.adminKey })).body.pools).toEqual(["b"]);

    const none = await t.call("POST", `/workers/${w.id}/pools`, { auth: t.cookie, ...form("") });
    expect(none.status).toBe(400);
    expect(none.body).toContain("Tick &quot;All pools&quot; or at least one pool");
    const unknown = await t.call("POST", `/workers/${w.id}/pools`, { auth: t.cookie, ...form("pools=b&pools=gone") });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toContain("Unknown pool &quot;gone&quot;");
    expect((await t.call("GET", `/api/v1/workers/${w.id}`, { auth: t.adminKey })).body.pools).toEqual(["b"]);

    const all = await t.call("POST", `/workers/${w.id}/pools`, { auth: t.cookie, ...form("allPools=on&pools=a") });
    expect(all.status).toBe(303);
    expect((await t.call("GET", `/api/v1/workers/${w.id}`, { auth: t.adminKey })).body.pools).toBe("all");
  });

  test("the add form takes the ticked pools; nothing ticked is shown at the pools field and stores nothing", async () => {
    const t = await makeTestApp();
    await pool(t, "a");
    const none = await t.call("POST", "/workers", { auth: t.cookie, ...form("endpoint=local&capacity=2") });
    expect(none.status).toBe(400);
    expect(none.body).toContain('id="new-worker-pools-error"');
    expect(listWorkers(t.deps.db)).toHaveLength(0);
    const added = await t.call("POST", "/workers", { auth: t.cookie, ...form("endpoint=local&capacity=2&pools=a") });
    expect(added.status).toBe(303);
    const [w] = (await t.call("GET", "/api/v1/workers", { auth: t.adminKey })).body.workers;
    expect(w).toMatchObject({ kind: "local", capacity: 2, pools: ["a"] });
  });
});
