// A server killed with running sessions comes back with the truth: no orphan container, no
// duplicate row, every session in a true state; reconciling again changes nothing.
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { containersOfSession, docker, startGrid, type Grid } from "../helpers/grid";
import { freePort } from "../helpers/binary";

let grid: Grid | undefined;
let orphanId: string | undefined;

afterAll(async () => {
  await grid?.dispose();
  if (orphanId) await docker.getContainer(orphanId).remove({ force: true }).catch(() => {});
});

function snapshot(dataDir: string) {
  const db = new Database(join(dataDir, "browsergrid.db"), { readonly: true });
  const out = {
    sessions: db.query<{ id: string; status: string }, []>("SELECT id, status FROM sessions ORDER BY id").all(),
    workers: db.query<{ endpoint: string }, []>("SELECT endpoint FROM workers").all(),
    events: (db.query("SELECT count(*) AS n FROM session_events").get() as { n: number }).n,
    installId: (db.query("SELECT value FROM settings WHERE key = 'install_id'").get() as { value: string }).value,
  };
  db.close();
  return out;
}

test("kill -9 with running sessions, restart, reconcile twice", async () => {
  const port = freePort();
  grid = await startGrid({ port });
  const dataDir = grid.dataDir;
  const kept = (await grid.api("POST", "/api/v1/sessions", { keepAlive: true })).body;
  const lost = (await grid.api("POST", "/api/v1/sessions", { keepAlive: true })).body;
  expect(kept.status).toBe("running");
  expect(lost.status).toBe("running");

  await grid.stop("SIGKILL");
  grid = undefined;

  // While the server is down: one browser dies, and a stray labelled container appears.
  const [lostContainer] = await containersOfSession(lost.id);
  await docker.getContainer(lostContainer!.Id).remove({ force: true });
  const { installId } = snapshot(dataDir);
  const worker = (await containersOfSession(kept.id))[0]!.Labels["browsergrid.worker"]!;
  const orphan = await docker.createContainer({
    Image: "browsergrid/browser:headless-shell",
    Entrypoint: ["sleep", "300"],
    Labels: { "browsergrid.install": JSON.parse(installId) as string, "browsergrid.worker": worker, "browsergrid.session": "ses_neverexisted" },
  });
  orphanId = orphan.id;
  await orphan.start();

  grid = await startGrid({ dataDir, port });
  const after = snapshot(dataDir);
  expect(after.workers).toHaveLength(1);
  expect(after.sessions).toEqual(
    [
      { id: kept.id, status: "running" },
      { id: lost.id, status: "crashed" },
    ].sort((a, b) => a.id.localeCompare(b.id)),
  );
  expect(await containersOfSession("ses_neverexisted")).toHaveLength(0);
  expect(await containersOfSession(kept.id)).toHaveLength(1);

  // The surviving session still works through the same cdpUrl.
  const browser = await chromium.connectOverCDP(kept.cdpUrl);
  expect(await browser.contexts()[0]!.pages()[0]!.evaluate(() => 1 + 1)).toBe(2);
  await browser.close();

  // A second start reconciles again: nothing changes.
  await grid.stop("SIGKILL");
  const before2 = snapshot(dataDir);
  grid = await startGrid({ dataDir, port });
  const after2 = snapshot(dataDir);
  expect(after2.sessions).toEqual(before2.sessions);
  expect(after2.workers).toEqual(before2.workers);
  expect(after2.events).toBe(before2.events);
  expect(await containersOfSession(kept.id)).toHaveLength(1);

  await grid.api("DELETE", `/api/v1/sessions/${kept.id}`);
});
