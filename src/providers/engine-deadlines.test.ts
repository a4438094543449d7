// Engine deadlines against a real engine and against one stuck like a deadlocked Docker 20.10
// (test/helpers/stuck-docker.ts): calls in time pass through unchanged and uncounted; calls
// past their deadline fail with EngineTimeout naming the worker and the call, are counted per
// kind, abort their request, and tell the listeners.
import { afterAll, beforeAll, expect, test } from "bun:test";
import Docker from "dockerode";
import { EngineTimeout } from "../lib/errors";
import { randomId } from "../lib/ids";
import { startStuckDocker, type StuckDocker } from "../../test/helpers/stuck-docker";
import { dockerodeReads, socketReads } from "./engine";
import { browserStartBudgetMs, EngineDeadlines, engineDeadlineMs, withDeadlines } from "./engine-deadlines";

const SOCKET = process.env.DOCKER_SOCKET ?? "/var/run/docker.sock";
const label = `browsergrid.deadline-test=${randomId(8)}`;
let stuck: StuckDocker;

beforeAll(async () => {
  stuck = await startStuckDocker(SOCKET);
});

afterAll(async () => {
  await stuck?.close();
  const docker = new Docker({ socketPath: SOCKET });
  const left = await docker.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true })));
});

test("deadlines are sized per kind from the one quick-call setting", () => {
  expect(engineDeadlineMs("inspect", 1_000)).toBe(1_000);
  expect(engineDeadlineMs("remove", 1_000)).toBe(3_000);
  expect(engineDeadlineMs("archive", 1_000)).toBe(12_000);
  expect(engineDeadlineMs("list")).toBe(10_000);
  expect(browserStartBudgetMs(1_000, 20_000)).toBe(20_000 + 1_000 + 3_000 + 3_000 + 12_000 + 1_000 + 3_000);
});

test("a wrapped client on a live engine: results, handed-out objects and options pass through; nothing counted", async () => {
  const d = new EngineDeadlines("w1", 5_000);
  const docker = withDeadlines(new Docker({ socketPath: stuck.path }), d);
  expect(withDeadlines(docker, d)).toBe(docker); // wrapping twice changes nothing
  const [key, value] = label.split("=") as [string, string];
  const c = await docker.createContainer({ Image: "browsergrid/debian-base:bookworm", Entrypoint: ["sleep", "60"], Labels: { [key]: value }, HostConfig: { NetworkMode: "none" } });
  await c.start();
  expect((await c.inspect()).State.Running).toBe(true);
  expect((await docker.listContainers({ all: true, filters: { label: [label] } })).map((x) => x.Id)).toEqual([c.id]);
  // A caller's own abort signal still works beside the deadline.
  const own = new AbortController();
  own.abort(new Error("caller gave up"));
  await expect(docker.getContainer(c.id).inspect({ abortSignal: own.signal })).rejects.toThrow();
  await docker.getContainer(c.id).remove({ force: true });
  expect(Object.values(d.timeoutCounts()).reduce((a, b) => a + b)).toBe(0);
}, 30_000);

test("a stuck engine: dockerode and fetch calls fail at their deadline with the worker and the call, counted per kind; ping still answers", async () => {
  const d = new EngineDeadlines("stuck-worker", 300);
  const heard: string[] = [];
  d.onTimeout((err) => heard.push(err.call));
  const docker = withDeadlines(new Docker({ socketPath: stuck.path }), d);
  const reads = socketReads(stuck.path, d);
  stuck.wedge();
  try {
    await reads.ping(); // a deadlocked engine still answers ping and ps
    await reads.listContainers({ label: [label] });
    await dockerodeReads(docker).ping();

    let t0 = performance.now();
    const err = await docker.getContainer("abcdef0123456789").inspect().catch((e) => e);
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(err).toBeInstanceOf(EngineTimeout);
    expect(err).toMatchObject({ status: 503, code: "engine_timeout", worker: "stuck-worker", call: "container abcdef012345 inspect", timeoutMs: 300 });
    expect(err.message).toContain('worker "stuck-worker" did not answer container abcdef012345 inspect within 0.3 s');

    t0 = performance.now();
    await expect(docker.getContainer("abcdef0123456789").remove({ force: true })).rejects.toBeInstanceOf(EngineTimeout);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(850); // remove: three quick deadlines
    await expect(reads.inspectNetwork("bridge")).rejects.toMatchObject({ code: "engine_timeout", call: "network bridge inspect" });
    await expect(reads.info()).rejects.toBeInstanceOf(EngineTimeout);
    await expect(docker.getNetwork("bridge").inspect()).rejects.toBeInstanceOf(EngineTimeout);
    await expect(reads.events({ since: "0", filters: {} })).rejects.toMatchObject({ call: "events" });

    expect(d.timeoutCounts()).toMatchObject({ inspect: 1, remove: 1, network: 2, info: 1, events: 1, ping: 0, list: 0 });
    expect(heard).toEqual(["container abcdef012345 inspect", "container abcdef012345 remove", "network bridge inspect", "info", "network bridge inspect", "events"]);
    // The requests reached the engine and hung there until their deadline.
    expect(stuck.hung()).toContain("GET /containers/abcdef0123456789/json");
    expect(stuck.hung()).toContain("DELETE /containers/abcdef0123456789");
  } finally {
    stuck.unwedge();
  }
  // Answers again: the same clients work.
  expect((await reads.inspectNetwork("bridge")).Name).toBe("bridge");
  expect((await docker.getNetwork("bridge").inspect()).Name).toBe("bridge");
}, 30_000);

test("nothing answers at all (ping included): ping fails at its deadline too", async () => {
  const d = new EngineDeadlines("dead", 200);
  stuck.wedge({ all: true });
  try {
    await expect(socketReads(stuck.path, d).ping()).rejects.toMatchObject({ code: "engine_timeout", call: "ping" });
    expect(d.timeoutCounts().ping).toBe(1);
  } finally {
    stuck.unwedge();
  }
});
