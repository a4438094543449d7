// The schedules API and page through the real app, with fake runs and deployments ports and
// fake timers: create/read/patch/delete with nextRuns, stats and ticks; roles; refusals that
// name the problem and store nothing; pause/resume and edits re-arm the clock; a deployment's
// delete takes its schedules along; the Schedules page with its chart, form and toggle.
import { beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { makeTestApp, type TestApp } from "../../../test/helpers/app";
import { FakeTimers } from "../../../test/helpers/fake-timers";
import { auditLog, deployments, runs, schedules } from "../../db/schema";
import { BadRequest, NotFound } from "../../lib/errors";
import type { ScheduleDeployments, ScheduleRuns } from "./schedules.ports";

const T0 = Date.parse("2026-03-01T10:00:00.500Z");
const timers = new FakeTimers(T0);
const triggered: { at: number; scheduleId: string; params: Record<string, unknown> }[] = [];
const fakeRuns: ScheduleRuns = {
  trigger: (i) => {
    triggered.push({ at: timers.now(), scheduleId: i.scheduleId, params: i.params });
    return { id: `run_${triggered.length}` };
  },
  activeRunCount: () => 0,
};
/** Manifests by deployment name; "draft" exists as a row but has no version. */
type FakeManifest = { params?: { required?: string[] } };
const manifests: Record<string, FakeManifest> = { scraper: { params: { required: ["url"] } }, reporter: {} };
const fakeDeployments: ScheduleDeployments = {
  resolveVersion: (name) => {
    const manifest = manifests[name];
    if (!manifest) throw new NotFound(`Deployment "${name}" version`);
    return { manifest };
  },
  validateParams: (manifest, params) => {
    for (const k of (manifest as FakeManifest).params?.required ?? []) if (!(k in params)) throw new BadRequest(`params.${k}: is required`, "invalid_params");
    if ("url" in params && typeof params.url !== "string") throw new BadRequest("params.url: must be a string", "invalid_params");
    return params;
  },
};

let t: TestApp;
const count = () => t.deps.db.select().from(schedules).all().length;

beforeAll(async () => {
  t = await makeTestApp({ schedules: { runs: fakeRuns, deployments: fakeDeployments, timers } });
  for (const name of ["scraper", "reporter", "draft"]) t.deps.db.insert(deployments).values({ id: `dep_${name}`, name }).run();
  await t.deps.schedules!.clock.start();
});

describe("schedules API", () => {
  let id = "";

  test("create: 201 with the deployment's name, the next 5 fire times and empty stats; armed; audited", async () => {
    const res = await t.call("POST", "/api/v1/deployments/scraper/schedules", { auth: t.memberKey, body: { cron: "*/10 * * * * *", params: { url: "https://example.com" } } });
    expect(res.status).toBe(201);
    id = res.body.id;
    expect(id).toStartWith("sch_");
    expect(res.body).toMatchObject({ deployment: "scraper", deploymentId: "dep_scraper", cron: "*/10 * * * * *", timezone: "UTC", overlap: "skip", enabled: true, catchUp: 1, lastFireAt: null, params: { url: "https://example.com" } });
    expect(res.body.nextRuns).toEqual(["10", "20", "30", "40", "50"].map((s) => `2026-03-01T10:00:${s}.000Z`));
    expect(res.body.stats).toMatchObject({ runs: 0, successRate: null, recentRuns: [] });
    expect(res.body.ticks).toMatchObject({ triggered: 0, skipped: 0, missed: 0, failed: 0, lastError: null });
    expect(t.deps.schedules!.clock.armedFor(id)).toBe(Date.parse("2026-03-01T10:00:10Z"));
    const a = t.deps.db.select().from(auditLog).all().find((e) => e.action === "schedule.created");
    expect(a).toMatchObject({ target: id, detail: { deployment: "scraper", cron: "*/10 * * * * *" } });
  });

  test("bad input: 400/404 naming the problem, nothing stored, nothing armed", async () => {
    const before = count();
    const armed = timers.size;
    for (const [path, body, status, words] of [
      ["/api/v1/deployments/scraper/schedules", { cron: "61 * * * *", params: { url: "x" } }, 400, /Cron "61 \* \* \* \*" does not parse: .*minute/],
      ["/api/v1/deployments/scraper/schedules", { cron: "every day", params: { url: "x" } }, 400, /does not parse/],
      ["/api/v1/deployments/scraper/schedules", { cron: "0 0 30 2 *", params: { url: "x" } }, 400, /never fires/],
      ["/api/v1/deployments/scraper/schedules", { cron: "* * * * *", timezone: "Mars/Olympus", params: { url: "x" } }, 400, /Unknown timezone "Mars\/Olympus"/],
      ["/api/v1/deployments/nope/schedules", { cron: "* * * * *" }, 404, /Deployment "nope"/],
      ["/api/v1/deployments/draft/schedules", { cron: "* * * * *" }, 404, /version/],
      ["/api/v1/deployments/scraper/schedules", { cron: "* * * * *" }, 400, /params\.url: is required/],
      ["/api/v1/deployments/scraper/schedules", { cron: "* * * * *", params: { url: 5 } }, 400, /params\.url: must be a string/],
      ["/api/v1/deployments/scraper/schedules", { cron: "* * * * *", overlap: "replace", params: { url: "x" } }, 400, /overlap/],
      ["/api/v1/deployments/scraper/schedules", { cron: "* * * * *", catchUp: 2, params: { url: "x" } }, 400, /catchUp/],
      ["/api/v1/deployments/scraper/schedules", { cron: "* * * * *", params: { url: "x" }, every: "day" }, 400, /Unknown field "every"/],
      ["/api/v1/deployments/scraper/schedules", { params: { url: "x" } }, 400, /cron/],
    ] as const) {
      const res = await t.call("POST", path, { auth: t.memberKey, body });
      expect({ body, status: res.status }).toEqual({ body, status });
      expect(res.body.error.message).toMatch(words);
    }
    expect(count()).toBe(before);
    expect(timers.size).toBe(armed);
  });

  test("roles: viewers read, cannot write; no key is 401", async () => {
    expect((await t.call("GET", "/api/v1/schedules", { auth: t.viewerKey })).status).toBe(200);
    expect((await t.call("GET", `/api/v1/schedules/${id}`, { auth: t.viewerKey })).body.id).toBe(id);
    expect((await t.call("POST", "/api/v1/deployments/reporter/schedules", { auth: t.viewerKey, body: { cron: "* * * * *" } })).status).toBe(403);
    expect((await t.call("PATCH", `/api/v1/schedules/${id}`, { auth: t.viewerKey, body: { enabled: false } })).status).toBe(403);
    expect((await t.call("DELETE", `/api/v1/schedules/${id}`, { auth: t.viewerKey })).status).toBe(403);
    expect((await t.call("GET", "/api/v1/schedules")).status).toBe(401);
  });

  test("the clock fires through the app; list shows ticks, lastFireAt and stats from the runs table", async () => {
    await timers.advance(20_000);
    expect(triggered.map((x) => [x.scheduleId, new Date(x.at).toISOString()])).toEqual([
      [id, "2026-03-01T10:00:10.000Z"],
      [id, "2026-03-01T10:00:20.000Z"],
    ]);
    t.deps.db.insert(runs).values({ id: "run_a", deploymentId: "dep_scraper", version: 1, status: "succeeded", params: {}, trigger: "schedule", scheduleId: id, durationMs: 1200, createdAt: T0 + 10_000 }).run();
    t.deps.db.insert(runs).values({ id: "run_b", deploymentId: "dep_scraper", version: 1, status: "failed", params: {}, trigger: "schedule", scheduleId: id, durationMs: 300, error: "TypeError: boom", createdAt: T0 + 20_000, endedAt: T0 + 20_300 }).run();
    const list = await t.call("GET", "/api/v1/schedules", { auth: t.viewerKey });
    const s = list.body.schedules.find((x: { id: string }) => x.id === id);
    expect(s.lastFireAt).toBe("2026-03-01T10:00:20.000Z");
    expect(s.nextRuns[0]).toBe("2026-03-01T10:00:30.000Z");
    expect(s.ticks).toMatchObject({ triggered: 2 });
    expect(s.ticks.recent[0]).toMatchObject({ outcome: "triggered", runId: "run_2", scheduledAt: "2026-03-01T10:00:20.000Z" });
    expect(s.stats).toMatchObject({ runs: 2, succeeded: 1, failed: 1, successRate: 0.5, p50DurationMs: 300, p95DurationMs: 1200 });
    expect(s.stats.lastFailure).toEqual({ runId: "run_b", status: "failed", at: new Date(T0 + 20_300).toISOString(), error: "TypeError: boom" });
    const one = await t.call("GET", "/api/v1/deployments/scraper/schedules", { auth: t.viewerKey });
    expect(one.body.schedules.map((x: { id: string }) => x.id)).toEqual([id]);
    expect((await t.call("GET", "/api/v1/schedules?deployment=reporter", { auth: t.viewerKey })).body.schedules).toEqual([]);
    expect((await t.call("GET", "/api/v1/schedules?deployment=nope", { auth: t.viewerKey })).status).toBe(404);
    expect((await t.call("GET", "/api/v1/schedules/sch_nope", { auth: t.viewerKey })).status).toBe(404);
  });

  test("patch: pause (no nextRuns, no timer, no ticks), resume, change cron and timezone; a refusal changes nothing", async () => {
    const paused = await t.call("PATCH", `/api/v1/schedules/${id}`, { auth: t.memberKey, body: { enabled: false } });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ enabled: false, nextRuns: [] });
    expect(t.deps.schedules!.clock.armedFor(id)).toBeNull();
    const n = triggered.length;
    await timers.advance(60_000);
    expect(triggered).toHaveLength(n);
    const bad = await t.call("PATCH", `/api/v1/schedules/${id}`, { auth: t.memberKey, body: { enabled: true, cron: "0 0 31 4 *" } });
    expect(bad.status).toBe(400);
    expect(t.deps.db.select().from(schedules).where(eq(schedules.id, id)).get()).toMatchObject({ enabled: false, cron: "*/10 * * * * *" });
    expect((await t.call("PATCH", `/api/v1/schedules/${id}`, { auth: t.memberKey, body: { params: {} } })).body.error.message).toContain("params.url");
    const resumed = await t.call("PATCH", `/api/v1/schedules/${id}`, { auth: t.memberKey, body: { enabled: true, cron: "0 30 9 * * *", timezone: "Europe/Berlin", overlap: "allow" } });
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ enabled: true, overlap: "allow", timezone: "Europe/Berlin" });
    expect(resumed.body.nextRuns.slice(0, 2)).toEqual(["2026-03-02T08:30:00.000Z", "2026-03-03T08:30:00.000Z"]);
    expect(t.deps.schedules!.clock.armedFor(id)).toBe(Date.parse("2026-03-02T08:30:00Z"));
    expect(triggered).toHaveLength(n); // paused ticks are not replayed
  });

  test("delete: 204, gone, timer dropped; a deployment's delete takes its schedules along", async () => {
    expect((await t.call("DELETE", `/api/v1/schedules/${id}`, { auth: t.memberKey })).status).toBe(204);
    expect((await t.call("GET", `/api/v1/schedules/${id}`, { auth: t.viewerKey })).status).toBe(404);
    expect((await t.call("DELETE", `/api/v1/schedules/${id}`, { auth: t.memberKey })).status).toBe(404);
    expect(t.deps.schedules!.clock.armedFor(id)).toBeNull();
    const other = await t.call("POST", "/api/v1/deployments/reporter/schedules", { auth: t.memberKey, body: { cron: "* * * * * *" } });
    expect(other.status).toBe(201);
    t.deps.db.delete(deployments).where(eq(deployments.id, "dep_reporter")).run();
    expect((await t.call("GET", "/api/v1/schedules", { auth: t.viewerKey })).body.schedules).toEqual([]);
    const n = triggered.length;
    await timers.advance(3_000);
    expect(triggered).toHaveLength(n);
    expect(t.deps.schedules!.clock.armedFor(other.body.id)).toBeNull();
  });

  test("a server without the runs service has no schedule routes; its page says why", async () => {
    const bare = await makeTestApp();
    expect((await bare.call("GET", "/api/v1/schedules", { auth: bare.viewerKey })).status).toBe(404);
    expect((await bare.call("POST", "/api/v1/deployments/x/schedules", { auth: bare.memberKey, body: { cron: "* * * * *" } })).status).toBe(404);
    const doc = await bare.call("GET", "/api/openapi.json");
    expect(Object.keys(doc.body.paths).filter((p) => p.includes("schedules"))).toEqual([]);
    const page = await bare.call("GET", "/schedules", { auth: bare.cookie });
    expect(page.status).toBe(200);
    expect(page.body).toContain("Schedules are not available on this server");
  });
});

