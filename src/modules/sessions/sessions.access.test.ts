// Who receives a session's connect secrets (cdpUrl with its token, live links): its owner and
// admins only, on every path that hands sessions out — the API through Elysia and through the
// fast-read path, the create answer, the UI page and the BrowserGrid.* domain. And a session
// lives only while its owner may hold sessions: disabling, deleting or demoting the owner ends it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { makeTestApp, type TestApp } from "../../../test/helpers/app";
import { FakeProvider } from "../../../test/helpers/fake-provider";
import { ProviderRegistryImpl } from "../../providers/registry";
import { listen } from "../../http/server";
import { fastReads } from "../../http/fast-reads";
import type { App } from "../../http/app";
import { registerWorker, setWorkerStatus } from "../workers/workers.service";
import { ensureDefaultPool } from "../pools/pools.service";
import { createApiKey } from "../api-keys/api-keys.service";
import { createUser } from "../users/users.service";
import { createAuthSession, SESSION_COOKIE } from "../auth/auth-sessions.service";
import { sessionFastReads } from "./sessions.routes";
import { sessionDomain } from "./sessions.domain";
import { connectToken } from "./sessions.model";
import * as store from "./sessions.store";

let t: TestApp;
let server: Server<unknown>;
let base: string;
let provider: FakeProvider;
let fastHits = 0;
let adminSession: string;
let memberSession: string;
/** A viewer-role key of the member who owns memberSession: read-only, so no secrets either. */
let memberViewerKey: string;
let viewerCookie: string;

