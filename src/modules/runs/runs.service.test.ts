// The run lifecycle against fakes of its ports (test/helpers/run-fakes.ts) and the real session
// service over an in-memory provider: what a run is given, how its outcome becomes its status,
// the queue's order and limits, retries, timeouts, cancel, logs and output. The real runner
// containers are driven at merge by test/e2e.
import { expect, test } from "bun:test";
import { runsHarness, until } from "../../../test/helpers/runs";
import { ManualClock } from "../../../test/helpers/run-fakes";
import { getSession, listEvents } from "../sessions/sessions.store";
import { getRun, listRunEvents } from "./runs.store";
import { storageOf } from "../profiles/session-storage";

const ended = (h: Awaited<ReturnType<typeof runsHarness>>, id: string) => () => ["succeeded", "failed", "timed_out", "cancelled"].includes(getRun(h.t.deps.db, id)!.status);

test("a run that exits 0: env per SPEC, log, result.json, output artifacts, session ended, events", async () => {
  const h = await runsHarness();
  h.deployments.add("shop", { params: { properties: { q: { type: "string", default: "shoes" } } } }, { API_SECRET: "s3cr3t-value-1" });
  h.runners.script = () => ({ lines: [{ stream: "stdout", line: "hello from the code" }], output: { "result.json": '{"items":3}', "shot.png": "PNGDATA" }, exitCode: 0 });
  const queued = await h.runs.trigger({ deploymentName: "shop", trigger: "api" });
  expect(queued.status).toBe("queued");
  expect(queued.params).toEqual({ q: "shoes" });
  await until(ended(h, queued.id), 3000, "run end");
  const run = getRun(h.t.deps.db, queued.id)!;
  expect(run.status).toBe("succeeded");
  expect(run.exitCode).toBe(0);
  expect(run.attempt).toBe(1);
  expect(run.result).toEqual({ items: 3 });
  expect(run.tokenHash).toBeNull();
  expect(run.durationMs).toBeGreaterThanOrEqual(0);

  const spec = h.runners.started[0]!;
  expect(spec.runtime).toBe("bun");
  expect(spec.entry).toBe("main.ts");
  expect(spec.sessionId).toBe(run.sessionId!);
  const env = spec.env;
  expect(env.BROWSERGRID_CDP_URL).toMatch(new RegExp(`^ws://door\\.test:7070/cdp/${run.sessionId}\\?token=.+`));
  expect(env.BROWSER_WS_ENDPOINT).toBe(env.BROWSERGRID_CDP_URL!);
  expect(JSON.parse(env.BROWSERGRID_PARAMS!)).toEqual({ q: "shoes" });
  expect(env.BROWSERGRID_OUTPUT_DIR).toBe("/home/runner/output");
  expect(env.BROWSERGRID_API_URL).toBe("http://door.test:7070");
  expect(env.BROWSERGRID_RUN_ID).toBe(run.id);
  expect(env.BROWSERGRID_RUN_TOKEN).toMatch(new RegExp(`^bgr_${run.id}_[A-Za-z0-9_-]{43}$`));
  expect(env.API_SECRET).toBe("s3cr3t-value-1");

  // The session was the run's own, and is over; its timeline tells of the attempt.
  const session = getSession(h.t.deps.db, run.sessionId!)!;
  expect(session.ownerType).toBe("run");
  expect(session.ownerId).toBe(run.id);
  expect(session.keepAlive).toBe(false);
  await until(() => getSession(h.t.deps.db, run.sessionId!)!.status === "completed", 2000, "session end");
  expect(listEvents(h.t.deps.db, run.sessionId!).map((e) => e.type)).toEqual(expect.arrayContaining(["run_attempt_started", "run_attempt_exited"]));
  expect(h.runners.stopped).toContain(h.runners.handleOf(run.id)!);

  const arts = storageOf(h.t.deps).artifacts.listOfRun(run.id);
  expect(arts.map((a) => [a.name, a.kind, a.sessionId, a.runId])).toEqual([["shot.png", "output", run.sessionId!, run.id]]);

  const types = listRunEvents(h.t.deps.db, run.id).map((e) => e.type);
  expect(types).toEqual(["queued", "attempt_started", "exited", "output", "succeeded"]);
  const started = listRunEvents(h.t.deps.db, run.id).find((e) => e.type === "attempt_started")!;
  expect(started.detail).toMatchObject({ attempt: 1, sessionId: run.sessionId });

  await h.runs.logs.stored();
  const log = await h.runs.logs.text(getRun(h.t.deps.db, run.id)!);
  expect(log).toContain("stdout hello from the code");
  expect(getRun(h.t.deps.db, run.id)!.logKey).toBe(`runs/${run.id}/log`);
});

