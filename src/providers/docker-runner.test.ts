// Runner operations of the Docker provider against a real engine and the real runner images
// (scripts/build-runner-images.sh). Nothing here skips: without them the tests fail and say so.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Docker from "dockerode";
import { randomId } from "../lib/ids";
import { BadRequest } from "../lib/errors";
import { DockerProvider, LABELS } from "./docker";
import { DEFAULT_RUNNER_NANO_CPUS } from "./docker-runner-container";
import { RUNNER_PATHS, type LogLine, type ProviderEvent, type RunnerSpec } from "./provider";
import { bundleOf, filesOfTar } from "../../test/helpers/runner-bundles";

const SOCKET = process.env.DOCKER_SOCKET ?? "/var/run/docker.sock";
const docker = new Docker({ socketPath: SOCKET });
const installId = `test-${randomId(8)}`;
const workerId = `w-${randomId(6)}`;
const network = `browsergrid-rt-${randomId(6).toLowerCase()}`;
/** Runners started outside BrowserGrid: no egress guard to wait for. */
const provider = new DockerProvider(SOCKET, { installId, workerId, network, egressGuard: { assertReady: async () => {} } });

/** Browser deaths the provider reported: a runner's exit must never be one. */
const events: ProviderEvent[] = [];
let unsubscribe = () => {};

async function spec(runtime: RunnerSpec["runtime"], files: Record<string, string>, extra: Partial<RunnerSpec> = {}): Promise<RunnerSpec> {
  const entry = Object.keys(files)[0]!;
  return { runId: `r-${randomId(10)}`, attempt: 1, runtime, sessionId: "s-test", poolId: "pool-test", workerId, bundle: await bundleOf(files), entry, env: {}, ...extra };
}

async function allLogs(handle: string): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const l of provider.runnerLogs(handle)) lines.push(l);
  return lines;
}

/** Starts a runner, collects its logs until it exits and its exit code. */
async function runToEnd(s: RunnerSpec, timeoutMs = 60_000) {
  const { handle } = await provider.startRunner(s);
  const logs = allLogs(handle);
  const exit = await provider.waitRunner(handle, timeoutMs);
  return { handle, exit, logs: await logs };
}

beforeAll(async () => {
  await docker.ping().catch((err) => {
    throw new Error(`No Docker engine answers on ${SOCKET} (${(err as Error).message}); run scripts/setup-docker.sh`);
  });
  for (const runtime of ["bun", "python"]) {
    await docker.getImage(`browsergrid/runner:${runtime}`).inspect().catch(() => {
      throw new Error(`image browsergrid/runner:${runtime} is missing; run scripts/build-runner-images.sh`);
    });
  }
  unsubscribe = provider.onEvent((e) => events.push(e));
});

