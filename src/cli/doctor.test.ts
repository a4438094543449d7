// `browsergrid doctor` on the engine: its version against the known libnetwork deadlock, and a
// stuck engine (test/helpers/stuck-docker.ts: answers ping and version, hangs the rest) told
// apart from a healthy one within the engine deadline, on the real engine behind both.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config";
import { startStuckDocker, type StuckDocker } from "../../test/helpers/stuck-docker";
import { freePort } from "../../test/helpers/binary";
import { engineVersionCheck, runChecks } from "./doctor";

let stuck: StuckDocker;
const dataDir = mkdtempSync(join(tmpdir(), "bg-doctor-"));

beforeAll(async () => {
  stuck = await startStuckDocker();
});
afterAll(async () => {
  await stuck?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const config = () =>
  loadConfig({ BROWSERGRID_DATA_DIR: dataDir, BROWSERGRID_DOCKER_SOCKET: stuck.path, BROWSERGRID_ENGINE_TIMEOUT_MS: "400", BROWSERGRID_PORT: String(freePort()) }, { createDataDir: false });

test.each([
  ["20.10.24+dfsg1", true],
  ["19.03.15", true],
  ["22.06.0-beta.0", true],
  ["23.0.6", false],
  ["26.1.5+dfsg1", false],
  ["27.3.1", false],
])("engine %s: deadlock warning %p", (version, warned) => {
  const c = engineVersionCheck(version);
  expect(c.ok).toBe(true); // a warning never fails the run
  expect(!!c.warn).toBe(warned);
  if (warned) {
    expect(c.detail).toContain("moby/moby#42545");
    expect(c.fix).toContain("upgrade to ≥ 26; on Debian 12 the set-up script installs Debian 13's docker.io 26.1.5");
  }
});

test("an engine version it cannot read is a warning, not a pass", () => {
  expect(engineVersionCheck("master-dockerproject")).toMatchObject({ ok: true, warn: true });
});

test("a healthy engine: reachable with its version, responsive", async () => {
  const checks = await runChecks(config());
  expect(checks.find((c) => c.name === "docker reachable")).toMatchObject({ ok: true });
  expect(checks.find((c) => c.name === "docker reachable")!.detail).toMatch(/^engine \d+\.\d+/);
  expect(checks.find((c) => c.name === "docker engine version")?.ok).toBe(true);
  expect(checks.find((c) => c.name === "docker engine responsive")).toMatchObject({ ok: true });
}, 20_000);

test("a stuck engine (answers ping, hangs info): reported as stuck with the fix, within the deadline", async () => {
  stuck.wedge();
  try {
    const t0 = performance.now();
    const checks = await runChecks(config());
    expect(performance.now() - t0).toBeLessThan(5_000);
    const responsive = checks.find((c) => c.name === "docker engine responsive")!;
    expect(responsive.ok).toBe(false);
    expect(responsive.detail).toMatch(/answers ping but not (version|info) within 0\.4 s: it is stuck/);
    expect(responsive.fix).toContain("systemctl restart docker");
    expect(checks.find((c) => c.name === "docker reachable")?.ok).toBe(true); // it answers ping: reachable, but stuck
    expect(checks.find((c) => c.name === "browser image headless-shell")).toMatchObject({ ok: false, detail: "not checked: the Docker engine does not answer" });
  } finally {
    stuck.unwedge();
  }
}, 20_000);
