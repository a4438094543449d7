// Bundles for runner tests (a tar.gz of named files, as the deployments module normalises them)
// and the files of a tar stream a runner's copyOut returns.
import { createGzip } from "node:zlib";
import { extract, pack } from "tar-stream";

export async function bundleOf(files: Record<string, string>): Promise<Uint8Array> {
  const p = pack();
  const gz = p.pipe(createGzip());
  const chunks: Buffer[] = [];
  gz.on("data", (c: Buffer) => void chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    gz.on("end", resolve);
    gz.on("error", reject);
  });
  for (const [name, content] of Object.entries(files)) p.entry({ name, mode: 0o644, uid: 0, gid: 0 }, content);
  p.finalize();
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}

/** Regular files of a tar stream by entry name (e.g. "output/shot.png"). */
export async function filesOfTar(stream: NodeJS.ReadableStream): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on("entry", (header, body, next) => {
      const parts: Buffer[] = [];
      body.on("data", (c: unknown) => void parts.push(c as Buffer));
      body.on("end", () => {
        if (header.type === "file") out.set(header.name, Buffer.concat(parts));
        next();
      });
      body.resume();
    });
    ex.on("finish", resolve);
    ex.on("error", reject);
  });
  stream.pipe(ex);
  await done;
  return out;
}