describe("Schedules page", () => {
  const form = (fields: Record<string, string>) => ({ auth: t.cookie, body: new URLSearchParams(fields).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } });

  test("create through the form; a bad cron is shown next to its field and nothing is stored", async () => {
    const before = count();
    const bad = await t.call("POST", "/schedules", form({ deployment: "scraper", cron: "61 * * * *", timezone: "UTC", overlap: "skip", catchUp: "1", params: '{"url":"x"}' }));
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('id="cron-error"');
    expect(bad.body).toContain("Invalid value for minute");
    const badJson = await t.call("POST", "/schedules", form({ deployment: "scraper", cron: "* * * * *", params: "[1]" }));
    expect(badJson.status).toBe(400);
    expect(badJson.body).toContain("Params must be a JSON object");
    expect(count()).toBe(before);
    const ok = await t.call("POST", "/schedules", form({ deployment: "scraper", cron: "0 */5 * * * *", timezone: "UTC", overlap: "queue", catchUp: "0", params: '{"url":"https://example.com"}' }));
    expect(ok.status).toBe(303);
    expect(count()).toBe(before + 1);
    expect(t.deps.db.select().from(schedules).all().at(-1)).toMatchObject({ cron: "0 */5 * * * *", overlap: "queue", catchUp: 0, params: { url: "https://example.com" } });
  });

  test("the page lists each schedule with next runs, statistics and an SVG chart coloured by status; the toggle pauses in place", async () => {
    const row = t.deps.db.select().from(schedules).all().at(-1)!;
    for (const [i, status] of (["succeeded", "failed", "timed_out", "running"] as const).entries())
      t.deps.db.insert(runs).values({ id: `run_p${i}`, deploymentId: row.deploymentId, version: 1, status, params: {}, trigger: "schedule", scheduleId: row.id, durationMs: status === "running" ? null : (i + 1) * 1000, createdAt: T0 + i }).run();
    const res = await t.call("GET", "/schedules", { auth: t.cookie });
    expect(res.status).toBe(200);
    const page: string = res.body;
    expect(page).toContain('<a href="/schedules" aria-current="page">Schedules</a>');
    expect(page).toContain(`id="schedule-${row.id}"`);
    expect(page).toContain("<code>0 */5 * * * *</code>");
    expect(page).toMatch(/<ol class="next-runs small"><li><time datetime="2026-03-01T10:\d\d:00.000Z">/);
    expect(page).toContain("4 runs · 33 % ok");
    expect(page).toMatch(/<svg class="runs-chart"[^>]*role="img"/);
    for (const s of ["succeeded", "failed", "timed_out", "running"]) expect(page).toContain(`data-status="${s}"`);
    expect(page).toContain('fill="#d92d20"');
    expect(page).not.toMatch(/<script[^>]+src="http/);
    const toggled = await t.call("POST", `/schedules/${row.id}/enabled`, { ...form({ enabled: "false" }), headers: { "content-type": "application/x-www-form-urlencoded", "hx-request": "true" } });
    expect(toggled.status).toBe(200);
    expect(toggled.body).toStartWith(`<tr id="schedule-${row.id}">`);
    expect(toggled.body).toContain(">Resume</button>");
    expect(t.deps.schedules!.clock.armedFor(row.id)).toBeNull();
    const viewer = await t.call("GET", "/schedules/table", { auth: t.viewerKey });
    expect(viewer.status).toBe(200);
  });
});
