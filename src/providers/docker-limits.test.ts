// Limits of a browser container on a real engine: a CPU limit from the pool, and every place a
// session writes capped in memory (tmpfs volumes the archive API still reaches), so neither one
// session nor many can fill the worker's disk. Images: scripts/build-images.sh
// (BROWSERGRID_TEST_BROWSER_IMAGE picks another prefix).
import { afterAll, describe, expect, test } from "bun:test";
import Docker from "dockerode";
import { randomId } from "../lib/ids";
import { DockerProvider, LABELS } from "./docker";
import { BROWSER_PATHS, type BrowserSpec } from "./provider";

const docker = new Docker({ socketPath: "/var/run/docker.sock" });
const installId = `test-${randomId(8)}`;
const workerId = `w-${randomId(6)}`;
const MiB = 1024 * 1024;
const imagePrefix = process.env.BROWSERGRID_TEST_BROWSER_IMAGE ?? "browsergrid/browser";
const poolLimits = (poolId: string) => (poolId === "pool-small" ? { nanoCpus: 500_000_000, storageBytes: 16 * MiB } : undefined);
const provider = new DockerProvider("/var/run/docker.sock", { installId, workerId, imagePrefix, egressGuard: { assertReady: async () => {} }, poolLimits });

function spec(extra: Partial<BrowserSpec> = {}): BrowserSpec {
  return { sessionId: `t-${randomId(10)}`, poolId: "pool-test", workerId, flavour: "headless-shell", viewport: { width: 800, height: 600 }, ...extra };
}

async function exec(handle: string, script: string): Promise<string> {
  const run = await docker.getContainer(handle).exec({ Cmd: ["/bin/bash", "-c", script], AttachStdout: true, AttachStderr: true, User: "1000" });
  const stream = await run.start({});
  const chunks: Buffer[] = [];
  stream.on("data", (b: Buffer) => chunks.push(b));
  await new Promise((resolve) => stream.on("end", resolve));
  return Buffer.concat(chunks).toString("utf8").replace(/[\x00-\x08\x0e-\x1f]/g, "");
}

async function tarEntries(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  const proc = Bun.spawn(["tar", "-tvf", "-"], { stdin: Buffer.concat(chunks), stdout: "pipe" });
  return await new Response(proc.stdout).text();
}

