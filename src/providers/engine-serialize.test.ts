// On an engine with the known network deadlock, calls that change a sandbox's network run one at
// a time; other calls, and every call on a fixed engine, run at once. A queued call's deadline
// counts its wait.
import { expect, test } from "bun:test";
import { EngineTimeout } from "../lib/errors";
import { EngineDeadlines, hasNetworkDeadlock } from "./engine-deadlines";

test("hasNetworkDeadlock: 20.10 yes; 23 and later no; an unreadable version is unknown", () => {
  expect(hasNetworkDeadlock("20.10.24+dfsg1")).toBe(true);
  expect(hasNetworkDeadlock("22.06.0")).toBe(true);
  expect(hasNetworkDeadlock("23.0.0")).toBe(false);
  expect(hasNetworkDeadlock("26.1.5+dfsg1")).toBe(false);
  expect(hasNetworkDeadlock("master-dockerproject")).toBeNull();
});

/** Two calls of `kind` that each take 50 ms: the most that ran at once. */
async function overlap(d: EngineDeadlines, kinds: ["start" | "remove" | "inspect" | "network", "start" | "remove" | "inspect" | "network"]): Promise<number> {
  let running = 0;
  let most = 0;
  const call = async () => {
    most = Math.max(most, ++running);
    await Bun.sleep(50);
    running--;
  };
  await Promise.all(kinds.map((k) => d.run(k, k, call)));
  return most;
}

test("serialised: start, stop/remove and network calls wait for each other; reads do not", async () => {
  const d = new EngineDeadlines("old-engine", 2_000);
  d.serializeNetworkChanges(true);
  expect(await overlap(d, ["start", "remove"])).toBe(1);
  expect(await overlap(d, ["network", "start"])).toBe(1);
  expect(await overlap(d, ["inspect", "start"])).toBe(2);
});

test("not serialised (a fixed engine): network-changing calls run at once", async () => {
  const d = new EngineDeadlines("new-engine", 2_000);
  expect(await overlap(d, ["start", "remove"])).toBe(2);
});

test("a call queued behind a stuck one fails at its own deadline; the queue moves on once the stuck call's deadline passes", async () => {
  const d = new EngineDeadlines("old-engine", 100); // start: 300 ms, network: 100 ms
  d.serializeNetworkChanges(true);
  let ranQueued = false;
  const stuck = d.run("start", "stuck start", () => new Promise(() => {})).catch((e) => e);
  const queued = d.run("network", "queued network connect", async () => (ranQueued = true)).catch((e) => e);
  expect(await stuck).toBeInstanceOf(EngineTimeout);
  expect(await queued).toBeInstanceOf(EngineTimeout);
  expect(ranQueued).toBe(false); // timed out while waiting, never sent
  // The stuck call never settles (it ignores its abort signal): the queue moves on at its deadline.
  await expect(d.run("stop", "later stop", async () => "stopped")).resolves.toBe("stopped");
});

test("a Docker worker turns serialisation on when its engine first answers with a deadlock-prone version", async () => {
  const { DockerProvider } = await import("./docker");
  for (const [version, serial] of [["20.10.24+dfsg1", true], ["26.1.5+dfsg1", false]] as const) {
    // An engine client that answers the health check's reads and nothing else.
    const engine = {
      ping: async () => "OK",
      info: async () => ({ ServerVersion: version }),
      getNetwork: () => ({ inspect: async () => ({ Name: "n" }) }),
      listContainers: async () => [],
    };
    const p = new DockerProvider(engine as never, { installId: "i", workerId: "w", egressGuard: { assertReady: async () => {} } });
    expect(p.deadlines.serializesNetworkChanges).toBe(false);
    expect(await p.health()).toEqual({ ok: true });
    expect({ version, serial: p.deadlines.serializesNetworkChanges }).toEqual({ version, serial });
  }
});
