import { describe, expect, test } from "bun:test";
import { toPublicSession, toPublicSessionJson, toPublicSessionsJsonBytes } from "./sessions.model";
import type { SessionRow } from "./sessions.store";

const key = Buffer.alloc(32, 7);
const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);

function row(over: Partial<SessionRow>): SessionRow {
  return Object.freeze({
    id: "ses_abc",
    poolId: "pool_1",
    workerId: "wrk_1",
    ownerType: "user",
    ownerId: "usr_1",
    status: "running",
    containerId: "c1",
    cdpEndpoint: "10.0.0.2:9222",
    connectTokenHash: "h",
    config: { browser: "headless-shell" },
    // A metadata value that looks like the key being spliced must not confuse the splice.
    metadata: { note: '"durationMs":-1.5', durationMs: -1.5, nested: { durationMs: 3 } },
    keepAlive: false,
    ephemeral: false,
    timeoutSec: 300,
    idleTimeoutSec: 60,
    endReason: null,
    createdAt: T0 - 2000,
    startedAt: T0 - 1000,
    expiresAt: T0 + 299_000,
    endedAt: null,
    bytesSent: 10,
    bytesReceived: 20,
    ...over,
  } as SessionRow);
}

const ctx = (now: number, poolName = "default", workerName: string | null = "local") => ({ publicUrl: "http://grid.test", installKey: key, poolName, workerName, now });

describe("toPublicSessionJson", () => {
  const cases: [string, SessionRow][] = [
    ["running", row({})],
    ["queued (no start yet)", row({ status: "queued", startedAt: null, workerId: null })],
    ["stopping", row({ status: "stopping" })],
    ["completed", row({ status: "completed", endedAt: T0 - 10, endReason: "stopped" })],
  ];
  for (const [name, r] of cases)
    test(`is the JSON of toPublicSession: ${name}`, () => {
      for (const now of [T0, T0 + 1, T0 + 61_000, T0 + 3_600_000]) {
        const c = ctx(now, "default", r.workerId ? "local" : null);
        for (const secrets of [true, false]) expect(toPublicSessionJson(r, c, secrets)).toBe(JSON.stringify(toPublicSession(r, c, secrets)));
      }
    });

  test("the running duration moves with the clock, and the watch link's expiry with its 5-minute step", () => {
    const r = row({});
    const a = JSON.parse(toPublicSessionJson(r, ctx(T0), true));
    const b = JSON.parse(toPublicSessionJson(r, ctx(T0 + 250), true));
    expect(b.durationMs - a.durationMs).toBe(250);
    const later = JSON.parse(toPublicSessionJson(r, ctx(T0 + 600_000), true));
    expect(later.liveUrl).not.toBe(a.liveUrl);
    expect(later.metadata).toEqual(r.metadata);
  });

  test("a renamed pool or worker is not served from the remembered text", () => {
    const r = row({});
    expect(JSON.parse(toPublicSessionJson(r, ctx(T0, "default"), true)).pool).toBe("default");
    expect(JSON.parse(toPublicSessionJson(r, ctx(T0, "renamed"), true)).pool).toBe("renamed");
    expect(JSON.parse(toPublicSessionJson(r, ctx(T0, "renamed", "w2"), true)).worker).toBe("w2");
  });

  test("a page's bytes are the JSON of the rows, prefix and suffix around it, non-ASCII included", () => {
    const rows = [...cases.map(([, r]) => r), row({ id: "ses_ü", metadata: { name: "café ☕" } })];
    const c = (r: SessionRow) => ctx(T0 + 5, "default", r.workerId ? "local" : null);
    const secrets = (r: SessionRow) => r.id !== "ses_ü";
    const bytes = toPublicSessionsJsonBytes(rows, c, secrets, '{"sessions":', ',"nextCursor":null}', T0 + 5);
    expect(new TextDecoder().decode(bytes)).toBe(`{"sessions":${JSON.stringify(rows.map((r) => toPublicSession(r, c(r), secrets(r))))},"nextCursor":null}`);
    expect(new TextDecoder().decode(toPublicSessionsJsonBytes([], c, secrets))).toBe("[]");
  });
});
