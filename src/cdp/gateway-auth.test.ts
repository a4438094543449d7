// The gateway's authorisation on its own: which routes need which credential, and what a
// refusal looks like. No browser is involved; the hooks play the session layer.
import { describe, expect, test } from "bun:test";
import { Gone, NotFound } from "../lib/errors";
import { log } from "../lib/logger";
import { createGatewayAuth } from "./gateway-auth";
import { parseGatewayRequest } from "./routes";
import type { CdpTarget, GatewayHooks } from "./types";

const KEY = "bg_key1_secret";
const TARGET: CdpTarget = { sessionId: "ses_1", cdp: { host: "127.0.0.1", port: 9 } };

function setup(over: Partial<GatewayHooks> = {}) {
  const calls: string[] = [];
  const hooks: GatewayHooks = {
    authorize: async (id, token) => (calls.push(`authorize ${id}`), id === "ses_1" && token === "tok" ? TARGET : null),
    quickConnect: async () => (calls.push("quickConnect"), TARGET),
    verifyApiKey: async (key) => (calls.push("verifyApiKey"), key === KEY),
    sessionForToken: () => null,
    onClientsChanged: () => {},
    onActivity: () => {},
    handleDomainCommand: async () => ({}),
    ...over,
  } as GatewayHooks;
  const auth = createGatewayAuth({ hooks, publicUrl: "https://grid.example", upstreamTimeoutMs: 1_000, log: log.child({ component: "test" }) });
  const ask = (path: string, isWebSocket = false) => {
    const u = new URL(path, "http://localhost");
    return auth.answerWithoutConnection(parseGatewayRequest(u.pathname, u.search)!, new Request(u), isWebSocket);
  };
  return { auth, calls, ask };
}

async function body(res: Response | undefined | CdpTarget): Promise<{ status: number; json: Record<string, any> }> {
  if (!(res instanceof Response)) throw new Error(`expected a Response, got ${JSON.stringify(res)}`);
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

describe("root and quick-connect discovery", () => {
  test("the root without a credential is told what works instead", async () => {
    const { status, json } = await body(await setup().ask("/json/version"));
    expect(status).toBe(401);
    expect(JSON.stringify(json)).toContain("/json/version at the root answers ?token=<api key>");
  });

  test("a key the hook refuses gets 401; a good one gets the quick-connect URL with the key first", async () => {
    const { ask, calls } = setup();
    expect((await body(await ask("/connect/json/version?token=bg_wrong"))).status).toBe(401);
    const ok = await body(await ask(`/connect/json/version?pool=default&token=${KEY}`));
    expect(ok.status).toBe(200);
    expect(ok.json.webSocketDebuggerUrl).toBe(`wss://grid.example/connect?token=${KEY}&pool=default`);
    expect(calls).toEqual(["verifyApiKey", "verifyApiKey"]);
  });

  test("the root asked with a session's own token answers for that session, behind its connect rule", async () => {
    const { ask, calls } = setup({ sessionForToken: (t) => (t === "tok2" ? "ses_2" : null) });
    expect((await body(await ask("/json/version?token=tok2"))).status).toBe(401);
    expect(calls).toEqual(["authorize ses_2"]);
  });

  test("a WebSocket to /connect goes on to a connection without an answer here", async () => {
    const { ask, calls } = setup();
    expect(await ask(`/connect?token=${KEY}`, true)).toBeUndefined();
    expect(calls).toEqual([]);
  });
});

describe("a session's connect rule", () => {
  test("no token, a wrong token and a session not running all get 401", async () => {
    const { auth } = setup();
    expect((await body(await auth.authorized("ses_1", null))).status).toBe(401);
    expect((await body(await auth.authorized("ses_1", "nope"))).status).toBe(401);
    expect(await auth.authorized("ses_1", "tok")).toEqual(TARGET);
  });

  test("a DomainError from the session layer keeps its status; anything else is a 500 without details", async () => {
    const ended = setup({ authorize: async () => Promise.reject(new Gone("Session ses_1 ended.", "session_ended")) });
    const gone = await body(await ended.auth.authorized("ses_1", "tok"));
    expect([gone.status, JSON.stringify(gone.json)]).toEqual([410, expect.stringContaining("session_ended")]);
    const broken = setup({ authorize: async () => Promise.reject(new Error("db file locked at /secret/path")) });
    const internal = await body(await broken.auth.authorized("ses_1", "tok"));
    expect(internal.status).toBe(500);
    expect(JSON.stringify(internal.json)).not.toContain("/secret/path");
  });

  test("quick connect refusals come back as responses", async () => {
    const { auth } = setup({ quickConnect: async () => Promise.reject(new NotFound("Pool nope")) });
    expect((await body(await auth.quickConnect(KEY, new URLSearchParams(), new Request("http://localhost/connect")))).status).toBe(404);
  });
});