afterAll(async () => {
  await provider.close();
  const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.install}=${installId}`] } });
  for (const c of left) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {});
});

describe("CPU", () => {
  test("a container gets one CPU by default and its pool's limit when the pool sets one", async () => {
    const plain = await provider.start(spec());
    const small = await provider.start(spec({ poolId: "pool-small" }));
    try {
      expect((await docker.getContainer(plain.handle).inspect()).HostConfig.NanoCpus).toBe(1_000_000_000);
      expect((await docker.getContainer(small.handle).inspect()).HostConfig.NanoCpus).toBe(500_000_000);
    } finally {
      await provider.stop(plain.handle);
      await provider.stop(small.handle);
    }
  });
});

describe("storage", () => {
  test("downloads and uploads are capped tmpfs volumes that the archive API reaches and that go with the container", async () => {
    const started = await provider.start(spec({ poolId: "pool-small" }));
    const info = await docker.getContainer(started.handle).inspect();
    const volumes = info.Mounts.filter((m) => m.Type === "volume");
    try {
      expect(volumes.map((m) => m.Destination).sort()).toEqual([BROWSER_PATHS.downloads, BROWSER_PATHS.uploads]);
      const mounts = await exec(started.handle, "cat /proc/mounts");
      for (const dir of [BROWSER_PATHS.downloads, BROWSER_PATHS.uploads, "/tmp", "/home/browser"]) {
        const line = mounts.split("\n").find((l) => l.split(" ")[1] === dir);
        expect(line, `${dir} is mounted`).toBeDefined();
        expect(line!.split(" ")[2], `${dir} is in memory`).toBe("tmpfs");
      }
      expect(mounts).toContain(`${BROWSER_PATHS.downloads} tmpfs rw,nosuid,nodev,noexec,relatime,size=16384k`);

      // Writing past the cap fails inside the container; nothing of it reaches the host's disk.
      const out = await exec(started.handle, `head -c ${64 * MiB} /dev/zero > ${BROWSER_PATHS.downloads}/big; echo "rc=$?"; stat -c %s ${BROWSER_PATHS.downloads}/big`);
      expect(out).toContain("No space left on device");
      expect(out).toContain(`rc=1`);
      expect(Number(out.trim().split("\n").at(-1))).toBeLessThanOrEqual(16 * MiB);

      // The grid still reads a session's downloads while the browser runs.
      await exec(started.handle, `rm ${BROWSER_PATHS.downloads}/big; echo hello > ${BROWSER_PATHS.downloads}/report.txt`);
      expect(await tarEntries(await provider.copyOut(started.handle, BROWSER_PATHS.downloads))).toContain("downloads/report.txt");
    } finally {
      await provider.stop(started.handle);
    }
    for (const v of volumes) await expect(docker.getVolume(v.Name!).inspect()).rejects.toThrow();
  });

  test("copyFileIn writes one plain file owned by the browser user, and refuses what does not fit", async () => {
    const started = await provider.start(spec({ poolId: "pool-small" }));
    try {
      const body = new TextEncoder().encode("name,amount\nalice,3\n");
      await provider.copyFileIn(started.handle, BROWSER_PATHS.uploads, { name: "data.csv", size: body.byteLength, body: [body] });
      const listed = await exec(started.handle, `stat -c '%a %u %g %s %F' ${BROWSER_PATHS.uploads}/data.csv; cat ${BROWSER_PATHS.uploads}/data.csv`);
      expect(listed).toContain(`644 1000 1000 ${body.byteLength} regular file`);
      expect(listed).toContain("alice,3");

      async function* zeros(total: number) {
        for (let sent = 0; sent < total; sent += MiB) yield new Uint8Array(MiB);
      }
      await expect(provider.copyFileIn(started.handle, BROWSER_PATHS.uploads, { name: "huge.bin", size: 32 * MiB, body: zeros(32 * MiB) })).rejects.toThrow(/no space/i);
      // A body that is longer than declared is refused too.
      await expect(provider.copyFileIn(started.handle, BROWSER_PATHS.uploads, { name: "liar.bin", size: 10, body: [new Uint8Array(20)] })).rejects.toThrow(/longer than/);
      await expect(provider.copyFileIn(started.handle, BROWSER_PATHS.uploads, { name: "../escape", size: 1, body: [new Uint8Array(1)] })).rejects.toThrow(/plain file name/);
      // A refused copy leaves no partial file; what was there before stays.
      expect((await exec(started.handle, `ls ${BROWSER_PATHS.uploads}`)).trim()).toBe("data.csv");
    } finally {
      await provider.stop(started.handle);
    }
  });

  test("a session's profile lives in a capped tmpfs volume: handed over before Chromium starts, readable after it exited", async () => {
    const archive = await new Response(Bun.spawn(["tar", "-C", "/etc", "-cf", "-", "hostname"], { stdout: "pipe" }).stdout).arrayBuffer();
    const started = await provider.start(spec({ profile: { archive: new Uint8Array(archive) } }));
    try {
      const mounts = await exec(started.handle, "cat /proc/mounts");
      expect(mounts).toContain(`${BROWSER_PATHS.profile} tmpfs rw,nosuid,nodev,noexec,relatime,size=786432k`);
      // Chromium started on the restored profile; the hand-over marker is gone.
      const listed = await exec(started.handle, `ls ${BROWSER_PATHS.profile}`);
      expect(listed).toContain("hostname");
      expect(listed).toContain("Default"); // written by Chromium itself
      expect(listed).not.toContain("browsergrid-profile-ready");
      expect(await exec(started.handle, `head -c ${800 * MiB} /dev/zero > ${BROWSER_PATHS.profile}/fill; echo "rc=$?"; rm -f ${BROWSER_PATHS.profile}/fill`)).toContain("rc=1");

      const version = (await (await fetch(`http://${started.cdp.host}:9222/json/version`)).json()) as { webSocketDebuggerUrl: string };
      const url = new URL(version.webSocketDebuggerUrl);
      url.host = `${started.cdp.host}:9222`;
      const ws = new WebSocket(url.toString());
      await new Promise((resolve) => (ws.onopen = resolve));
      ws.send(JSON.stringify({ id: 1, method: "Browser.close" }));
      expect(await provider.waitExited(started.handle, 10_000)).toBe(true);
      // Held after the clean exit: the profile Chromium wrote can still be read.
      expect(await provider.inspect(started.handle)).toEqual({ running: true });
      const entries = await tarEntries(await provider.copyOut(started.handle, BROWSER_PATHS.profile));
      expect(entries).toContain("profile/hostname");
      expect(entries).toContain("profile/Default/");
    } finally {
      await provider.stop(started.handle);
    }
  });

  test("limits out of range are refused before any container exists", async () => {
    for (const limits of [{ nanoCpus: 1 }, { nanoCpus: 65_000_000_000 }, { nanoCpus: 1.5e9 + 0.5 }, { storageBytes: 1024 }, { storageBytes: 2048 * MiB }]) {
      const s = spec({ limits });
      await expect(provider.start(s)).rejects.toThrow(/CPU limit|storage cap/);
      expect(await docker.listContainers({ all: true, filters: { label: [`${LABELS.session}=${s.sessionId}`] } })).toEqual([]);
    }
  });
});
