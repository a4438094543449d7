// A profile carried from one worker to another, end to end: a real BrowserGrid process, the
// local Docker worker and an SSH worker (OpenSSH's sshd on 127.0.0.1 in front of the same Docker
// engine, added through the API in the default pool). Session 1 logs in on the local worker
// with persist: true; session 2, with the same profile, runs on the SSH worker and is logged in.
// The profile goes out of session 1's container through the local engine's archive API and into
// session 2's container through the SSH worker's (Docker API over the SSH connection).
//
// Placement is steered with the workers API only: both workers are in the default pool (a
// worker's pool is fixed when it is added), and the session API has no worker selector, so the
// other worker is drained while each session is created (POST /workers/:id/drain, then
// /resume). Drain only stops new placements; nothing else about the workers changes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chromium } from "playwright-core";
import { startGrid, startPageServer, waitFor, type Grid } from "../helpers/grid";
import { startSshd, sshdAvailable, type Sshd } from "../helpers/sshd";

let grid: Grid;
let sshd: Sshd;
let pages: Awaited<ReturnType<typeof startPageServer>>;
const live: string[] = [];

beforeAll(async () => {
  if (!sshdAvailable()) throw new Error("this test needs OpenSSH's sshd (apt-get install openssh-server) and root");
  sshd = await startSshd();
  grid = await startGrid();
  pages = await startPageServer();
}, 60_000);

afterAll(async () => {
  for (const id of live) await grid?.api("DELETE", `/api/v1/sessions/${id}`).catch(() => {});
  await grid?.dispose();
  await sshd?.stop();
  pages?.stop();
});

type Worker = { id: string; name: string; kind: string; pool: string; status: string };
let ctx: { local: Worker; remote: Worker } | undefined;

async function workers(): Promise<Worker[]> {
  return (await grid.api("GET", "/api/v1/workers")).body.workers;
}

async function session(body: Record<string, unknown>) {
  const res = await grid.api("POST", "/api/v1/sessions", { keepAlive: true, ...body });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  live.push(res.body.id);
  return res.body as { id: string; cdpUrl: string; worker: string; status: string };
}

async function drain(w: Worker) {
  expect((await grid.api("POST", `/api/v1/workers/${w.id}/drain`)).body.status).toBe("draining");
}

async function resume(w: Worker) {
  expect((await grid.api("POST", `/api/v1/workers/${w.id}/resume`)).status).toBe(200);
  await waitFor(`${w.name} online`, async () => (await workers()).find((x) => x.id === w.id)?.status === "online", 15_000, 50);
}

describe("a profile moves between workers", () => {
  test("session 1 logs in on the local worker with persist: true; session 2 on the SSH worker is logged in", async () => {
    const added = await grid.api("POST", "/api/v1/workers", { endpoint: sshd.endpoint, name: "remote-1", capacity: 4, sshPrivateKey: sshd.privateKey });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ kind: "ssh", pool: "default", status: "online" });
    const remote = added.body as Worker;
    const local = (await workers()).find((w) => w.kind === "docker")!;
    expect(local).toMatchObject({ pools: "all", status: "online" }); // the local engine serves every pool

    expect((await grid.api("POST", "/api/v1/profiles", { name: "shop", description: "login carried across workers" })).status).toBe(201);

    // Session 1 on the local worker: the SSH worker is drained while it is placed.
    await drain(remote);
    const s1 = await session({ profile: { name: "shop", persist: true } });
    await resume(remote);
    expect(s1.worker).toBe(local.name);
    const b1 = await chromium.connectOverCDP(s1.cdpUrl);
    const page = b1.contexts()[0]!.pages()[0] ?? (await b1.contexts()[0]!.newPage());
    await page.goto(`${pages.url}/login?user=alice`);
    expect(await page.textContent("#done")).toBe("logged in");
    await b1.close();
    expect((await grid.api("DELETE", `/api/v1/sessions/${s1.id}`)).body.status).toBe("completed");
    const events = (await grid.api("GET", `/api/v1/sessions/${s1.id}/events`)).body.events;
    const saved = events.find((e: { type: string }) => e.type === "profile_saved");
    if (!saved) console.log(JSON.stringify(events), grid.output().split("\n").filter((l) => /profile|error|warn/i.test(l)).join("\n"));
    expect(saved?.detail).toMatchObject({ profile: "shop", version: 1, cleanExit: true });
    console.log("profile saved on the local worker:", JSON.stringify(saved.detail));

    // Session 2 on the SSH worker: the local worker is drained while it is placed.
    await drain(local);
    const started = performance.now();
    const s2 = await session({ profile: { name: "shop", persist: false } });
    console.log(`create on the SSH worker with the profile: ${Math.round(performance.now() - started)} ms`);
    await resume(local);
    expect(s2.worker).toBe("remote-1");
    expect(s2.worker).not.toBe(s1.worker);
    expect((await grid.api("GET", `/api/v1/sessions/${s2.id}`)).body.worker).toBe(remote.name);

    const b2 = await chromium.connectOverCDP(s2.cdpUrl);
    const p2 = await b2.contexts()[0]!.newPage();
    await p2.goto(`${pages.url}/whoami`);
    expect({ cookie: await p2.textContent("#cookie"), ls: await p2.textContent("#ls") }).toEqual({ cookie: "alice", ls: "alice" });
    await b2.close();
    expect((await grid.api("DELETE", `/api/v1/sessions/${s2.id}`)).body.status).toBe("completed");
    expect((await grid.api("GET", "/api/v1/profiles/shop")).body).toMatchObject({ currentVersion: 1, lockedBy: null }); // read-only: no new version
    ctx = { local, remote };
  }, 90_000);

  test("the other way: saved on the SSH worker (Browser.close through the tunnel, archive read over SSH), loaded on the local one", async () => {
    const { local, remote } = ctx!;
    await drain(local);
    const s3 = await session({ profile: { name: "shop", persist: true } });
    await resume(local);
    expect(s3.worker).toBe(remote.name);
    const b3 = await chromium.connectOverCDP(s3.cdpUrl);
    const page = await b3.contexts()[0]!.newPage();
    await page.goto(`${pages.url}/login?user=bob`);
    expect(await page.textContent("#done")).toBe("logged in");
    await b3.close();
    expect((await grid.api("DELETE", `/api/v1/sessions/${s3.id}`)).body.status).toBe("completed");
    const saved = (await grid.api("GET", `/api/v1/sessions/${s3.id}/events`)).body.events.find((e: { type: string }) => e.type === "profile_saved");
    expect(saved?.detail).toMatchObject({ profile: "shop", version: 2, cleanExit: true });
    console.log("profile saved on the SSH worker:", JSON.stringify(saved.detail));

    await drain(remote);
    const s4 = await session({ profile: { name: "shop", persist: false } });
    await resume(remote);
    expect(s4.worker).toBe(local.name);
    const b4 = await chromium.connectOverCDP(s4.cdpUrl);
    const p4 = await b4.contexts()[0]!.newPage();
    await p4.goto(`${pages.url}/whoami`);
    expect({ cookie: await p4.textContent("#cookie"), ls: await p4.textContent("#ls") }).toEqual({ cookie: "bob", ls: "bob" });
    await b4.close();
    await grid.api("DELETE", `/api/v1/sessions/${s4.id}`);
  }, 90_000);
});
