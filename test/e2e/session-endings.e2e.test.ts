// How a session that is no longer wanted, or no longer running, is answered, end to end: a real
// BrowserGrid, real Chromium containers, real clients through the gateway.
// - A queued create whose client gave up (closed its connection while waiting for a slot) leaves
//   the queue at once: no container is ever created for it and it never takes the slot.
// - Connecting to an ended session with its own token answers 410 with the end reason; a wrong
//   token on that session still gets the one 401 that an unknown id gets.
//
// Isolation: this grid uses its own Docker network and nftables table.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chromium } from "playwright-core";
import { ADMIN_KEY, containersOfSession, docker, startIsolatedGrid, waitFor, type Grid } from "../helpers/grid";

const TABLE = "bgendings_e2e";
const NETWORK = "browsergrid-endings-e2e";

let grid: Grid;
const created: string[] = [];

const WS_HEADERS = { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" };

async function createSession(body: Record<string, unknown> = {}) {
  const res = await grid.api("POST", "/api/v1/sessions", body);
  expect(res.status).toBe(201);
  created.push(res.body.id);
  return res.body as { id: string; cdpUrl: string; status: string };
}

/** Containers Docker ever created for a session between `since` and now (epoch seconds), from the engine's event log. */
async function containersEverCreated(sessionId: string, since: number): Promise<string[]> {
  const until = Math.ceil(Date.now() / 1000) + 1;
  const stream = (await docker.getEvents({ since, until, filters: { type: ["container"], event: ["create"], label: [`browsergrid.session=${sessionId}`] } })) as unknown as NodeJS.ReadableStream;
  let text = "";
  for await (const chunk of stream) text += chunk.toString();
  return text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => (JSON.parse(l) as { id: string }).id);
}

/** The gateway's answer to a WebSocket upgrade (what a WebSocket client shows for a refused one). */
async function upgradeAnswer(wsUrl: string): Promise<{ status: number; body: any }> {
  const res = await fetch(wsUrl.replace(/^ws/, "http"), { headers: WS_HEADERS });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  grid = await startIsolatedGrid({ network: NETWORK, table: TABLE });
}, 60_000);

afterAll(async () => {
  for (const id of created) await grid?.api("DELETE", `/api/v1/sessions/${id}`).catch(() => {});
  await grid?.dispose();
}, 60_000);

describe("connecting to an ended session", () => {
  test("its own token: 410 session_ended with the end reason (WebSocket upgrade and discovery); a wrong token: the uniform 401", async () => {
    const s = await createSession({ keepAlive: true });
    const browser = await chromium.connectOverCDP(s.cdpUrl);
    expect(browser.contexts()).toHaveLength(1);
    await browser.close();
    expect((await grid.api("DELETE", `/api/v1/sessions/${s.id}`)).status).toBe(200);

    const gone = await upgradeAnswer(s.cdpUrl);
    expect(gone.status).toBe(410);
    expect(gone.body.error.code).toBe("session_ended");
    expect(gone.body.error.message).toContain(s.id);
    expect(gone.body.error.message).toContain("completed: stopped by user");

    const u = new URL(s.cdpUrl.replace(/^ws/, "http"));
    const discovery = await fetch(`${u.origin}${u.pathname}/json/version${u.search}`);
    expect(discovery.status).toBe(410);
    expect((await discovery.json()).error.code).toBe("session_ended");

    // What a real client shows: the status and the reason, not a bare 401.
    const err = await chromium.connectOverCDP(s.cdpUrl, { timeout: 10_000 }).then(
      () => new Error("connected to an ended session"),
      (e: Error) => e,
    );
    expect(err.message).toContain("410");
    expect(err.message).toContain(`Session ${s.id} ended (completed: stopped by user)`);

    // A wrong token on the ended session answers exactly as a wrong token on an unknown id.
    const wrong = new URL(s.cdpUrl);
    wrong.searchParams.set("token", "x".repeat(43));
    const unknown = new URL(wrong);
    unknown.pathname = "/cdp/ses_doesnotexist";
    const [a, b] = [await upgradeAnswer(wrong.href), await upgradeAnswer(unknown.href)];
    expect(a.status).toBe(401);
    expect(a).toEqual(b);
  }, 60_000);
});

describe("a queued create whose client gave up", () => {
  test("leaves the queue at once, ends failed with a reason, never creates a container; the next create gets the slot", async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const pool = await grid.api("PATCH", "/api/v1/pools/default", { maxSessions: 1, minWarm: 0, queueTimeoutSec: 120 });
    expect(pool.status).toBe(200);
    const first = await createSession({ keepAlive: true });

    // The second create waits for the slot; its client then closes the connection.
    const abandon = new AbortController();
    const second = fetch(`${grid.url}/api/v1/sessions`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ keepAlive: true }),
      signal: abandon.signal,
    });
    second.catch(() => {});
    const queued = await waitFor("the second create to be queued", async () => (await grid.api("GET", "/api/v1/sessions?status=queued")).body.sessions[0] as { id: string } | undefined, 30_000);
    created.push(queued.id);
    abandon.abort();
    await expect(second).rejects.toThrow();

    // Out of the queue at once (not when a slot frees): terminal, with the reason.
    const ended = await waitFor("the abandoned session to end", async () => {
      const r = (await grid.api("GET", `/api/v1/sessions/${queued.id}`)).body;
      return r.status !== "queued" && r;
    });
    expect(ended.status).toBe("failed");
    expect(ended.endedAt).not.toBeNull();
    const events = (await grid.api("GET", `/api/v1/sessions/${queued.id}/events`)).body.events as { type: string; detail: { reason?: string } }[];
    expect(events.map((e) => e.type)).toEqual(["queued", "failed"]);
    expect(events.at(-1)!.detail.reason).toContain("client gave up");

    // The slot frees; the next create gets it, and the abandoned one never started anything.
    expect((await grid.api("DELETE", `/api/v1/sessions/${first.id}`)).status).toBe(200);
    const third = await createSession({ keepAlive: true });
    expect(third.status).toBe("running");
    expect((await grid.api("GET", `/api/v1/sessions/${queued.id}`)).body.status).toBe("failed");
    expect(await containersOfSession(queued.id)).toEqual([]);
    expect(await containersEverCreated(queued.id, since)).toEqual([]);
    // The event log does see this install's containers (the look-up can find one).
    expect(await containersEverCreated(third.id, since)).toHaveLength(1);
    expect((await grid.api("DELETE", `/api/v1/sessions/${third.id}`)).status).toBe(200);
    expect((await grid.api("PATCH", "/api/v1/pools/default", { maxSessions: 10 })).status).toBe(200);
  }, 120_000);
});
