// The Dockerfile packages the compiled binary as the appliance container; it starts, answers
// /healthz on the host network and reaches the host's Docker engine through the socket.
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBinary, freePort } from "../helpers/binary";
import { docker, waitFor } from "../helpers/grid";

const ROOT = join(import.meta.dir, "../..");
const TAG = "browsergrid/appliance:e2e";
let containerId: string | undefined;

afterAll(async () => {
  if (containerId) await docker.getContainer(containerId).remove({ force: true }).catch(() => {});
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
    Env: [`BROWSERGRID_PORT=${port}`],
    HostConfig: { NetworkMode: "host", Binds: ["/var/run/docker.sock:/var/run/docker.sock"] },
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
