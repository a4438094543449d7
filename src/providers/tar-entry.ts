// A tar stream of exactly one regular file, built here rather than taken from a client: what
// reaches a browser's file system through the Docker archive API is one plain file, named by
// BrowserGrid, mode 0644, owned by the browser user — never a link, device, directory or path.
import { BadRequest } from "../lib/errors";

const BLOCK = 512;
/** The browser image's user (browser-image/Dockerfile). */
const BROWSER_UID = 1000;
/** A plain file name: no path, no hidden file, no "..". The gateway and the uploads API share it. */
export const PLAIN_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function isPlainFileName(name: string): boolean {
  return PLAIN_FILE_NAME.test(name) && !name.includes("..");
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

/** The ustar header of a regular file (sizes up to 8 GiB - 1, the field's limit). */
export function tarFileHeader(name: string, size: number, mtimeSec = Math.floor(Date.now() / 1000)): Uint8Array {
  if (!isPlainFileName(name)) throw new BadRequest(`"${name.slice(0, 100)}" is not a plain file name`);
  if (!Number.isSafeInteger(size) || size < 0 || size >= 8 ** 11) throw new BadRequest("file size out of range");
  const header = new Uint8Array(BLOCK);
  const put = (text: string, at: number) => header.set(new TextEncoder().encode(text), at);
  put(name, 0);
  put(octal(0o644, 8), 100);
  put(octal(BROWSER_UID, 8), 108);
  put(octal(BROWSER_UID, 8), 116);
  put(octal(size, 12), 124);
  put(octal(mtimeSec, 12), 136);
  put("        ", 148); // checksum field counts as spaces while summing
  put("0", 156); // regular file
  put("ustar\0" + "00", 257);
  put("browser", 265);
  put("browser", 297);
  const sum = header.reduce((n, b) => n + b, 0);
  put(octal(sum, 7) + " ", 148);
  return header;
}

/**
 * The whole archive: header, exactly `size` bytes of `body`, padding and the end marker. A body
 * longer or shorter than `size` throws mid-stream, so the receiver gets a broken archive and
 * extracts nothing complete under that name.
 */
export async function* singleFileTar(name: string, size: number, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield tarFileHeader(name, size);
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.byteLength;
    if (seen > size) throw new BadRequest(`the body is longer than its declared ${size} bytes`);
    yield chunk;
  }
  if (seen !== size) throw new BadRequest(`the body ended after ${seen} of its declared ${size} bytes`);
  const pad = (BLOCK - (size % BLOCK)) % BLOCK;
  yield new Uint8Array(pad + 2 * BLOCK);
}