test("FIFO per deployment within its concurrency; other deployments are not held up", async () => {
  const h = await runsHarness();
  h.deployments.add("one", { concurrency: 1 });
  h.deployments.add("two", { concurrency: 2 });
  h.runners.script = () => ({ hang: true });
  const a = await h.runs.trigger({ deploymentName: "one", trigger: "api" });
  const b = await h.runs.trigger({ deploymentName: "one", trigger: "api" });
  const c = await h.runs.trigger({ deploymentName: "one", trigger: "api" });
  const x = await h.runs.trigger({ deploymentName: "two", trigger: "api" });
  const y = await h.runs.trigger({ deploymentName: "two", trigger: "api" });
  const z = await h.runs.trigger({ deploymentName: "two", trigger: "api" });
  await until(() => h.runners.started.length === 3, 3000, "three starts");
  await Bun.sleep(50);
  expect(h.runners.started.map((s) => s.runId).sort()).toEqual([a.id, x.id, y.id].sort());
  expect(getRun(h.t.deps.db, b.id)!.status).toBe("queued");
  expect(getRun(h.t.deps.db, z.id)!.status).toBe("queued");
  // a ends → b (not c) starts; x ends → z starts.
  h.runners.exit(h.runners.handleOf(a.id)!, 0);
  h.runners.exit(h.runners.handleOf(x.id)!, 0);
  await until(() => h.runners.started.length === 5, 3000, "two more starts");
  expect(h.runners.started.slice(3).map((s) => s.runId).sort()).toEqual([b.id, z.id].sort());
  expect(getRun(h.t.deps.db, c.id)!.status).toBe("queued");
  for (const id of [b.id, y.id, z.id]) h.runners.exit(h.runners.handleOf(id)!, 0);
  await until(() => h.runners.started.length === 6, 3000, "the last start");
  expect(h.runners.started[5]!.runId).toBe(c.id);
  h.runners.exit(h.runners.handleOf(c.id)!, 0);
  await h.runs.attemptsSettled();
});

test("a failing run is retried after backoffSec, doubling, then fails with the stderr tail", async () => {
  const clock = new ManualClock();
  const h = await runsHarness({ clock });
  h.deployments.add("flaky", { retries: { max: 2, backoffSec: 10 } });
  const stderr = Array.from({ length: 25 }, (_, i) => ({ stream: "stderr" as const, line: `trace line ${i + 1}` }));
  h.runners.script = () => ({ lines: [{ stream: "stdout", line: "working" }, ...stderr], exitCode: 3 });
  const run = await h.runs.trigger({ deploymentName: "flaky", trigger: "api" });
  const t0 = clock.now();
  await until(() => getRun(h.t.deps.db, run.id)!.status === "queued" && getRun(h.t.deps.db, run.id)!.attempt === 1, 3000, "first failure");
  let r = getRun(h.t.deps.db, run.id)!;
  expect(r.notBefore).toBe(t0 + 10_000);
  expect(r.exitCode).toBe(3);
  clock.advance(9_999);
  await h.runs.settled();
  await Bun.sleep(30);
  expect(h.runners.started.length).toBe(1);
  clock.advance(1);
  await until(() => h.runners.started.length === 2, 3000, "second attempt");
  await until(() => getRun(h.t.deps.db, run.id)!.status === "queued" && getRun(h.t.deps.db, run.id)!.attempt === 2, 3000, "second failure");
  expect(getRun(h.t.deps.db, run.id)!.notBefore).toBe(clock.now() + 20_000);
  clock.advance(19_999);
  await h.runs.settled();
  await Bun.sleep(30);
  expect(h.runners.started.length).toBe(2);
  clock.advance(1);
  await until(ended(h, run.id), 3000, "final failure");
  r = getRun(h.t.deps.db, run.id)!;
  expect(r.status).toBe("failed");
  expect(r.attempt).toBe(3);
  expect(r.exitCode).toBe(3);
  expect(r.error!.split("\n")).toEqual(stderr.slice(5).map((l) => l.line));
  const types = listRunEvents(h.t.deps.db, run.id).map((e) => e.type);
  expect(types.filter((t) => t === "retry_scheduled").length).toBe(2);
  expect(types.filter((t) => t === "attempt_started").length).toBe(3);
  expect(types.at(-1)).toBe("failed");
  expect(h.runners.started.map((s) => s.attempt)).toEqual([1, 2, 3]);
});

