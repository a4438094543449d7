// The Dockerfile packages the compiled binary as the appliance container; it starts, answers
// /healthz on the host network and reaches the host's Docker engine through the socket. It runs
// with its own Docker network and egress table, and its data dir on the host, so the test can
// remove what it started there too (without nft in the image, its egress guard reads the host
// through one-shot helper containers, which a killed appliance may leave behind).
import { afterAll, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBinary, freePort } from "../helpers/binary";
import { docker, removeInstallContainers, waitFor } from "../helpers/grid";

const ROOT = join(import.meta.dir, "../..");
const TAG = "browsergrid/appliance:e2e";
const NETWORK = "browsergrid-appliance-e2e";
const TABLE = "bgappliance_e2e";
const dataDir = mkdtempSync(join(tmpdir(), "bg-appliance-data-"));
chmodSync(dataDir, 0o777); // the appliance may run as another user
let containerId: string | undefined;

afterAll(async () => {
  if (containerId) {
    const c = docker.getContainer(containerId);
    await c.stop({ t: 30 }).catch(() => {}); // a stop lets it remove its own browsers first
    await c.remove({ force: true }).catch(() => {});
  }
  await removeInstallContainers(dataDir);
  Bun.spawnSync(["nft", "delete", "table", "inet", TABLE], { stderr: "ignore" });
  await docker.getNetwork(NETWORK).remove().catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
});

test("docker build + run: /healthz answers and doctor sees the engine", async () => {
  const ctx = mkdtempSync(join(tmpdir(), "bg-appliance-"));
  mkdirSync(join(ctx, "dist"));
  copyFileSync(await buildBinary(), join(ctx, "dist/browsergrid"));
  copyFileSync(join(ROOT, "Dockerfile"), join(ctx, "Dockerfile"));
  const build = Bun.spawnSync(["docker", "build", "-q", "--build-arg", "BASE=browsergrid/debian-base:bookworm", "-t", TAG, ctx], { stderr: "pipe" });
  if (build.exitCode !== 0) console.error(build.stderr.toString());
  expect(build.exitCode).toBe(0);

  const port = freePort();
  const c = await docker.createContainer({
    Image: TAG,
    Env: [`BROWSERGRID_PORT=${port}`, `BROWSERGRID_DOCKER_NETWORK=${NETWORK}`, `BROWSERGRID_EGRESS_TABLE=${TABLE}`],
    HostConfig: { NetworkMode: "host", Binds: ["/var/run/docker.sock:/var/run/docker.sock", `${dataDir}:/data`] },
  });
  containerId = c.id;
  await c.start();
  await waitFor("appliance /healthz", async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok, 15_000);
  const ready = await (await fetch(`http://127.0.0.1:${port}/readyz`)).json();
  expect(ready.checks.find((x: { name: string }) => x.name === "workers")?.ok).toBe(true);

  const exec = await c.exec({ Cmd: ["browsergrid", "doctor", "--healthz"], AttachStdout: true, AttachStderr: true });
  await exec.start({});
  await waitFor("doctor exit", async () => (await exec.inspect()).Running === false, 5000);
  expect((await exec.inspect()).ExitCode).toBe(0);
});
