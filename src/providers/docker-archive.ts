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
import { LABELS } from "./docker-container";
import { statusOf } from "./docker-status";

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
