// Request bodies are capped while they stream, per route, before anything parses them; large
// caps open only to callers who authenticated first; JSON nesting is limited without recursion.
// Every request here goes through Bun.serve's fetch (listen), where the gate sits.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server } from "bun";
import { pack } from "tar-stream";
import { makeTestApp, type TestApp } from "../../test/helpers/app";
import type { App } from "./app";
import { listen } from "./server";
import { bodyGateFor } from "./body-gate";
import { ANONYMOUS_BODY_BYTES, bodyLimitFor, bodyLimitSamples, DEFAULT_BODY_BYTES, largestBodyCap, MAX_JSON_DEPTH } from "./body-limits";
import { jsonDeeperThan } from "./json-depth";

const PROFILE_MAX_MB = 2;
let t: TestApp;
let server: Server<unknown>;
let base: string;

beforeAll(async () => {
  t = await makeTestApp({ env: { BROWSERGRID_PROFILE_MAX_MB: String(PROFILE_MAX_MB) } });
  server = listen({ host: "127.0.0.1", port: 0, app: t.app as unknown as App, bodyGate: bodyGateFor(t.deps) });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server?.stop(true));

/** A chunked body of `total` bytes of spaces in 64 KiB pieces; `sent()` says how many were pulled. */
function chunkedBody(total: number, opts: { endless?: boolean } = {}) {
  const piece = new Uint8Array(64 * 1024).fill(0x20);
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (!opts.endless && sent >= total) return c.close();
      if (opts.endless && sent >= total) return new Promise(() => {}); // never ends, never sends more
      sent += piece.byteLength;
      c.enqueue(piece);
    },
  });
  return { stream, sent: () => sent };
}

async function tarOfEmptyFiles(n: number): Promise<Uint8Array> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on("end", () => r()));
  for (let i = 0; i < n; i++) p.entry({ name: `f${i}`, size: 0 }, "");
  p.finalize();
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}

/** A body without a Content-Length (Bun's fetch gives a Blob's stream one). */
function streamOf(text: string | Uint8Array): ReadableStream<Uint8Array> {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, (at += 16 * 1024)));
    },
  });
}

async function post(path: string, body: BodyInit, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, { method: "POST", body, headers, duplex: "half" } as RequestInit);
  return { status: res.status, body: (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null };
}

describe("the table of caps", () => {
  const caps = { profileArchiveBytes: PROFILE_MAX_MB * 1024 * 1024 };
  test.each(bodyLimitSamples())("%# $method $path", ({ method, path, rule }) => {
    const limit = bodyLimitFor(method, path, caps);
    if (!rule) return expect(limit).toEqual({ bytes: DEFAULT_BODY_BYTES, needsActor: false, upload: false });
    expect(limit.upload).toBe(rule.upload === true);
    // A cap above what anonymous callers may send always needs the caller to authenticate first.
    expect(limit.needsActor).toBe(limit.bytes > ANONYMOUS_BODY_BYTES);
    expect(bodyLimitFor(method, `${path}/`, caps)).toEqual(limit);
  });

  test("the login, setup and upload routes", () => {
    expect(bodyLimitFor("POST", "/api/v1/auth/login", caps).bytes).toBe(64 * 1024);
    expect(bodyLimitFor("POST", "/setup", caps).needsActor).toBe(false);
    expect(bodyLimitFor("POST", "/api/v1/profiles/import", caps)).toEqual({ bytes: caps.profileArchiveBytes, needsActor: true, upload: true });
    expect(bodyLimitFor("POST", "/api/v1/sessions/ses_abc/uploads", caps)).toMatchObject({ needsActor: true, upload: true });
    expect(largestBodyCap(caps)).toBeGreaterThanOrEqual(bodyLimitFor("POST", "/api/v1/rule-sets", caps).bytes);
  });
});

