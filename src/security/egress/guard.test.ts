// Fail closed below the session service: a DockerProvider whose guard is not ready starts no
// browser and leaves no container; engines whose host filter is out of reach are recognised;
// local-process workers are never "guarded". The first install as /readyz sees it (a guard
// reading a real workers table): src/modules/network/egress-part.test.ts.
import { afterAll, expect, test } from "bun:test";
import Docker from "dockerode";
import { randomId } from "../../lib/ids";
import { Unavailable } from "../../lib/errors";
import { DockerProvider } from "../../providers/docker";
import { engineLimitation } from "./nft-host";
import { EgressGuard } from "./guard";
import { loadConfig } from "../../config";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const docker = new Docker({ socketPath: "/var/run/docker.sock" });
const installId = `egress-${randomId(8)}`;
const log = { debug() {}, info() {}, warn() {}, error() {}, child() { return log; } } as unknown as import("../../lib/logger").Logger;

afterAll(async () => {
  const left = await docker.listContainers({ all: true, filters: { label: [`browsergrid.install=${installId}`] } });
  await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
});

test("DockerProvider.start refuses when the guard is not ready, and no container is left", async () => {
  const refusing = { assertReady: async () => Promise.reject(new Unavailable("guard missing (test)", "egress_guard_missing")) };
  const provider = new DockerProvider(docker, { installId, workerId: "w1", egressGuard: refusing });
  const spec = { sessionId: `ses_${randomId(10)}`, poolId: "p", workerId: "w1", flavour: "headless-shell" as const, viewport: { width: 800, height: 600 } };
  await expect(provider.start(spec)).rejects.toMatchObject({ code: "egress_guard_missing", status: 503 });
  expect(await docker.listContainers({ all: true, filters: { label: [`browsergrid.install=${installId}`] } })).toEqual([]);
}, 30_000);

test("rootless Docker and Docker Desktop are recognised from docker info", async () => {
  const fake = (info: object) => ({ info: async () => info });
  expect(await engineLimitation(fake({ SecurityOptions: ["name=seccomp,profile=default", "name=rootless"], OperatingSystem: "Ubuntu" }))).toBe("rootless Docker");
  expect(await engineLimitation(fake({ SecurityOptions: [], OperatingSystem: "Docker Desktop" }))).toBe("Docker Desktop");
  expect(await engineLimitation(fake({ SecurityOptions: ["name=seccomp,profile=default"], OperatingSystem: "Debian GNU/Linux 12 (bookworm)" }))).toBeNull();
});

test("local-process workers are missing a guard (sessions refused) unless the guard is off", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bg-egress-unit-"));
  const on = new EgressGuard({ fleet: undefined as never, log, config: loadConfig({ BROWSERGRID_DATA_DIR: dir }) });
  on.register({ id: "w-local", name: "local-process" }, { kind: "none", reason: "local-process browsers have no packet filter" });
  expect(on.status("w-local")).toMatchObject({ state: "missing", reason: "local-process browsers have no packet filter" });
  await expect(on.assertReady("w-local")).rejects.toMatchObject({ code: "egress_guard_missing" });
  const off = new EgressGuard({ fleet: undefined as never, log, config: loadConfig({ BROWSERGRID_DATA_DIR: dir, BROWSERGRID_EGRESS_GUARD: "off" }) });
  off.register({ id: "w-local", name: "local-process" }, { kind: "none", reason: "local-process browsers have no packet filter" });
  expect(off.status("w-local").state).toBe("off");
  await off.assertReady("w-local");
});

test("configuration: the guard switch, the install-wide allow-list and browser DNS are checked at start", () => {
  const dir = mkdtempSync(join(tmpdir(), "bg-egress-cfg-"));
  const c = loadConfig({ BROWSERGRID_DATA_DIR: dir, BROWSERGRID_EGRESS_ALLOW: " docker-host, 10.1.0.0/16 ", BROWSERGRID_BROWSER_DNS: "10.250.0.53" });
  expect(c).toMatchObject({ egressGuard: true, egressAllow: ["docker-host", "10.1.0.0/16"], browserDns: ["10.250.0.53"], dockerNetwork: "browsergrid-default", egressTable: "browsergrid" });
  expect(() => loadConfig({ BROWSERGRID_DATA_DIR: dir, BROWSERGRID_EGRESS_GUARD: "no" })).toThrow(/BROWSERGRID_EGRESS_GUARD: must be "on" or "off"/);
  expect(() => loadConfig({ BROWSERGRID_DATA_DIR: dir, BROWSERGRID_EGRESS_ALLOW: "10.0.0.1,fd00::1" })).toThrow(/BROWSERGRID_EGRESS_ALLOW: entry "fd00::1" is IPv6/);
  expect(() => loadConfig({ BROWSERGRID_DATA_DIR: dir, BROWSERGRID_BROWSER_DNS: "127.0.0.53" })).toThrow(/BROWSERGRID_BROWSER_DNS/);
  expect(() => loadConfig({ BROWSERGRID_DATA_DIR: dir, BROWSERGRID_EGRESS_TABLE: "x; flush ruleset" })).toThrow(/BROWSERGRID_EGRESS_TABLE/);
});
