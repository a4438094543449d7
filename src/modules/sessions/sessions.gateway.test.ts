// Every path the CDP gateway owns refuses a caller without the right credential — as plain
// HTTP and as a WebSocket upgrade — and a UI cookie never opens a CDP connection.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { makeTestApp, type TestApp } from "../../../test/helpers/app";
import { FakeProvider } from "../../../test/helpers/fake-provider";
import { ProviderRegistryImpl } from "../../providers/registry";
import { listen } from "../../http/server";
import { gatewayPathSamples, parseRoute } from "../../cdp/routes";
import { registerWorker, setWorkerStatus } from "../workers/workers.service";
import { ensureDefaultPool } from "../pools/pools.service";
import { createSessionGateway, quickConnectInput } from "./sessions.gateway";
import { connectToken } from "./sessions.model";
import type { App } from "../../http/app";

let t: TestApp;
let server: Server<unknown>;
let base: string;
let sessionId: string;
let otherToken: string;

beforeAll(async () => {
  const providers = new ProviderRegistryImpl();
  t = await makeTestApp({ providers });
  const worker = registerWorker(t.deps.db, { name: "fake", poolId: ensureDefaultPool(t.deps.db).id, endpoint: "fake://1", kind: "docker" });
  setWorkerStatus(t.deps.db, worker.id, "online");
  providers.set(worker.id, new FakeProvider(worker.id));
  const owner = { type: "user", id: t.users.admin.id };
  sessionId = (await t.deps.sessions.create(owner, { keepAlive: true })).id;
  otherToken = connectToken(t.deps.installKey, (await t.deps.sessions.create(owner, { keepAlive: true })).id);
  server = listen({ host: "127.0.0.1", port: 0, app: t.app as unknown as App, upgrade: createSessionGateway(t.deps) });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server?.stop(true));

const WS_HEADERS = { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" };

describe("gateway paths without the right credential", () => {
  test("every sample is a path the gateway owns", () => {
    for (const p of gatewayPathSamples(sessionId)) expect(parseRoute(p)?.kind).not.toBe("not-found");
  });

  for (const variant of ["no token", "another session's token", "an API key", "a UI cookie only"] as const)
    test(`${variant}: 401 on every path, HTTP and WebSocket`, async () => {
      for (const path of gatewayPathSamples(sessionId)) {
        const isConnect = path.startsWith("/connect");
        let query = "";
        const headers: Record<string, string> = {};
        if (variant === "another session's token") query = `?token=${otherToken}`;
        if (variant === "an API key") query = isConnect ? "" : `?token=${t.adminKey}`;
        if (variant === "a UI cookie only") Object.assign(headers, { cookie: t.cookie, origin: base });
        for (const ws of [false, true]) {
          const res = await fetch(`${base}${path}${query}`, { headers: { ...headers, ...(ws ? WS_HEADERS : {}) } });
          if (variant === "an API key" && isConnect) continue; // no key given on /connect here
          expect({ path, ws, status: res.status }).toEqual({ path, ws, status: 401 });
          const body = await res.json();
          expect({ path, code: body.error.code }).toEqual({ path, code: "unauthorized" });
        }
      }
    });

  test("quick connect needs a member: a viewer key is refused with 403", async () => {
    const res = await fetch(`${base}/connect?token=${t.viewerKey}`, { headers: WS_HEADERS });
    expect(res.status).toBe(403);
  });

  test("an unknown session id answers exactly as a wrong token for an existing one: ids cannot be probed", async () => {
    for (const [existing, unknown] of [
      [gatewayPathSamples(sessionId), gatewayPathSamples("ses_doesnotexist")],
      [gatewayPathSamples(sessionId), gatewayPathSamples(sessionId.slice(0, -1) + (sessionId.endsWith("a") ? "b" : "a"))],
    ] as [string[], string[]][])
      for (let i = 0; i < existing.length; i++) {
        if (existing[i]!.startsWith("/connect")) continue;
        for (const ws of [false, true])
          for (const token of ["x", otherToken]) {
            const answer = async (path: string) => {
              const res = await fetch(`${base}${path}?token=${token}`, { headers: ws ? WS_HEADERS : {} });
              return { status: res.status, body: await res.json() };
            };
            const [a, b] = [await answer(existing[i]!), await answer(unknown[i]!)];
            expect({ path: unknown[i], ws, ...b }).toEqual({ path: unknown[i], ws, ...a });
            expect(a.status).toBe(401);
          }
      }
  });
});

describe("an ended session", () => {
  test("its own token: 410 session_ended with the end reason on every path, HTTP and WebSocket; another token: the uniform 401", async () => {
    const owner = { type: "user", id: t.users.admin.id };
    const ended = (await t.deps.sessions.create(owner, { keepAlive: true })).id;
    await t.deps.sessions.stop(ended, "stopped by DELETE");
    const own = connectToken(t.deps.installKey, ended);
    for (const path of gatewayPathSamples(ended)) {
      if (path.startsWith("/connect")) continue;
      for (const ws of [false, true]) {
        const gone = await fetch(`${base}${path}?token=${own}`, { headers: ws ? WS_HEADERS : {} });
        const body = await gone.json();
        expect({ path, ws, status: gone.status, code: body.error.code }).toEqual({ path, ws, status: 410, code: "session_ended" });
        expect(body.error.message).toContain(`Session ${ended} ended (completed: stopped by DELETE) at `);
        const wrong = await fetch(`${base}${path}?token=${otherToken}`, { headers: ws ? WS_HEADERS : {} });
        expect({ path, ws, status: wrong.status, body: await wrong.json() }).toEqual({ path, ws, status: 401, body: { error: { code: "unauthorized", message: expect.any(String) } } });
      }
    }
  });
});

describe("quick connect parameters", () => {
  test("are validated like the REST body", () => {
    expect(quickConnectInput(new URLSearchParams("pool=default&keepAlive=true&timeout=60&width=800&height=600"))).toMatchObject({
      pool: "default",
      keepAlive: true,
      timeoutSec: 60,
      viewport: { width: 800, height: 600 },
    });
    for (const bad of ["colour=red", "keepAlive=yes", "timeout=-1", "width=800", "browser=firefox", "pool=../x"])
      expect(() => quickConnectInput(new URLSearchParams(bad))).toThrow();
  });
});
