// `browsergrid deploy ./dir`: a directory packed into the .tar.gz bundle the server takes.
// Regular files only, relative names; `.git/` is left out. A symbolic link or any other special
// file is refused here, by name, because the server refuses links in bundles anyway and a
// refused upload would only say so later.
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { gzipSync } from "node:zlib";
import { packEntries } from "../storage/archive";
import { UsageError } from "./api-client";

const SKIPPED_DIRS = new Set([".git"]);
/** What the CLI will pack at most; the server has its own caps (docs/deployments.md). */
export const MAX_DIR_BYTES = 200 * 1024 * 1024;

export interface PackedDir {
  tarGz: Uint8Array<ArrayBuffer>;
  files: number;
  bytes: number;
}

export async function packDirectory(dir: string): Promise<PackedDir> {
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    throw new UsageError(`${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new UsageError(`${dir} is not a directory`);
  const files: { name: string; body: Uint8Array; mode: number }[] = [];
  let bytes = 0;
  const walk = (abs: string) => {
    for (const entry of readdirSync(abs).sort()) {
      const path = join(abs, entry);
      const name = relative(dir, path).split(sep).join("/");
      const s = lstatSync(path);
      if (s.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry)) walk(path);
      } else if (s.isFile()) {
        bytes += s.size;
        if (bytes > MAX_DIR_BYTES) throw new UsageError(`${dir} holds more than ${MAX_DIR_BYTES / 1024 / 1024} MiB of files`);
        files.push({ name, body: readFileSync(path), mode: s.mode & 0o111 ? 0o755 : 0o644 });
      } else throw new UsageError(`${name} is a ${s.isSymbolicLink() ? "symbolic link" : "special file"}; bundles hold regular files only`);
    }
  };
  walk(dir);
  if (!files.some((f) => f.name === "browsergrid.json")) throw new UsageError(`${dir} has no browsergrid.json manifest (docs/deployments.md)`);
  const tar = await packEntries(files.map((f) => ({ header: { name: f.name, type: "file" as const, size: f.body.byteLength, mode: f.mode }, body: f.body })));
  return { tarGz: new Uint8Array(gzipSync(tar)) as Uint8Array<ArrayBuffer>, files: files.length, bytes };
}
