// Files in and out of browser containers through the Docker API alone (PUT/GET
// /containers/<id>/archive), so profiles and downloads travel the same way to a local engine
// and to a remote one over SSH, with no host path shared between the grid and a worker.
//
// Measured on Docker 20.10 (the engine these workers run): the archive API works on the
// container's root file system and its volumes, never inside tmpfs mounts — a copy into the
// tmpfs /home/browser is refused ("container rootfs is marked read-only") and a read finds
// nothing. So the directories that must travel are anonymous volumes (see
// docker-container.ts): the profile volume is filled between create and start (Chromium then
// starts on it, no entrypoint handshake needed) and read after Chromium exited cleanly (a
// stopped container's volumes stay readable until it is removed with v=true).
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

/**
 * Streams one file into directory `dir` of a running container as an archive built by code
 * (tar-entry.ts). A size cap of the directory's file system shows as a rejection ("no space").
 * The engine extracts while the archive streams, so a copy that fails (too big, a body longer
 * or shorter than declared, a timeout) removes what it left, and no partial file stays.
 */
export async function copyFileIntoContainer(docker: Docker, installId: string, handle: string, dir: string, file: IncomingFile): Promise<void> {
  const container = await owned(docker, installId, handle);
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

/** True once the container is no longer running; false when `timeoutMs` passed first. */
export async function waitContainerExited(docker: Docker, handle: string, timeoutMs: number): Promise<boolean> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    await docker.getContainer(handle).wait({ condition: "not-running", abortSignal: abort.signal });
    return true;
  } catch (err) {
    if (abort.signal.aborted) return false;
    if (statusOf(err) === 404) return true;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