test("a run past timeoutSec is killed: timed_out, runner removed, session ended, no retry", async () => {
  const h = await runsHarness();
  h.deployments.add("sleepy", { timeoutSec: 1, retries: { max: 3, backoffSec: 0 } });
  h.runners.script = () => ({ hang: true, output: { "result.json": '{"partial": true}', "shot.png": "png bytes" } });
  const run = await h.runs.trigger({ deploymentName: "sleepy", trigger: "api" });
  const t0 = Date.now();
  await until(ended(h, run.id), 4000, "timeout");
  const r = getRun(h.t.deps.db, run.id)!;
  expect(r.status).toBe("timed_out");
  // What it wrote before its time ran out is kept.
  expect(r.result).toEqual({ partial: true });
  expect(h.t.deps.storage.artifacts.listOfRun(run.id).map((a) => a.name)).toEqual(["shot.png"]);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
  expect(h.runners.stopped).toContain(h.runners.handleOf(run.id)!);
  expect(h.runners.started.length).toBe(1);
  await until(() => getSession(h.t.deps.db, r.sessionId!)!.status === "completed", 2000, "session end");
});

test("cancel: a queued run never starts; a running one is killed within a second", async () => {
  const h = await runsHarness();
  h.deployments.add("long");
  h.runners.script = () => ({ hang: true });
  const first = await h.runs.trigger({ deploymentName: "long", trigger: "api" });
  const second = await h.runs.trigger({ deploymentName: "long", trigger: "api" });
  await until(() => h.runners.started.length === 1, 3000, "first start");
  const q = await h.runs.cancel(second.id);
  expect(q.status).toBe("cancelled");
  const t0 = performance.now();
  const c = await h.runs.cancel(first.id);
  expect(performance.now() - t0).toBeLessThan(1000);
  expect(c.status).toBe("cancelled");
  expect(h.runners.stopped).toContain(h.runners.handleOf(first.id)!);
  expect(getSession(h.t.deps.db, c.sessionId!)!.status).toBe("completed");
  await Bun.sleep(50);
  expect(h.runners.started.map((s) => s.runId)).toEqual([first.id]);
  // An ended run is answered as it is.
  expect((await h.runs.cancel(first.id)).status).toBe("cancelled");
});

test("cancel answers only once the runner is removed, though the kill's removal is still under way when the attempt ends", async () => {
  const h = await runsHarness();
  h.deployments.add("long");
  h.runners.script = () => ({ hang: true });
  h.runners.removalMs = 300;
  const run = await h.runs.trigger({ deploymentName: "long", trigger: "api" });
  await until(() => h.runners.started.length === 1, 3000, "start");
  const c = await h.runs.cancel(run.id);
  expect(c.status).toBe("cancelled");
  expect([...h.runners.gone]).toEqual([h.runners.handleOf(run.id)!]);
});

test("secret values and the run token are redacted in the stored log and in what followers get", async () => {
  const h = await runsHarness();
  h.deployments.add("leaky", {}, { DB_PASSWORD: "hunter2-long-secret", SHORT: "ab" });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  h.runners.script = (spec) => ({
    lines: [
      { stream: "stdout", line: `password is hunter2-long-secret!` },
      { stream: "stderr", line: `token ${spec.env.BROWSERGRID_RUN_TOKEN} and ab` },
    ],
    hang: true,
  });
  const run = await h.runs.trigger({ deploymentName: "leaky", trigger: "api" });
  await until(() => h.runners.started.length === 1, 3000, "start");
  const chunks: string[] = [];
  let closed = false;
  await h.runs.logs.follow(getRun(h.t.deps.db, run.id)!, (c) => (c === null ? (closed = true) : chunks.push(c)));
  void gate;
  h.runners.exit(h.runners.handleOf(run.id)!, 0);
  release();
  await until(() => closed, 3000, "follow end");
  const token = h.runners.started[0]!.env.BROWSERGRID_RUN_TOKEN!;
  const streamed = chunks.join("");
  await h.runs.logs.stored();
  const stored = new TextDecoder().decode(await storageOf(h.t.deps).blobs.read(getRun(h.t.deps.db, run.id)!.logKey!));
  for (const text of [streamed, stored]) {
    expect(text).toContain("password is ***!");
    expect(text).toContain("token *** and ab");
    expect(text).not.toContain("hunter2-long-secret");
    expect(text).not.toContain(token);
  }
});