describe("bodies over the cap", () => {
  test("a Content-Length over the login cap: 413 naming the cap", async () => {
    const r = await post("/api/v1/auth/login", new Uint8Array(DEFAULT_BODY_BYTES + 1).fill(0x20), { "content-type": "application/json" });
    expect(r.status).toBe(413);
    expect(r.body?.error?.message).toContain("64 KiB");
  });

  test("a chunked login body is refused at the cap, not read to its end", async () => {
    const body = chunkedBody(64 * 1024 * 1024);
    const r = await post("/api/v1/auth/login", body.stream, { "content-type": "application/json" });
    expect(r.status).toBe(413);
    expect(r.body?.error?.code).toBe("payload_too_large");
    expect(body.sent()).toBeLessThan(32 * 1024 * 1024);
  });

  test("a chunked JSON body on an ordinary route: 413", async () => {
    const r = await post("/api/v1/sessions", chunkedBody(1024 * 1024).stream, { "content-type": "application/json", authorization: `Bearer ${t.adminKey}` });
    expect(r.status).toBe(413);
  });

  test("an authenticated chunked import over the archive cap: 413", async () => {
    // 6,000 empty files: every entry is acceptable, only the archive's own size is over the cap.
    const tar = await tarOfEmptyFiles(6000);
    expect(tar.byteLength).toBeGreaterThan(PROFILE_MAX_MB * 1024 * 1024);
    const r = await post("/api/v1/profiles/import?name=too-big", streamOf(tar), { authorization: `Bearer ${t.memberKey}` });
    expect(r.status).toBe(413);
    expect(r.body?.error?.message).toContain(`${PROFILE_MAX_MB} MiB`);
    expect((await t.call("GET", "/api/v1/profiles/too-big", { auth: t.adminKey })).status).toBe(404);
  });
});

describe("large caps need credentials before the body is read", () => {
  // The body never ends: a server that waited for it before checking who sends it never answers.
  test.each([
    ["the profile import API", "/api/v1/profiles/import?name=x", {}],
    ["the profile import form", "/profiles/import", { "content-type": "multipart/form-data; boundary=xyz" }],
    ["a rule set", "/api/v1/rule-sets", { "content-type": "application/json" }],
    ["a session upload", "/api/v1/sessions/ses_x/uploads?name=a.txt", {}],
  ])("%s, anonymous: 401 at once", async (_what, path, headers) => {
    const r = await post(path, chunkedBody(256 * 1024, { endless: true }).stream, headers as Record<string, string>);
    expect(r.status).toBe(401);
  });

  test("a viewer may not send a large body either", async () => {
    const r = await post("/api/v1/profiles/import?name=x", chunkedBody(256 * 1024, { endless: true }).stream, { authorization: `Bearer ${t.viewerKey}` });
    expect(r.status).toBe(403);
  });

  test("a wrong API key: 401", async () => {
    const r = await post("/api/v1/rule-sets", chunkedBody(256 * 1024, { endless: true }).stream, { authorization: "Bearer bg_nope0000_0000", "content-type": "application/json" });
    expect(r.status).toBe(401);
  });
});

describe("JSON nesting", () => {
  const nested = (depth: number) => `{"pool":"no-such-pool","metadata":{"a":${"[".repeat(depth)}${"]".repeat(depth)}}}`;
  const auth = () => ({ "content-type": "application/json", authorization: `Bearer ${t.adminKey}` });

  test("400,000 nested arrays: refused (never a 500)", async () => {
    const r = await post("/api/v1/sessions", nested(400_000), auth());
    expect(r.status).toBe(413);
    const chunked = await post("/api/v1/sessions", streamOf(nested(400_000)), auth());
    expect(chunked.status).toBe(400);
    expect(chunked.body?.error?.code).toBe("json_too_deep");
  });

  test(`deeper than ${MAX_JSON_DEPTH} levels: 400 naming the limit`, async () => {
    const r = await post("/api/v1/sessions", nested(MAX_JSON_DEPTH), auth());
    expect(r.status).toBe(400);
    expect(r.body?.error?.message).toContain(String(MAX_JSON_DEPTH));
  });

  test("within the limit the body reaches the route", async () => {
    const r = await post("/api/v1/sessions", nested(MAX_JSON_DEPTH - 2), auth());
    expect(r.body?.error?.code).not.toBe("json_too_deep");
    expect(r.status).not.toBe(413);
  });

  test("brackets inside strings and forms do not count", () => {
    expect(jsonDeeperThan(new TextEncoder().encode(`{"a":"${"[".repeat(100)}\\"[["}`), 4)).toBe(false);
    expect(jsonDeeperThan(new TextEncoder().encode(`[[[[[`), 4)).toBe(true);
  });
});

describe("ordinary bodies still pass", () => {
  test("login with a JSON body", async () => {
    const r = await post("/api/v1/auth/login", JSON.stringify({ email: "admin@example.com", password: "wrong-password-long-enough" }), { "content-type": "application/json" });
    expect(r.status).toBe(401);
  });

  test("a chunked JSON body under the cap", async () => {
    const r = await post("/api/v1/profiles", streamOf(JSON.stringify({ name: "chunked-ok" })), { "content-type": "application/json", authorization: `Bearer ${t.memberKey}` });
    expect(r.status).toBe(201);
  });
});
