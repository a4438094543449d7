// The runs pages over a real app with faked run ports: the list and a run's page render what
// the API says, the page's stream sends new log lines and the end without a reload, and the
// Cancel and Re-run buttons work for members and up (not offered to viewers).
import { expect, test } from "bun:test";
import { runsHarness, until } from "../../../test/helpers/runs";
import { createAuthSession, SESSION_COOKIE } from "../auth/auth-sessions.service";
import { getRun } from "./runs.store";

test("list and run page; the page's stream sends new log lines and the end; Cancel and Re-run", async () => {
  const h = await runsHarness();
  h.deployments.add("pages-demo");
  h.runners.script = () => ({ lines: [{ stream: "stdout", line: "<b>first</b>" }], hang: true });
  const run = await h.runs.trigger({ deploymentName: "pages-demo", trigger: "ui" });
  await until(() => h.runners.started.length === 1, 3000, "start");
  const viewerCookie = `${SESSION_COOKIE}=${createAuthSession(h.t.deps, h.t.users.viewer.id).token}`;

  const list = await h.t.call("GET", "/runs", { auth: h.t.cookie });
  expect(list.status).toBe(200);
  expect(list.body).toContain(`href="/runs/${run.id}"`);
  expect(list.body).toContain('<a href="/runs" aria-current="page">Runs</a>');
  expect((await h.t.call("GET", "/runs?status=failed", { auth: h.t.cookie })).body).toContain("No run matches these filters.");

  const pageHtml = (await h.t.call("GET", `/runs/${run.id}`, { auth: h.t.cookie })).body as string;
  expect(pageHtml).toContain("stdout &lt;b&gt;first&lt;/b&gt;");
  expect(pageHtml).toContain(`action="/runs/${run.id}/cancel"`);
  expect(pageHtml).toContain(`href="/sessions/${getRun(h.t.deps.db, run.id)!.sessionId}"`);
  const viewerPage = (await h.t.call("GET", `/runs/${run.id}`, { auth: viewerCookie })).body as string;
  expect(viewerPage).not.toContain(`/runs/${run.id}/cancel`);
  expect(viewerPage).not.toContain(`/runs/${run.id}/rerun`);
  expect((await h.t.call("POST", `/runs/${run.id}/cancel`, { auth: viewerCookie })).status).toBe(403);

  const v = /data-sse="\/runs\/[^"?]+\/stream\?v=([^"]+)"/.exec(pageHtml)![1]!;
  const res = await h.t.app.handle(new Request(`http://localhost/runs/${run.id}/stream?v=${v}`, { headers: { cookie: h.t.cookie } }));
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let seen = "";
  const c = h.runners.containers.get(h.runners.handleOf(run.id)!)!;
  c.lines.push({ stream: "stdout", line: "second line", at: Date.now() });
  c.wake?.();
  while (!seen.includes("second line")) seen += dec.decode((await reader.read()).value);
  expect(seen).toContain("event: run-log");

  const cancel = await h.t.call("POST", `/runs/${run.id}/cancel`, { auth: h.t.cookie });
  expect(cancel.status).toBe(303);
  expect(getRun(h.t.deps.db, run.id)!.status).toBe("cancelled");
  while (!seen.includes("badge cancelled")) seen += dec.decode((await reader.read()).value);
  await reader.cancel();

  const rerun = await h.t.call("POST", `/runs/${run.id}/rerun`, { auth: h.t.cookie });
  expect(rerun.status).toBe(303);
  const again = rerun.headers.get("location")!.split("/").pop()!;
  expect(getRun(h.t.deps.db, again)).toMatchObject({ trigger: "rerun", rerunOf: run.id });
  await h.runs.cancel(again);
});