test("a result.json that is not JSON: the run ends by its exit code and an event says why", async () => {
  const h = await runsHarness();
  h.deployments.add("bad-result");
  h.runners.script = () => ({ output: { "result.json": "{not json" }, exitCode: 0 });
  const run = await h.runs.trigger({ deploymentName: "bad-result", trigger: "api" });
  await until(ended(h, run.id), 3000, "end");
  const r = getRun(h.t.deps.db, run.id)!;
  expect(r.status).toBe("succeeded");
  expect(r.result).toBeNull();
  const out = listRunEvents(h.t.deps.db, run.id).find((e) => e.type === "output")!;
  expect(String(out.detail!.resultProblem)).toContain("result.json is not valid JSON");
});

test("params are validated before anything is stored; activeRunCount counts a schedule's queued and running runs", async () => {
  const h = await runsHarness({ start: false });
  h.deployments.add("strict", { params: { required: ["url"], properties: { url: { type: "string" } } } });
  await expect(h.runs.trigger({ deploymentName: "strict", params: { url: 5 }, trigger: "api" })).rejects.toThrow("params.url must be a string");
  await expect(h.runs.trigger({ deploymentName: "strict", trigger: "api" })).rejects.toThrow("params.url is required");
  await expect(h.runs.trigger({ deploymentName: "nope", trigger: "api" })).rejects.toThrow("was not found");
  expect(h.t.deps.db.$client.query("SELECT count(*) AS n FROM runs").get()).toEqual({ n: 0 });
  await h.runs.trigger({ deploymentName: "strict", params: { url: "https://a.test" }, trigger: "schedule", scheduleId: "sch_1" });
  await h.runs.trigger({ deploymentName: "strict", params: { url: "https://a.test" }, trigger: "schedule", scheduleId: "sch_1" });
  const other = await h.runs.trigger({ deploymentName: "strict", params: { url: "https://a.test" }, trigger: "schedule", scheduleId: "sch_2" });
  expect(h.runs.activeRunCount({ scheduleId: "sch_1" })).toBe(2);
  await h.runs.cancel(other.id);
  expect(h.runs.activeRunCount({ scheduleId: "sch_2" })).toBe(0);
});

test("a run's session may be connected to (its owner may hold sessions) only while the run is queued or running", async () => {
  const { ownerMayHoldSessions } = await import("../sessions/sessions.access");
  const h = await runsHarness();
  h.deployments.add("hold");
  h.runners.script = () => ({ hang: true });
  const run = await h.runs.trigger({ deploymentName: "hold", trigger: "api" });
  await until(() => h.runners.started.length === 1, 3000, "start");
  const session = getSession(h.t.deps.db, getRun(h.t.deps.db, run.id)!.sessionId!)!;
  expect(ownerMayHoldSessions(h.t.deps.db, session)).toBe(true);
  expect(h.t.deps.sessions.authorizeConnect(session.id, new URL(h.runners.started[0]!.env.BROWSERGRID_CDP_URL!).searchParams.get("token")!)).not.toBeNull();
  await h.runs.cancel(run.id);
  expect(ownerMayHoldSessions(h.t.deps.db, session)).toBe(false);
  expect(ownerMayHoldSessions(h.t.deps.db, { ownerType: "run", ownerId: "run_unknown" })).toBe(false);
});

test("queued runs of a version that is gone fail with the reason, every one of them, without starting", async () => {
  const h = await runsHarness({ start: false });
  h.deployments.add("gone");
  const a = await h.runs.trigger({ deploymentName: "gone", trigger: "api" });
  const b = await h.runs.trigger({ deploymentName: "gone", trigger: "api" });
  h.deployments.removeVersion("gone", 1);
  h.runs.start();
  await until(() => [a.id, b.id].every((id) => getRun(h.t.deps.db, id)!.status === "failed"), 3000, "both failed");
  expect(getRun(h.t.deps.db, b.id)!.error).toContain("version 1 cannot be run");
  expect(h.runners.started.length).toBe(0);
});

test("the manifest's browser settings reach the session: a profile named by a string, a pool; a browser that cannot start fails the attempt with why", async () => {
  const h = await runsHarness();
  h.deployments.add("with-profile", { browser: { profile: "no-such-profile" } });
  const run = await h.runs.trigger({ deploymentName: "with-profile", trigger: "api" });
  await until(ended(h, run.id), 3000, "end");
  const r = getRun(h.t.deps.db, run.id)!;
  expect(r.status).toBe("failed");
  expect(r.error).toContain("no-such-profile");
  expect(h.runners.started.length).toBe(0);
  h.deployments.add("pooled", { browser: { pool: "no-such-pool" } });
  const p = await h.runs.trigger({ deploymentName: "pooled", trigger: "api" });
  await until(ended(h, p.id), 3000, "end");
  expect(getRun(h.t.deps.db, p.id)!.error).toContain('Unknown pool "no-such-pool"');
});
