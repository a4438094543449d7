// The workers API through the real app: one endpoint is one worker (also under concurrency),
// removal drains first, and bad input is refused with nothing stored and nothing contacted.
import { beforeAll, describe, expect, test } from "bun:test";
import { makeTestApp, type TestApp } from "../../../test/helpers/app";
import { listWorkers } from "./workers.service";
import { workers } from "../../db/schema";
import { sessions } from "../../db/schema";
import { ensureDefaultPool } from "../pools/pools.service";

const DOCKER = "unix:///var/run/docker.sock";

describe("workers API", () => {
  test("the same endpoint added five times at once → one row (one 201, the rest 200 with the same id)", async () => {
    const t = await makeTestApp();
    const results = await Promise.all(Array.from({ length: 5 }, () => t.call("POST", "/api/v1/workers", { auth: t.adminKey, body: { endpoint: DOCKER, capacity: 3 } })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    // A different spelling of the same place is the same worker.
    const again = await t.call("POST", "/api/v1/workers", { auth: t.adminKey, body: { endpoint: "unix:///var/run//docker.sock" } });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(results[0]!.body.id);
    expect(listWorkers(t.deps.db)).toHaveLength(1);
    expect(results[0]!.body).toMatchObject({ endpoint: DOCKER, kind: "docker", capacity: 3, pools: "all", pool: null }); // the local engine serves every pool by default
  });

  test("DELETE drains first: 202 while a session lives on it, the row goes once it ends; re-adding gives one row", async () => {
    const t = await makeTestApp();
    const w = (await t.call("POST", "/api/v1/workers", { auth: t.adminKey, body: { endpoint: DOCKER } })).body;
    const pool = ensureDefaultPool(t.deps.db);
    t.deps.db.insert(sessions).values({ id: "ses_live", poolId: pool.id, workerId: w.id, ownerType: "user", status: "running", config: {}, metadata: {}, timeoutSec: 60, idleTimeoutSec: 60 }).run();
    const del = await t.call("DELETE", `/api/v1/workers/${w.id}`, { auth: t.adminKey });
    expect(del.status).toBe(202);
    expect(del.body).toMatchObject({ removed: false, liveSessions: 1, worker: { status: "draining", removing: true } });
    expect((await t.call("POST", "/api/v1/workers", { auth: t.adminKey, body: { endpoint: DOCKER } })).status).toBe(409);
    t.deps.db.update(sessions).set({ status: "completed", endedAt: Date.now() }).run();
    const del2 = await t.call("DELETE", `/api/v1/workers/${w.id}`, { auth: t.adminKey });
    expect(del2.status).toBe(200);
    expect(listWorkers(t.deps.db)).toHaveLength(0);
    expect(t.deps.db.select().from(sessions).get()!.workerId).toBeNull();
    const re = await t.call("POST", "/api/v1/workers", { auth: t.adminKey, body: { endpoint: DOCKER } });
    expect(re.status).toBe(201);
    expect(t.deps.db.select().from(workers).all()).toHaveLength(1);
  });

  test("drain and resume; PATCH capacity", async () => {
    const t = await makeTestApp();
    const w = (await t.call("POST", "/api/v1/workers", { auth: t.adminKey, body: { endpoint: DOCKER } })).body;
    expect((await t.call("POST", `/api/v1/workers/${w.id}/drain`, { auth: t.adminKey })).body.status).toBe("draining");
    expect((await t.call("POST", `/api/v1/workers/${w.id}/resume`, { auth: t.adminKey })).body.status).not.toBe("draining");
    const p = await t.call("PATCH", `/api/v1/workers/${w.id}`, { auth: t.adminKey, body: { capacity: 7, labels: { zone: "eu" } } });
    expect(p.body).toMatchObject({ capacity: 7, labels: { zone: "eu" } });
    expect((await t.call("PATCH", `/api/v1/workers/${w.id}`, { auth: t.adminKey, body: { capacity: 0 } })).status).toBe(400);
    expect((await t.call("POST", `/api/v1/workers/${w.id}/drain`, { auth: t.memberKey })).status).toBe(403);
  });

  let shared: TestApp;
  beforeAll(async () => {
    shared = await makeTestApp();
  });
  const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
  const bad: [string, Record<string, unknown>, string?][] = [
    ["unknown scheme", { endpoint: "tcp://10.0.0.1:2375" }, "invalid_endpoint"],
    ["http docker", { endpoint: "http://host:2375" }, "invalid_endpoint"],
    ["relative socket", { endpoint: "unix://var/run/docker.sock" }, "invalid_endpoint"],
    ["socket path traversal", { endpoint: "unix:///var/run/../../etc/passwd" }, "invalid_endpoint"],
    ["ssh with password", { endpoint: "ssh://root:pw@host", sshPrivateKey: KEY }, "invalid_endpoint"],
    ["ssh with path", { endpoint: "ssh://root@host/var/run", sshPrivateKey: KEY }, "invalid_endpoint"],
    ["ssh port 0", { endpoint: "ssh://root@host:0", sshPrivateKey: KEY }, "invalid_endpoint"],
    ["ssh port too big", { endpoint: "ssh://root@host:70000", sshPrivateKey: KEY }, "invalid_endpoint"],
    ["ssh bad host", { endpoint: "ssh://root@ho_st;rm", sshPrivateKey: KEY }, "invalid_endpoint"],
    ["ssh user injection", { endpoint: "ssh://-oProxyCommand=x@host", sshPrivateKey: KEY }, "invalid_endpoint"],
    ["ssh without key", { endpoint: "ssh://root@example.com" }, "ssh_key_required"],
    ["ssh key not a key", { endpoint: "ssh://root@example.com", sshPrivateKey: "hunter2" }, "invalid_ssh_key"],
    ["bad fingerprint", { endpoint: "ssh://root@example.com", sshPrivateKey: KEY, hostKeyFingerprint: "MD5:aa" }],
    ["unknown pool", { endpoint: DOCKER, pool: "nope" }, "unknown_pool"],
    ["negative capacity", { endpoint: DOCKER, capacity: -1 }],
    ["zero capacity", { endpoint: DOCKER, capacity: 0 }],
    ["huge capacity", { endpoint: DOCKER, capacity: 1_000_000 }],
    ["path-like name", { endpoint: DOCKER, name: "../../etc" }],
    ["name with slash", { endpoint: DOCKER, name: "a/b" }],
    ["unknown field", { endpoint: DOCKER, capacty: 3 }],
    ["docker socket that does not answer", { endpoint: "unix:///nonexistent/docker.sock" }, "worker_unreachable"],
    ["too many labels", { endpoint: DOCKER, labels: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) }],
    ["key for a docker socket", { endpoint: DOCKER, sshPrivateKey: KEY }],
  ];
  for (const [what, body, code] of bad)
    test(`refused with 4xx, nothing stored: ${what}`, async () => {
      const res = await shared.call("POST", "/api/v1/workers", { auth: shared.adminKey, body });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      if (code) expect(res.body.error.code).toBe(code);
      expect(listWorkers(shared.deps.db)).toHaveLength(0);
    });
});