beforeAll(async () => {
  const providers = new ProviderRegistryImpl();
  t = await makeTestApp({ providers });
  const worker = registerWorker(t.deps.db, { name: "fake", poolId: ensureDefaultPool(t.deps.db).id, endpoint: "fake://1", kind: "docker", capacity: 50 });
  setWorkerStatus(t.deps.db, worker.id, "online");
  provider = new FakeProvider(worker.id);
  providers.set(worker.id, provider);
  adminSession = (await t.call("POST", "/api/v1/sessions", { auth: t.adminKey, body: { keepAlive: true } })).body.id;
  memberSession = (await t.call("POST", "/api/v1/sessions", { auth: t.memberKey, body: { keepAlive: true } })).body.id;
  memberViewerKey = createApiKey(t.deps, { userId: t.users.member.id, role: "member" }, { name: "read only", role: "viewer" }).key;
  viewerCookie = `${SESSION_COOKIE}=${createAuthSession(t.deps, t.users.viewer.id).token}`;
  const fast = fastReads(t.deps, sessionFastReads(t.deps));
  server = listen({
    host: "127.0.0.1",
    port: 0,
    app: t.app as unknown as App,
    fastRead: (req) => {
      const r = fast(req);
      if (r) fastHits++;
      return r;
    },
  });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server?.stop(true));

type Seen = { id: string; cdpUrl: string | null; liveUrl: string | null };

/** GET over the socket (the fast path answers it) and through Elysia; both answers must agree. */
async function read(key: string, path: string): Promise<{ status: number; body: any }> {
  const before = fastHits;
  const viaSocket = await fetch(base + path, { headers: { authorization: `Bearer ${key}` } });
  const viaElysia = await t.call("GET", path, { auth: key });
  const body = viaSocket.status === 200 ? await viaSocket.json() : null;
  expect({ path, status: viaSocket.status, fast: viaSocket.status === 200 ? fastHits - before : 1 }).toEqual({ path, status: viaElysia.status, fast: 1 });
  const strip = (b: any) => JSON.parse(JSON.stringify(b).replace(/"durationMs":\d+/g, '"durationMs":0'));
  if (body) expect(strip(body)).toEqual(strip(viaElysia.body));
  return { status: viaSocket.status, body };
}

function secretsOf(s: Seen) {
  return { id: s.id, cdp: s.cdpUrl !== null, live: s.liveUrl !== null };
}

describe("connect secrets go to the owner and admins only", () => {
  // [reader, key, what it sees of the admin's session, of the member's session] — null: not listed (404).
  const table = () =>
    [
      ["admin", t.adminKey, { cdp: true, live: true }, { cdp: true, live: true }],
      ["member (owner of the member session)", t.memberKey, null, { cdp: true, live: true }],
      ["member's viewer-role key (reads like a viewer)", memberViewerKey, { cdp: false, live: false }, { cdp: false, live: false }],
      ["viewer", t.viewerKey, { cdp: false, live: false }, { cdp: false, live: false }],
    ] as const;

  test("GET /api/v1/sessions and /api/v1/sessions/:id, fast path and Elysia alike", async () => {
    for (const [who, key, ofAdmin, ofMember] of table()) {
      const list = await read(key, "/api/v1/sessions");
      const listed = Object.fromEntries((list.body.sessions as Seen[]).map((s) => [s.id, secretsOf(s)]));
      for (const [id, want] of [
        [adminSession, ofAdmin],
        [memberSession, ofMember],
      ] as const) {
        expect({ who, id, listed: listed[id] ?? null }).toEqual({ who, id, listed: want && { id, ...want } });
        const one = await read(key, `/api/v1/sessions/${id}`);
        expect({ who, id, status: one.status, seen: one.body && secretsOf(one.body) }).toEqual({ who, id, status: want ? 200 : 404, seen: want && { id, ...want } });
      }
    }
  });

  test("a viewer's answers carry no token and no live link at all", async () => {
    const text = JSON.stringify((await read(t.viewerKey, "/api/v1/sessions")).body) + JSON.stringify((await read(t.viewerKey, `/api/v1/sessions/${adminSession}`)).body);
    expect(text).not.toContain("token=");
    expect(text).not.toContain("/live/");
    expect(text).not.toContain(connectToken(t.deps.installKey, adminSession));
  });

  test("the create answer gives the creator the cdpUrl", async () => {
    const res = await t.call("POST", "/api/v1/sessions", { auth: t.memberKey, body: {} });
    expect(res.status).toBe(201);
    expect(res.body.cdpUrl).toContain(`/cdp/${res.body.id}?token=${connectToken(t.deps.installKey, res.body.id)}`);
    await t.deps.sessions.stop(res.body.id);
  });

  test("the UI detail page shows a viewer no CDP URL and no control or share form", async () => {
    const res = await t.app.handle(new Request(`http://localhost/sessions/${adminSession}`, { headers: { cookie: viewerCookie } }));
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain(adminSession);
    expect(page).not.toContain(connectToken(t.deps.installKey, adminSession));
    expect(page).not.toContain("/share");
    expect(page).toContain("shown to the session's owner and to admins");
  });

  test("the admin's UI detail page shows the CDP URL", async () => {
    const res = await t.app.handle(new Request(`http://localhost/sessions/${adminSession}`, { headers: { cookie: t.cookie } }));
    expect(await res.text()).toContain(connectToken(t.deps.installKey, adminSession));
  });
});

describe("the BrowserGrid.* domain acts with the session owner's standing", () => {
  test("liveURL: control for an owner who may control; refused once the owner is a viewer", async () => {
    const user = await createUser(t.deps, { email: "domain@example.com", password: "domain-password-long-enough", role: "member" });
    const row = await t.deps.sessions.create({ type: "api_key", id: user.id }, { keepAlive: true });
    const domain = sessionDomain({ db: t.deps.db, sessions: t.deps.sessions, publicUrl: t.deps.config.publicUrl, installKey: t.deps.installKey });
    const ok = (await domain(row.id, "BrowserGrid.liveURL", { mode: "control" })) as { liveUrl: string; mode: string };
    expect(ok.mode).toBe("control");
    // The role changes under the connection without the account path (another process on the
    // same database): the domain still checks the owner's current role itself.
    t.deps.db.$client.query("UPDATE users SET role = 'viewer' WHERE id = ?").run(user.id);
    for (const mode of ["control", "view"]) expect(domain(row.id, "BrowserGrid.liveURL", { mode })).rejects.toThrow(/may no longer control/);
    expect(t.deps.sessions.authorizeConnect(row.id, connectToken(t.deps.installKey, row.id))).toBeNull();
    await t.deps.sessions.stop(row.id);
  });
});

describe("a disabled, deleted or demoted owner's sessions end", () => {
  async function memberWithSession(email: string) {
    const user = await createUser(t.deps, { email, password: "owner-password-long-enough", role: "member" });
    const key = createApiKey(t.deps, { userId: user.id, role: "member" }, { name: "k" }).key;
    const res = await t.call("POST", "/api/v1/sessions", { auth: key, body: { keepAlive: true } });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    const token = connectToken(t.deps.installKey, id);
    expect(t.deps.sessions.authorizeConnect(id, token)).not.toBeNull();
    return { user, key, id, token };
  }

  function expectEnded(o: { id: string; token: string }, reason: RegExp) {
    const row = store.getSession(t.deps.db, o.id)!;
    expect({ status: row.status, reason: row.endReason }).toEqual({ status: "completed", reason: expect.stringMatching(reason) });
    expect(t.deps.sessions.authorizeConnect(o.id, o.token)).toBeNull();
    expect([...provider.browsers.values()].some((b) => b.sessionId === o.id)).toBe(false);
  }

  test("disabled: the session has ended when PATCH answers, its token and the user's key are dead", async () => {
    const o = await memberWithSession("disable-me@example.com");
    const res = await t.call("PATCH", `/api/v1/users/${o.user.id}`, { auth: t.adminKey, body: { disabled: true } });
    expect(res.status).toBe(200);
    expectEnded(o, /disabled/);
    expect((await t.call("GET", "/api/v1/sessions", { auth: o.key })).status).toBe(401);
    // Enabling the account again does not bring the session back.
    await t.call("PATCH", `/api/v1/users/${o.user.id}`, { auth: t.adminKey, body: { disabled: false } });
    expect(t.deps.sessions.authorizeConnect(o.id, o.token)).toBeNull();
  });

  test("deleted: the session has ended when DELETE answers", async () => {
    const o = await memberWithSession("delete-me@example.com");
    expect((await t.call("DELETE", `/api/v1/users/${o.user.id}`, { auth: t.adminKey })).status).toBe(204);
    expectEnded(o, /deleted/);
  });

  test("made a viewer: the session ends (a viewer holds no connect secrets)", async () => {
    const o = await memberWithSession("demote-me@example.com");
    expect((await t.call("PATCH", `/api/v1/users/${o.user.id}`, { auth: t.adminKey, body: { role: "viewer" } })).status).toBe(200);
    expectEnded(o, /viewer/);
  });

  test("other users' sessions keep running", async () => {
    const o = await memberWithSession("bystander@example.com");
    const other = await memberWithSession("leaver@example.com");
    await t.call("PATCH", `/api/v1/users/${other.user.id}`, { auth: t.adminKey, body: { disabled: true } });
    expect(store.getSession(t.deps.db, o.id)!.status).toBe("running");
    expect(store.getSession(t.deps.db, adminSession)!.status).toBe("running");
    await t.deps.sessions.stop(o.id);
  });
});
