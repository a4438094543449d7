// The plain reads answered before the framework must answer exactly as the Elysia routes do,
// and hand everything else to Elysia without a side effect of their own.
import { afterEach, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { makeTestApp } from "../../test/helpers/app";
import { ensureDefaultPool } from "../modules/pools/pools.service";
import { insertSession } from "../modules/sessions/sessions.store";
import { sessionFastReads } from "../modules/sessions/sessions.routes";
import type { App } from "./app";
import { fastReads } from "./fast-reads";
import { listen } from "./server";

let server: Server<unknown> | null = null;
afterEach(() => {
  server?.stop(true);
  server = null;
});

async function setup(env: Record<string, string> = {}) {
  const t = await makeTestApp({ env });
  const pool = ensureDefaultPool(t.deps.db);
  const now = Date.now();
  const seed = (id: string, ownerId: string, status: "running" | "completed") =>
    insertSession(
      t.deps.db,
      { id, poolId: pool.id, ownerType: "user", ownerId, status, config: { browser: "headless-shell" }, metadata: { id }, timeoutSec: 60, idleTimeoutSec: 60, createdAt: now - 1000 + id.length, startedAt: now - 500, ...(status === "completed" ? { endedAt: now - 100 } : {}) },
      { type: status },
    );
  seed("ses_admin1", t.users.admin.id, "running");
  seed("ses_member1", t.users.member.id, "running");
  seed("ses_member22", t.users.member.id, "completed");
  const fast = fastReads(t.deps, sessionFastReads(t.deps));
  const hits = { n: 0 };
  server = listen({ host: "127.0.0.1", port: 0, app: t.app as unknown as App, fastRead: (req) => {
    const r = fast(req);
    if (r) hits.n++;
    return r;
  } });
  const base = `http://127.0.0.1:${server.port}`;
  const viaSocket = (path: string, headers: Record<string, string> = {}, method = "GET") => fetch(base + path, { method, headers });
  const viaElysia = (path: string, headers: Record<string, string> = {}, method = "GET") => t.app.handle(new Request(`http://localhost${path}`, { method, headers }));
  /** Asks over the socket, expects the fast path to have answered, and the answer to be Elysia's; returns it. */
  const expectFastAsElysia = async (key: string, path: string) => {
    const before = hits.n;
    const fast = await viaSocket(path, bearer(key));
    expect({ path, fast: hits.n - before }).toEqual({ path, fast: 1 });
    expect({ path, ...(await shape(fast)) }).toEqual({ path, ...(await shape(await viaElysia(path, bearer(key)))) });
    return fast;
  };
  return { t, hits, viaSocket, viaElysia, expectFastAsElysia };
}

/** Status, headers (without the per-request ones) and the body with running durations zeroed. */
async function shape(res: Response) {
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (!["date", "content-length", "x-request-id"].includes(k)) headers[k] = v;
  });
  const body = (await res.text()).replace(/"durationMs":\d+/g, '"durationMs":0').replace(/"requestId":"[^"]+"/, '"requestId":"…"');
  return { status: res.status, headers, body };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe("fast reads", () => {
  test("a plain list or get answers as the Elysia route does, for every role", async () => {
    const { t, viaSocket, expectFastAsElysia } = await setup();
    const cases: [string, string][] = [
      [t.adminKey, "/api/v1/sessions"],
      [t.viewerKey, "/api/v1/sessions"],
      [t.memberKey, "/api/v1/sessions"],
      [t.adminKey, "/api/v1/sessions/ses_member1"],
      [t.memberKey, "/api/v1/sessions/ses_member22"],
    ];
    for (const [key, path] of cases) {
      const fast = await expectFastAsElysia(key, path);
      expect(fast.headers.get("x-request-id")).toMatch(/^[a-z0-9]{12}$/);
    }
    // Members see their own sessions only, as through Elysia.
    const mine = (await (await viaSocket("/api/v1/sessions", bearer(t.memberKey))).json()) as { sessions: { id: string }[] };
    expect(mine.sessions.map((s) => s.id).sort()).toEqual(["ses_member1", "ses_member22"]);
    // A caller's own request id is echoed.
    expect((await viaSocket("/api/v1/sessions", { ...bearer(t.adminKey), "x-request-id": "trace-42" })).headers.get("x-request-id")).toBe("trace-42");
  });

  test("a list with filters and paging answers as the Elysia route does", async () => {
    const { t, viaSocket, viaElysia, expectFastAsElysia } = await setup();
    const first = (await (await viaElysia("/api/v1/sessions?limit=1", bearer(t.adminKey))).json()) as { nextCursor: string };
    expect(first.nextCursor).toBeTruthy();
    const cases: [string, string][] = [
      [t.adminKey, "/api/v1/sessions?limit=1"],
      [t.adminKey, `/api/v1/sessions?limit=1&cursor=${first.nextCursor}`],
      [t.adminKey, "/api/v1/sessions?status=running"],
      [t.memberKey, "/api/v1/sessions?status=completed&pool=default"],
      [t.viewerKey, "/api/v1/sessions?pool=no-such-pool"],
      [t.adminKey, "/api/v1/sessions?limit=500&status=crashed"],
    ];
    for (const [key, path] of cases) await expectFastAsElysia(key, path);
    const paged = (await (await viaSocket(`/api/v1/sessions?limit=1&cursor=${first.nextCursor}`, bearer(t.adminKey))).json()) as { sessions: unknown[] };
    expect(paged.sessions).toHaveLength(1);
  });

  test("anything else goes to Elysia and is answered the same as without the fast path", async () => {
    const { t, hits, viaSocket, viaElysia } = await setup();
    const cases: [string, Record<string, string>, string?][] = [
      ["/api/v1/sessions?limit=0", bearer(t.adminKey)], // out of range: 422 from the schema
      ["/api/v1/sessions?limit=501", bearer(t.adminKey)],
      ["/api/v1/sessions?limit=1e2", bearer(t.adminKey)], // a number Elysia reads its own way
      ["/api/v1/sessions?status=sleeping", bearer(t.adminKey)],
      ["/api/v1/sessions?status=", bearer(t.adminKey)],
      ["/api/v1/sessions?status=running&status=completed", bearer(t.adminKey)],
      ["/api/v1/sessions?owner=me", bearer(t.adminKey)], // unknown key
      ["/api/v1/sessions?cursor=bm90LWEtY3Vyc29y", bearer(t.adminKey)], // a cursor the route refuses (400)
      ["/api/v1/sessions?pool=" + "p".repeat(65), bearer(t.adminKey)],
      ["/api/v1/sessions?pool=de%66ault", bearer(t.adminKey)], // escapes: Elysia decodes them
      ["/api/v1/sessions?limit=1", { authorization: "Bearer bg_nope_nope" }],
      ["/api/v1/sessions/ses_admin1?x=1", bearer(t.adminKey)],
      ["/api/v1/sessions/ses_admin1", bearer(t.memberKey)], // not theirs: 404
      ["/api/v1/sessions/ses_missing", bearer(t.adminKey)],
      ["/api/v1/sessions/ses%5Fadmin1", bearer(t.adminKey)], // escapes: Elysia decodes them
      ["/api/v1/sessions/" + "a".repeat(65), bearer(t.adminKey)], // longer than the route allows
      ["/api/v1/sessions", { authorization: "Bearer bg_nope_nope" }],
      ["/api/v1/sessions", { authorization: "Basic abc" }],
      ["/api/v1/sessions", {}],
      ["/api/v1/sessions", { cookie: t.cookie }],
      ["/api/v1/sessions/", bearer(t.adminKey)],
      ["/api/v1/sessions", bearer(t.adminKey), "HEAD"],
      ["/api/v1/sessions/ses_admin1/events", bearer(t.adminKey)],
    ];
    for (const [path, headers, method] of cases) {
      const res = await viaSocket(path, headers, method);
      expect({ path, ...(await shape(res)) }).toEqual({ path, ...(await shape(await viaElysia(path, headers, method))) });
    }
    expect(hits.n).toBe(0);
    expect((await viaSocket("/api/v1/sessions?limit=1", bearer(t.adminKey))).status).toBe(200);
    expect(hits.n).toBe(1);
  });

  test("the rate limit is taken once per request, only for answers the fast path sends", async () => {
    const { t, hits, viaSocket } = await setup({ BROWSERGRID_API_RATE_LIMIT: "3" });
    // Elysia answers this 404 and takes one token; the fast path, declining, takes none.
    expect((await viaSocket("/api/v1/sessions/ses_admin1", bearer(t.memberKey))).status).toBe(404);
    expect((await viaSocket("/api/v1/sessions", bearer(t.memberKey))).status).toBe(200);
    expect((await viaSocket("/api/v1/sessions/ses_member1", bearer(t.memberKey))).status).toBe(200);
    const limited = await viaSocket("/api/v1/sessions", bearer(t.memberKey));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBeTruthy();
    expect(hits.n).toBe(2);
  });
});