afterAll(async () => {
  unsubscribe();
  await provider.close();
  const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.install}=${installId}`] } });
  for (const c of left) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {});
  await docker.getNetwork(network).remove().catch(() => {});
});

describe("Docker runners", () => {
  test("stdout and stderr lines with timestamps, and the exit code", async () => {
    const before = Date.now() - 1_000;
    const s = await spec("bun", { "main.ts": 'console.log("one"); console.error("two"); console.log("three\\nfour"); process.exit(3);' });
    const { exit, logs } = await runToEnd(s);
    expect(exit).toEqual({ exitCode: 3 });
    expect(logs.map((l) => [l.stream, l.line])).toContainEqual(["stderr", "two"]);
    expect(logs.filter((l) => l.stream === "stdout").map((l) => l.line)).toEqual(["one", "three", "four"]);
    for (const l of logs) expect(l.at).toBeGreaterThan(before);
    for (const l of logs) expect(l.at).toBeLessThanOrEqual(Date.now());
  });

  test("output files are copied out after exit; the app is read-only for the script", async () => {
    const s = await spec("python", {
      "job/run.py": [
        "import os, pathlib",
        'pathlib.Path("/home/runner/output/result.json").write_text(\'{"ok": true}\')',
        'os.makedirs("/home/runner/output/deep", exist_ok=True)',
        'open("/home/runner/output/deep/x.txt", "w").write("x")',
        "try:",
        '    open("/home/runner/app/job/new.txt", "w").write("no")',
        '    print("app writable")',
        "except OSError as e:",
        '    print("app read-only", e.errno)',
        "try:",
        '    open("/etc/hacked", "w").write("no")',
        '    print("root writable")',
        "except OSError as e:",
        '    print("root read-only", e.errno)',
        'print(open("/home/runner/app/job/run.py").read().count("\\n") > 5)',
      ].join("\n"),
    });
    const { handle, exit, logs } = await runToEnd(s);
    expect(exit).toEqual({ exitCode: 0 });
    expect(logs.map((l) => l.line)).toEqual(["app read-only 13", "root read-only 30", "True"]);
    const files = await filesOfTar(await provider.copyOut(handle, RUNNER_PATHS.output));
    expect(files.get("output/result.json")?.toString()).toBe('{"ok": true}');
    expect(files.get("output/deep/x.txt")?.toString()).toBe("x");
    await provider.stopRunner(handle);
    expect(await docker.getContainer(handle).inspect().catch((e) => e.statusCode)).toBe(404);
    await provider.stopRunner(handle); // gone is fine
  });

  test("a sleeping script is stopped by stopRunner within a second, and its logs end", async () => {
    const s = await spec("bun", { "sleep.ts": 'console.log("sleeping"); await Bun.sleep(600_000);' });
    const { handle } = await provider.startRunner(s);
    const logs = allLogs(handle);
    expect(await provider.waitRunner(handle, 1_500)).toBeNull();
    const t0 = performance.now();
    await provider.stopRunner(handle);
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect((await logs).map((l) => l.line)).toContain("sleeping");
    await expect(provider.waitRunner(handle, 100)).rejects.toThrow(/does not exist/);
  });

  test("hardened container: limits, no socket, no mounts of the host, labels; listed as a runner, not a browser", async () => {
    const s = await spec("bun", {
      "probe.ts": [
        'import { existsSync } from "node:fs";',
        'console.log("sock", existsSync("/var/run/docker.sock") || existsSync("/run/docker.sock"));',
        'console.log("uid", process.getuid());',
        'console.log("caps", (await Bun.file("/proc/self/status").text()).split("\\n").find((l) => l.startsWith("CapEff")));',
        'console.log("mounts", (await Bun.file("/proc/self/mounts").text()).split("\\n").filter((l) => l.includes("docker.sock")).length);',
        "await Bun.sleep(600_000);",
      ].join("\n"),
    }, { limits: { memoryBytes: 200 * 1024 * 1024, pids: 64 } });
    const { handle } = await provider.startRunner(s);
    try {
      const info = await docker.getContainer(handle).inspect();
      expect(info.Name).toBe(`/bg-run-${s.runId}-1`);
      expect(info.HostConfig.Memory).toBe(200 * 1024 * 1024);
      expect(info.HostConfig.PidsLimit).toBe(64);
      expect(info.HostConfig.NanoCpus).toBe(DEFAULT_RUNNER_NANO_CPUS);
      expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
      expect(info.HostConfig.SecurityOpt).toEqual(["no-new-privileges"]);
      expect(info.HostConfig.ReadonlyRootfs).toBe(true);
      expect(info.HostConfig.Binds ?? []).toEqual([]);
      expect(info.HostConfig.NetworkMode).toBe(network);
      expect(info.Mounts.every((m) => m.Type === "volume" || m.Type === "tmpfs")).toBe(true);
      expect(info.Mounts.map((m) => m.Destination).sort()).toEqual([RUNNER_PATHS.app, RUNNER_PATHS.output]);
      expect(info.Config.Labels).toMatchObject({ [LABELS.install]: installId, [LABELS.worker]: workerId, [LABELS.kind]: "runner", [LABELS.run]: s.runId, [LABELS.attempt]: "1" });
      expect(info.Config.Labels[LABELS.session]).toBeUndefined();

      const lines: string[] = [];
      for await (const l of provider.runnerLogs(handle)) {
        lines.push(l.line);
        if (lines.length === 4) break;
      }
      expect(lines).toEqual(["sock false", "uid 1000", "caps CapEff:\t0000000000000000", "mounts 0"]);

      expect(await provider.listOwnedRunners()).toContainEqual({ handle, runId: s.runId, attempt: 1, running: true });
      expect((await provider.listOwned()).map((c) => c.handle)).not.toContain(handle);
    } finally {
      await provider.stopRunner(handle);
    }
    expect((await provider.listOwnedRunners()).map((r) => r.handle)).not.toContain(handle);
  });

  test("bun resolves playwright-core and puppeteer-core from the app; python starts playwright", async () => {
    const bun = await runToEnd(
      await spec("bun", {
        "imports.ts": [
          'import { chromium } from "playwright-core";',
          'import puppeteer from "puppeteer-core";',
          'console.log(typeof chromium.connectOverCDP, typeof puppeteer.connect);',
          'console.log(require("playwright-core/package.json").version, require("puppeteer-core/package.json").version);',
        ].join("\n"),
      }),
    );
    const pkg = await Bun.file(`${import.meta.dir}/../../package.json`).json();
    expect(bun.logs.map((l) => l.line)).toEqual(["function function", `${pkg.devDependencies["playwright-core"]} ${pkg.devDependencies["puppeteer-core"]}`]);
    expect(bun.exit).toEqual({ exitCode: 0 });

    // Starting playwright starts its Node.js driver: the image must carry what that needs.
    const py = await runToEnd(await spec("python", { "imp.py": "from playwright.sync_api import sync_playwright\nwith sync_playwright() as p:\n    print(p.chromium.name)" }));
    expect(py.logs.map((l) => l.line)).toEqual(["chromium"]);
    expect(py.exit).toEqual({ exitCode: 0 });
  });

  test("a script over its memory limit is OOM-killed and says so; no browser death is reported for it", async () => {
    const s = await spec("python", { "hog.py": "x = []\nwhile True:\n    x.append(bytearray(8 * 1024 * 1024))" }, { limits: { memoryBytes: 96 * 1024 * 1024 } });
    const { handle, exit } = await runToEnd(s);
    expect(exit).toEqual({ exitCode: 137, oomKilled: true });
    // The engine's die and oom events arrive within milliseconds; none may read as a browser's death.
    await Bun.sleep(1_000);
    expect(events.filter((e) => e.handle === handle)).toEqual([]);
  });

  test("bad specs are refused before anything exists on the engine", async () => {
    const before = (await provider.listOwnedRunners()).length;
    const bads: Partial<RunnerSpec>[] = [
      { entry: "../etc/passwd" },
      { entry: "/abs.ts" },
      { entry: "a/./b.ts" },
      { runtime: "ruby" as never },
      { env: { "BAD-NAME": "x" } },
      { env: { OK: "a\0b" } },
      { limits: { memoryBytes: 1024 } },
      { limits: { pids: 1 } },
      { runId: "../x" },
      { bundle: new Uint8Array(0) },
    ];
    for (const bad of bads) {
      await expect(provider.startRunner({ ...(await spec("bun", { "m.ts": "" })), ...bad })).rejects.toBeInstanceOf(BadRequest);
    }
    expect((await provider.listOwnedRunners()).length).toBe(before);
  });

  test("fail closed: without a ready egress guard no runner starts and nothing is left", async () => {
    const guarded = new DockerProvider(SOCKET, { installId, workerId, network, egressGuard: { assertReady: async () => Promise.reject(new Error("egress guard not verified")) } });
    const s = await spec("bun", { "m.ts": 'console.log("must not run")' });
    await expect(guarded.startRunner(s)).rejects.toThrow("egress guard not verified");
    await Bun.sleep(200);
    expect((await docker.listContainers({ all: true, filters: { label: [`${LABELS.run}=${s.runId}`] } })).length).toBe(0);
    await guarded.close();
  });

  test("an entry missing from the bundle exits 66 with a message", async () => {
    const { exit, logs } = await runToEnd({ ...(await spec("bun", { "m.ts": "" })), entry: "nope.ts" });
    expect(exit).toEqual({ exitCode: 66 });
    expect(logs.map((l) => l.line).join("\n")).toContain("entry file 'nope.ts' is not in the bundle");
  });
});
