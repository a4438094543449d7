// The runs API over a real app (makeTestApp) with the run lifecycle's ports faked
// (test/helpers/run-fakes.ts): what each route answers, what bad input leaves behind (nothing),
// who may do what, and what a run's own token opens (its run and its session, nothing else).
import { expect, test } from "bun:test";
import { runsHarness, until } from "../../../test/helpers/runs";
import { getRun } from "./runs.store";

const count = (h: Awaited<ReturnType<typeof runsHarness>>, table: string) => (h.t.deps.db.$client.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

test("bad input to POST /deployments/:name/runs: a clear 4xx and nothing stored or started", async () => {
  const h = await runsHarness();
  h.deployments.add("strict", { params: { required: ["url"], properties: { url: { type: "string" }, pages: { type: "number" } } } });
  const cases: [unknown, number, string][] = [
    [{ params: { url: 42 } }, 400, "params.url must be a string"],
    [{ params: {} }, 400, "params.url is required"],
    [{ params: { url: "https://a.test" }, extra: 1 }, 400, "extra"],
    [{ params: { url: "https://a.test" }, version: 0 }, 400, "version"],
    [{ params: { url: "https://a.test" }, version: 7 }, 404, "Version 7"],
  ];
  for (const [body, status, says] of cases) {
    const r = await h.t.call("POST", "/api/v1/deployments/strict/runs", { auth: h.t.memberKey, body });
    expect(r.status).toBe(status);
    expect(JSON.stringify(r.body)).toContain(says);
  }
  const unknown = await h.t.call("POST", "/api/v1/deployments/nope/runs", { auth: h.t.memberKey, body: {} });
  expect(unknown.status).toBe(404);
  const viewer = await h.t.call("POST", "/api/v1/deployments/strict/runs", { auth: h.t.viewerKey, body: { params: { url: "https://a.test" } } });
  expect(viewer.status).toBe(403);
  await Bun.sleep(30);
  expect(count(h, "runs")).toBe(0);
  expect(count(h, "sessions")).toBe(0);
  expect(h.runners.started.length).toBe(0);
});

test("trigger → 202, read, list with filters, events, logs, artifacts, re-run", async () => {
  const h = await runsHarness();
  h.deployments.add("shop", { params: { properties: { q: { type: "string", default: "shoes" } } } });
  h.deployments.add("other");
  h.runners.script = () => ({ lines: [{ stream: "stdout", line: "found 3" }], output: { "result.json": '{"n":3}', "data.csv": "a,b\n1,2\n" }, exitCode: 0 });
  const r = await h.t.call("POST", "/api/v1/deployments/shop/runs", { auth: h.t.memberKey, body: { params: { q: "hats" } } });
  expect(r.status).toBe(202);
  expect(r.body).toEqual({ id: expect.stringMatching(/^run_/), status: "queued" });
  const id = r.body.id as string;
  await until(() => getRun(h.t.deps.db, id)!.status === "succeeded", 3000, "success");
  await h.runs.logs.stored();

  const one = await h.t.call("GET", `/api/v1/runs/${id}`, { auth: h.t.viewerKey });
  expect(one.status).toBe(200);
  expect(one.body).toMatchObject({ id, deployment: "shop", version: 1, status: "succeeded", attempt: 1, exitCode: 0, result: { n: 3 }, params: { q: "hats" }, trigger: "api" });
  expect(one.body.sessionId).toMatch(/^ses_/);
  expect(typeof one.body.durationMs).toBe("number");

  await h.t.call("POST", "/api/v1/deployments/other/runs", { auth: h.t.memberKey, body: {} });
  const byDeployment = await h.t.call("GET", "/api/v1/runs?deployment=shop", { auth: h.t.viewerKey });
  expect(byDeployment.body.runs.map((x: { id: string }) => x.id)).toEqual([id]);
  const byStatus = await h.t.call("GET", "/api/v1/runs?status=succeeded&deployment=shop", { auth: h.t.viewerKey });
  expect(byStatus.body.runs.length).toBe(1);
  const page = await h.t.call("GET", "/api/v1/runs?limit=1", { auth: h.t.viewerKey });
  expect(page.body.runs.length).toBe(1);
  expect(page.body.nextCursor).toBeString();
  const next = await h.t.call("GET", `/api/v1/runs?limit=1&cursor=${page.body.nextCursor}`, { auth: h.t.viewerKey });
  expect(next.body.runs.length).toBe(1);
  expect(next.body.runs[0].id).not.toBe(page.body.runs[0].id);
  expect((await h.t.call("GET", "/api/v1/runs?status=bogus", { auth: h.t.viewerKey })).status).toBe(400);

  const events = await h.t.call("GET", `/api/v1/runs/${id}/events`, { auth: h.t.viewerKey });
  expect(events.body.events.map((e: { type: string }) => e.type)).toEqual(["queued", "attempt_started", "exited", "output", "succeeded"]);

  const logs = await h.t.call("GET", `/api/v1/runs/${id}/logs`, { auth: h.t.viewerKey });
  expect(logs.headers.get("content-type")).toContain("text/plain");
  expect(logs.body).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z system attempt 1 of 1/m);
  expect(logs.body).toMatch(/Z stdout found 3$/m);

  const arts = await h.t.call("GET", `/api/v1/runs/${id}/artifacts`, { auth: h.t.viewerKey });
  expect(arts.body.artifacts.map((a: { name: string; kind: string }) => [a.name, a.kind])).toEqual([["data.csv", "output"]]);
  const file = await h.t.call("GET", arts.body.artifacts[0].url, { auth: h.t.viewerKey });
  expect(file.status).toBe(200);
  expect(file.body).toBe("a,b\n1,2\n");
  expect(file.headers.get("content-disposition")).toContain("attachment");
  expect((await h.t.call("GET", `/api/v1/runs/${id}/artifacts/art_nope`, { auth: h.t.viewerKey })).status).toBe(404);

  const again = await h.t.call("POST", `/api/v1/runs/${id}/rerun`, { auth: h.t.memberKey });
  expect(again.status).toBe(202);
  const rerun = getRun(h.t.deps.db, again.body.id)!;
  expect(rerun).toMatchObject({ trigger: "rerun", rerunOf: id, params: { q: "hats" }, version: 1 });
  expect((await h.t.call("POST", `/api/v1/runs/${id}/rerun`, { auth: h.t.viewerKey })).status).toBe(403);
  expect((await h.t.call("GET", "/api/v1/runs/run_nope", { auth: h.t.viewerKey })).status).toBe(404);
  await until(() => getRun(h.t.deps.db, again.body.id)!.status === "succeeded", 3000, "rerun");
  const audit = h.t.deps.db.$client.query("SELECT action FROM audit_log WHERE action LIKE 'run.%' ORDER BY id").all() as { action: string }[];
  expect(audit.map((a) => a.action)).toEqual(["run.triggered", "run.triggered", "run.rerun"]);
});

