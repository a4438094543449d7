// Reading a tar stream entry by entry, for archives that come out of a container (a session's
// downloads, a run's output dir): the one place that ties the source's errors to the reader's
// end, so a copy cut off half way ends the loop instead of leaving it waiting.
import { extract } from "tar-stream";

export type TarEntry = AsyncIterable<Uint8Array> & { header: { name: string; type?: string | null; size?: number } };

/**
 * Reads a tar stream entry by entry; `use` streams an entry's body (true) or leaves it to be
 * skipped (false). Resolves once the whole archive was read; rejects when it is broken.
 */
export async function eachTarEntry(tar: NodeJS.ReadableStream, use: (entry: TarEntry) => Promise<boolean>): Promise<void> {
  const ex = extract();
  const feeding = new Promise<void>((resolve, reject) => {
    // A source that breaks (a copy cut off, a worker gone) must end the loop below too.
    tar.on("error", (err) => (ex.destroy(err), reject(err)));
    ex.on("error", reject);
    ex.on("finish", resolve);
    tar.pipe(ex as unknown as NodeJS.WritableStream);
  });
  feeding.catch(() => {});
  for await (const entry of ex) {
    if (!(await use(entry as unknown as TarEntry))) entry.resume();
  }
  await feeding;
}
