// What a run leaves in its output dir: `result.json` becomes the run's result, every other
// regular file an artifact (kind "output", with the run's id, under the run's session).
//
// The tar comes from a container the run's code controlled: links, devices, names that leave
// the directory and files past the caps are skipped, never followed or stored; result.json is
// read up to its cap and parsed, and one that does not parse is reported, not trusted.
import { eachTarEntry } from "../../storage/tar-entries";
import { normaliseEntryName } from "../../storage/archive";
import type { ArtifactService } from "../artifacts/artifacts.service";

export const OUTPUT_LIMITS = {
  resultBytes: 1024 * 1024,
  fileBytes: 256 * 1024 * 1024,
  files: 100,
} as const;

export interface CollectedOutput {
  /** Parsed result.json; undefined when there was none or it did not parse. */
  result?: unknown;
  /** Why result.json was not taken (absent when it was, or when there was none). */
  resultProblem?: string;
  artifacts: { id: string; name: string; size: number }[];
  skipped: { name: string; why: string }[];
}

/** Reads the tar of the output dir (entries "output/…"), storing files as the run's artifacts. */
export async function collectOutput(tar: NodeJS.ReadableStream, into: { artifacts: ArtifactService; sessionId: string; runId: string }): Promise<CollectedOutput> {
  const out: CollectedOutput = { artifacts: [], skipped: [] };
  // Each entry is read (true) or left to be skipped (false).
  await eachTarEntry(tar, async (entry) => {
    const name = normaliseEntryName(entry.header.name, "output");
    const type = entry.header.type ?? "file";
    const size = entry.header.size ?? 0;
    if (name === "" || type === "directory") return false;
    if (name === null || type !== "file") {
      out.skipped.push({ name: String(entry.header.name).slice(0, 200), why: name === null ? "name leaves the output dir" : `not a regular file (${type})` });
      return false;
    }
    if (name === "result.json") {
      if (size > OUTPUT_LIMITS.resultBytes) {
        out.resultProblem = `result.json is larger than ${OUTPUT_LIMITS.resultBytes} bytes`;
        return false;
      }
      const text = await readAll(entry);
      try {
        out.result = JSON.parse(text);
      } catch (err) {
        out.resultProblem = `result.json is not valid JSON: ${(err as Error).message.slice(0, 200)}`;
      }
      return true;
    }
    if (size > OUTPUT_LIMITS.fileBytes || out.artifacts.length >= OUTPUT_LIMITS.files) {
      out.skipped.push({ name, why: size > OUTPUT_LIMITS.fileBytes ? `larger than ${OUTPUT_LIMITS.fileBytes} bytes` : `more than ${OUTPUT_LIMITS.files} files` });
      return false;
    }
    const a = await into.artifacts.add(into.sessionId, "output", name, entry, { maxBytes: OUTPUT_LIMITS.fileBytes, runId: into.runId });
    out.artifacts.push({ id: a.id, name: a.name, size: a.size });
    return true;
  });
  return out;
}

async function readAll(entry: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const p of entry) parts.push(p);
  return Buffer.concat(parts).toString("utf8");
}
