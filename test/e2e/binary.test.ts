// The compiled executable, copied alone into an empty directory, starts, creates its data
// dir, applies the embedded migrations and serves the embedded UI assets.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { migrations } from "../../migrations";
import { startBinaryAlone, type RunningBinary } from "../helpers/binary";

let app: RunningBinary;
const KEY = `bg_binadmin0_${crypto.randomUUID().replace(/-/g, "")}`;

beforeAll(async () => {
  app = await startBinaryAlone({ BROWSERGRID_API_KEYS: KEY });
}, 60_000);
afterAll(async () => {
  await app?.stop();
});

describe("dist/browsergrid alone in an empty directory", () => {
  test("only the executable is beside it, and it answers /healthz", async () => {
    expect(readdirSync(app.dir).sort()).toEqual(["browsergrid", "data"]);
    const res = await fetch(`${app.url}/healthz`);
    expect(res.status).toBe(200);
    expect((await res.json()).status).toBe("ok");
  });

  test("serves the embedded assets: htmx 2.x and the stylesheet", async () => {
    const htmx = await fetch(`${app.url}/assets/htmx.min.js`);
    expect(htmx.status).toBe(200);
    const text = await htmx.text();
    const pinned = JSON.parse(readFileSync(join(import.meta.dir, "../../node_modules/htmx.org/package.json"), "utf8")).version;
    expect(pinned).toStartWith("2.");
    expect(text).toContain(`version:"${pinned}"`);
    const css = await fetch(`${app.url}/assets/app.css`);
    expect(css.headers.get("content-type")).toContain("text/css");
    expect(await css.text()).toContain("--accent");
  });

  test("applied every embedded migration to the new database, in WAL mode", () => {
    const db = new Database(join(app.dataDir, "browsergrid.db"), { readonly: true });
    const tags = db.query<{ tag: string }, []>("SELECT tag FROM __migrations ORDER BY tag").all().map((r) => r.tag);
    expect(tags).toEqual(migrations.map((m) => m.tag));
    expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    db.close();
  });

  test("serves the OpenAPI document and the API docs page", async () => {
    const spec = await (await fetch(`${app.url}/api/openapi.json`)).json();
    expect(spec.openapi).toStartWith("3.");
    expect(Object.keys(spec.paths)).toContain("/healthz");
    const docs = await fetch(`${app.url}/api/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("BrowserGrid API");
  });

  test("validates requests as it does from source (the bundler's renaming once dropped numeric query ranges)", async () => {
    const get = async (q: string) => {
      const res = await fetch(`${app.url}/api/v1/sessions?${q}`, { headers: { authorization: `Bearer ${KEY}` } });
      return { q, status: res.status, message: ((await res.json()) as { error?: { message: string } }).error?.message };
    };
    const whole = 'Field "limit": give a whole number from 1 to 500.';
    expect(await get("limit=501")).toEqual({ q: "limit=501", status: 400, message: whole });
    expect(await get("limit=0")).toEqual({ q: "limit=0", status: 400, message: whole });
    expect(await get("limit=1.5")).toEqual({ q: "limit=1.5", status: 400, message: whole });
    expect((await get("status=sleeping")).message).toStartWith('Field "status": must be one of "queued"');
    expect(await get("limit=2&status=running")).toEqual({ q: "limit=2&status=running", status: 200, message: undefined });
  });

  test("logs are JSON lines", () => {
    const lines = app.output().trim().split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
  });

  test("SIGTERM stops it cleanly", async () => {
    expect(await app.stop()).toBe(0);
  });
});

describe("configuration comes from the environment only", () => {
  test("a .env and a bunfig.toml in its directory are ignored", async () => {
    // Either file, if read, would stop the start: an invalid log level, a preload that does not exist.
    const b = await startBinaryAlone({}, { ".env": "BROWSERGRID_LOG_LEVEL=nonsense\n", "bunfig.toml": 'preload = ["./missing.ts"]\n' });
    try {
      expect((await fetch(`${b.url}/healthz`)).status).toBe(200);
    } finally {
      await b.stop();
    }
  }, 60_000);
});
