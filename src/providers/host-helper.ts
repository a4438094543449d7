// A one-shot helper container that runs one command on a Docker engine's host network with
// NET_ADMIN: how the egress guard (src/security/egress) changes (and reads) the packet filter of
// a remote host through the Docker API alone, without importing the engine client itself. The browser image has nftables; no shell is involved — the
// ruleset is copied into the created container as a file before it starts, and the command is
// an argument vector. Labelled with the install (and as a helper) so it is recognisable; removed
// after every run, and leftovers of an interrupted run are removed on the next.
import type Docker from "dockerode";
import { packEntries } from "../storage/archive";
import { statusOf } from "./docker-status";
import { dockerodeReads, type EngineReads } from "./engine";

export const HELPER_LABEL = "browsergrid.helper";
const HELPER_KIND = "egress-guard";
const RUN_TIMEOUT_MS = 20_000;
/** Helpers older than this are leftovers of an interrupted run, never one still in use. */
const LEFTOVER_AGE_SEC = 120;

/** One command for the helper: an argument vector, and optionally one file copied in before it starts. */
export interface HostCommand {
  image: string;
  cmd: string[];
  file?: { path: string; content: string };
}

/** A Docker engine's host, as the egress guard reaches it: the helper container, and `docker info`. */
export interface HostHelper extends Pick<EngineReads, "info"> {
  run(command: HostCommand): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** The helper on one engine; its containers carry the install's label. */
export function hostHelper(docker: Docker, installId: string): HostHelper {
  return {
    run: (command) => runHelper(docker, { ...command, installId }),
    info: dockerodeReads(docker).info,
  };
}

/** Splits Docker's multiplexed log stream (8-byte frame headers) into stdout and stderr. */
export function demuxLogs(buf: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    (buf[i] === 2 ? err : out).push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8").trim().slice(0, 2_000) };
}

async function removeLeftovers(docker: Docker, installId: string): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: { label: [`browsergrid.install=${installId}`, `${HELPER_LABEL}=${HELPER_KIND}`] } }).catch(() => []);
  const old = list.filter((c) => c.Created < Date.now() / 1000 - LEFTOVER_AGE_SEC);
  await Promise.all(old.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
}

export async function runHelper(
  docker: Docker,
  opts: { image: string; installId: string; cmd: string[]; file?: { path: string; content: string } },
): Promise<{ code: number; stdout: string; stderr: string }> {
  await removeLeftovers(docker, opts.installId);
  let container: Docker.Container;
  try {
    container = await docker.createContainer({
      Image: opts.image,
      User: "0",
      Entrypoint: opts.cmd,
      Cmd: [],
      Labels: { "browsergrid.install": opts.installId, [HELPER_LABEL]: HELPER_KIND },
      NetworkDisabled: false,
      HostConfig: {
        NetworkMode: "host",
        CapDrop: ["ALL"],
        CapAdd: ["NET_ADMIN"],
        SecurityOpt: ["no-new-privileges"],
        RestartPolicy: { Name: "no" },
        LogConfig: { Type: "json-file", Config: { "max-size": "1m", "max-file": "1" } },
      },
    });
  } catch (err) {
    if (statusOf(err) === 404) throw new Error(`image ${opts.image} is not on that Docker engine (the guard's helper uses the browser image; build or pull it there)`);
    throw err;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    if (opts.file) {
      const slash = opts.file.path.lastIndexOf("/");
      const tar = await packEntries([{ header: { name: opts.file.path.slice(slash + 1), type: "file", mode: 0o600, size: Buffer.byteLength(opts.file.content) }, body: Buffer.from(opts.file.content) }]);
      await container.putArchive(Buffer.from(tar), { path: opts.file.path.slice(0, slash) || "/" });
    }
    await container.start();
    const waited = (await Promise.race([
      container.wait(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`the egress guard helper did not finish within ${RUN_TIMEOUT_MS / 1000} s`)), RUN_TIMEOUT_MS))),
    ])) as { StatusCode: number };
    const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    return { code: waited.StatusCode, ...demuxLogs(Buffer.isBuffer(logs) ? logs : Buffer.from(logs)) };
  } finally {
    clearTimeout(timer);
    await container.remove({ force: true }).catch(() => {});
  }
}
