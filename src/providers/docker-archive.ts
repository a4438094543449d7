// Files in and out of browser containers through the Docker API alone (PUT/GET
// /containers/<id>/archive), so profiles and downloads travel the same way to a local engine
// and to a remote one over SSH, with no host path shared between the grid and a worker.
//
// Measured on Docker 20.10 (the engine these workers run): the archive API works on the
// container's root file system and its volumes, never inside tmpfs mounts — a copy into the
// tmpfs /home/browser is refused ("container rootfs is marked read-only") and a read finds
// nothing. So the directories that must travel are anonymous volumes, and to keep the worker's
// disk safe they are tmpfs-backed and size-capped (docker-container.ts). Such a volume is only
// what the archive API sees while the container runs: before start and after exit each access
// mounts a fresh, empty tmpfs. Hence the profile handshake: the container starts, the grid puts
// the profile and then a marker file, and only then does the entrypoint start Chromium; at the
// end, after Chromium exited cleanly, the entrypoint holds the container a while so the grid
// can read the profile (waitChromiumExited tells when).
import type Docker from "dockerode";
import { Readable } from "node:stream";
import { LABELS } from "./docker-container";
import { statusOf } from "./docker-status";
import { singleFileTar } from "./tar-entry";
import type { IncomingFile } from "./provider";

/** A file copy into a browser that takes longer than this is cut off (the caller streams it from a client). */
const FILE_COPY_TIMEOUT_MS = 120_000;

async function owned(docker: Docker, installId: string, handle: string): Promise<Docker.Container> {
  const container = docker.getContainer(handle);
  const info = await container.inspect();
  if (info.Config.Labels?.[LABELS.install] !== installId) throw new Error(`container ${handle.slice(0, 12)} does not belong to this BrowserGrid install`);
  return container;
}

/** Extracts a tar archive into `path` of a created (or running) container; `path` must be a volume. */
export async function putArchive(container: Docker.Container, path: string, archive: Uint8Array): Promise<void> {
  await container.putArchive(Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength), { path, noOverwriteDirNonDir: "true" });
}

export async function copyIntoContainer(docker: Docker, installId: string, handle: string, path: string, archive: Uint8Array): Promise<void> {
  await putArchive(await owned(docker, installId, handle), path, archive);
}

/** The entrypoint starts Chromium once this file appears in the profile (and removes it). */
const PROFILE_READY_MARKER = "browsergrid-profile-ready";

/**
 * Fills a started container's profile volume (`archive`: a tar of the directory's contents),
 * then lets its entrypoint start Chromium on it.
 */
export async function handOverProfile(container: Docker.Container, dir: string, archive?: Uint8Array): Promise<void> {
  if (archive?.byteLength) await putArchive(container, dir, archive);
  await putFile(container, dir, { name: PROFILE_READY_MARKER, size: 0, body: [] });
}

export async function copyFileIntoContainer(docker: Docker, installId: string, handle: string, dir: string, file: IncomingFile): Promise<void> {
  await putFile(await owned(docker, installId, handle), dir, file);
}

/**
 * Streams one file into directory `dir` of a running container as an archive built by code
 * (tar-entry.ts). A size cap of the directory's file system shows as a rejection ("no space").
 * The engine extracts while the archive streams, so a copy that fails (too big, a body longer
 * or shorter than declared, a timeout) removes what it left, and no partial file stays.
 */
async function putFile(container: Docker.Container, dir: string, file: IncomingFile): Promise<void> {
  const tar = Readable.from(singleFileTar(file.name, file.size, file.body));
  let bodyError: unknown;
  tar.on("error", (err) => (bodyError = err));
  try {
    await container.putArchive(tar, { path: dir, noOverwriteDirNonDir: "true", abortSignal: AbortSignal.timeout(FILE_COPY_TIMEOUT_MS) });
    if (bodyError) throw bodyError;
  } catch (err) {
    await removeBrowserFile(container, `${dir}/${file.name}`).catch(() => {});
    throw bodyError ?? err;
  }
}

/** Removes one file as the browser user (argv, no shell); resolves once `rm` exited. */
async function removeBrowserFile(container: Docker.Container, path: string): Promise<void> {
  const run = await container.exec({ Cmd: ["rm", "-f", "--", path], User: "1000", AttachStdout: true, AttachStderr: true });
  const stream = await run.start({});
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 10_000);
    stream.on("end", () => (clearTimeout(timer), resolve()));
    stream.on("error", () => (clearTimeout(timer), resolve()));
    stream.resume();
  });
}

/** A tar stream of `path` (entries "<basename>/…"), from a running or stopped container. */
export async function copyOutOfContainer(docker: Docker, installId: string, handle: string, path: string): Promise<NodeJS.ReadableStream> {
  const container = await owned(docker, installId, handle);
  try {
    return (await container.getArchive({ path })) as NodeJS.ReadableStream;
  } catch (err) {
    if (statusOf(err) === 404) throw new Error(`${path} does not exist in container ${handle.slice(0, 12)}`);
    throw err;
  }
}

const EXIT_POLL_MS = 100;

/**
 * True once Chromium no longer runs in the container (the container stopped, or its entrypoint
 * holds it after a clean exit so a profile can be read); false when `timeoutMs` passed first.
 */
export async function waitChromiumExited(docker: Docker, handle: string, timeoutMs: number): Promise<boolean> {
  const container = docker.getContainer(handle);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (!(await container.inspect()).State.Running) return true;
      const top = await container.top({ ps_args: "-o pid,args" });
      if (!top.Processes.some((p: string[]) => p[1]?.startsWith("/usr/lib/chromium/chromium"))) return true; // both flavours' binaries
    } catch (err) {
      if (statusOf(err) === 404) return true;
      // 409 from top: the container stopped between the two calls.
      if (statusOf(err) !== 409) throw err;
    }
    if (Date.now() >= deadline) return false;
    await Bun.sleep(EXIT_POLL_MS);
  }
}