test("logs?follow=1 of a queued run waits for it, streams lines as they come and ends with the run; cancel over the API", async () => {
  const h = await runsHarness({ start: false });
  h.deployments.add("slow");
  h.runners.script = () => ({ lines: [{ stream: "stdout", line: "first line" }], hang: true });
  const r = await h.t.call("POST", "/api/v1/deployments/slow/runs", { auth: h.t.memberKey, body: {} });
  const id = r.body.id as string;
  const res = await h.t.app.handle(new Request(`http://localhost/api/v1/runs/${id}/logs?follow=1`, { headers: { authorization: `Bearer ${h.t.viewerKey}` } }));
  expect(res.status).toBe(200);
  h.runs.start();
  await until(() => h.runners.started.length === 1, 3000, "start");
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let text = "";
  while (!text.includes("first line")) text += dec.decode((await reader.read()).value);
  const c = h.runners.containers.get(h.runners.handleOf(id)!)!;
  c.lines.push({ stream: "stdout", line: "second line", at: Date.now() });
  c.wake?.();
  while (!text.includes("second line")) text += dec.decode((await reader.read()).value);
  const cancel = await h.t.call("POST", `/api/v1/runs/${id}/cancel`, { auth: h.t.memberKey });
  expect(cancel.status).toBe(200);
  expect(cancel.body.status).toBe("cancelled");
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += dec.decode(value);
  }
  expect(text).toContain("system run cancelled: cancelled by user");
});

test("a run token reads its own run and its session, nothing else, and only while the run is live", async () => {
  const h = await runsHarness();
  h.deployments.add("tok");
  h.runners.script = () => ({ hang: true });
  const a = await h.runs.trigger({ deploymentName: "tok", trigger: "api" });
  await until(() => h.runners.started.length === 1, 3000, "start");
  const token = h.runners.started[0]!.env.BROWSERGRID_RUN_TOKEN!;
  const run = getRun(h.t.deps.db, a.id)!;
  // A second deployment's running run and a member's own session: the token opens neither.
  h.deployments.add("tok2");
  const b = await h.runs.trigger({ deploymentName: "tok2", trigger: "api" });
  await until(() => h.runners.started.length === 2, 3000, "second start");
  const other = getRun(h.t.deps.db, b.id)!;
  const own = await h.t.call("POST", "/api/v1/sessions", { auth: h.t.adminKey, body: {} });
  expect(own.status).toBe(201);

  const allowed: [string, string][] = [
    ["GET", `/api/v1/runs/${run.id}`],
    ["GET", `/api/v1/runs/${run.id}/events`],
    ["GET", `/api/v1/sessions/${run.sessionId}`],
  ];
  for (const [m, p] of allowed) expect([m, p, (await h.t.call(m, p, { auth: token })).status]).toEqual([m, p, 200]);
  const refused: [string, string, unknown?][] = [
    ["GET", `/api/v1/runs/${other.id}`],
    ["GET", `/api/v1/runs/${run.id}/logs`],
    ["GET", "/api/v1/runs"],
    ["POST", `/api/v1/runs/${run.id}/cancel`],
    ["POST", `/api/v1/runs/${run.id}/rerun`],
    ["POST", "/api/v1/deployments/tok/runs", {}],
    ["GET", `/api/v1/sessions/${other.sessionId}`],
    ["GET", `/api/v1/sessions/${own.body.id}`],
    ["GET", "/api/v1/sessions"],
    ["DELETE", `/api/v1/sessions/${run.sessionId}`],
    ["POST", "/api/v1/sessions", {}],
    ["GET", "/api/v1/pools"],
    ["GET", "/api/v1/users"],
    ["GET", "/api/v1/audit"],
  ];
  for (const [m, p, body] of refused) expect([m, p, (await h.t.call(m, p, { auth: token, body })).status]).toEqual([m, p, 403]);
  expect(getRun(h.t.deps.db, run.id)!.status).toBe("running");

  const forged = token.slice(0, -4) + (token.endsWith("AAAA") ? "BBBB" : "AAAA");
  expect((await h.t.call("GET", `/api/v1/runs/${run.id}`, { auth: forged })).status).toBe(401);
  expect((await h.t.call("GET", `/api/v1/runs/${run.id}`, { auth: "bgr_garbage" })).status).toBe(401);

  await h.runs.cancel(run.id);
  const after = await h.t.call("GET", `/api/v1/runs/${run.id}`, { auth: token });
  expect(after.status).toBe(401);
  expect(JSON.stringify(after.body)).toContain("run is over");
  await h.runs.cancel(other.id);
});
