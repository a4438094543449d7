// The body of POST /api/v1/deployments, in one of three forms, read within the bundle cap (the
// body gate, src/http/body-limits.ts, already cut the stream at the cap plus the multipart
// envelope and asked for credentials before a byte was read):
// - multipart/form-data with one file field `bundle` (.tar.gz, .tar or .zip) and nothing else;
// - application/gzip, application/zip, application/x-tar or application/octet-stream: the raw
//   archive (what `curl --data-binary @bot.tgz` sends);
// - application/json `{"manifest": {...}, "files": {"main.ts": "..."}}` (bundle-intake.ts
//   INLINE_LIMITS), nesting checked before parsing.
// Anything else is 415; a malformed body is 400 naming what to fix.
import { BadRequest, DomainError } from "../../lib/errors";
import { MAX_JSON_DEPTH } from "../../http/body-limits";
import { JsonDepthScanner } from "../../http/json-depth";
import { BundleTooLarge, INLINE_LIMITS, type InlineBundle } from "./bundle-intake";

class NotABundleType extends DomainError {
  constructor(got: string | null) {
    super("unsupported_media_type", `Send the bundle as multipart/form-data (file field "bundle"), as the raw archive (application/gzip, application/zip or application/octet-stream) or as application/json {"manifest", "files"}${got ? ` (got ${got.slice(0, 100)})` : ""}.`, 415);
  }
}

export type UploadBody = { kind: "archive"; bytes: Uint8Array } | { kind: "inline"; input: InlineBundle };

const RAW_TYPES = /^application\/(gzip|x-gzip|zip|x-zip-compressed|x-tar|octet-stream)\s*(;|$)/i;
const JSON_TYPE = /^application\/json\s*(;|$)/i;
/** The inline JSON form's cap: its files plus their escaping and the manifest. */
const INLINE_JSON_BYTES = 2 * INLINE_LIMITS.bytes + 128 * 1024;

/** The whole body, refused past `max` bytes (413, naming the cap) as it streams. */
async function readCapped(request: Request, max: number, tooLarge: () => DomainError, scanner?: JsonDepthScanner): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > max) throw tooLarge();
    if (scanner && !scanner.feed(chunk)) throw new BadRequest(`The JSON body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep.`, "json_too_deep");
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function inlineOf(value: unknown): InlineBundle {
  if (!isObject(value)) throw new BadRequest('The body must be {"manifest": {...}, "files": {"main.ts": "..."}}.', "invalid_body");
  for (const k of Object.keys(value)) if (k !== "manifest" && k !== "files") throw new BadRequest(`Unknown field "${k.slice(0, 64)}": remove it (the JSON form takes "manifest" and "files").`, "invalid_body");
  if (!isObject(value.manifest)) throw new BadRequest('Field "manifest": give the browsergrid.json content as an object.', "manifest_missing");
  if (!isObject(value.files) || Object.values(value.files).some((f) => typeof f !== "string"))
    throw new BadRequest('Field "files": give an object of path → file text, e.g. {"main.ts": "console.log(1)"}.', "invalid_body");
  return { manifest: value.manifest, files: value.files as Record<string, string> };
}

/** Reads the upload in whichever form it came. `maxBundleBytes`: BROWSERGRID_DEPLOYMENT_BUNDLE_MAX_MB. */
export async function readUpload(request: Request, maxBundleBytes: number): Promise<UploadBody> {
  const type = request.headers.get("content-type") ?? "";
  const length = request.headers.get("content-length");
  if (request.body === null || length === "0")
    throw new BadRequest('Send the bundle: a multipart form with the file field "bundle", the raw .tar.gz or .zip, or JSON {"manifest", "files"}.', "invalid_request");
  const tooLarge = () => new BundleTooLarge(maxBundleBytes);
  if (/^multipart\/form-data/i.test(type)) {
    let form: FormData;
    try {
      form = await request.formData();
    } catch (err) {
      if (err instanceof DomainError) throw err;
      if ((err as { code?: string })?.code === "payload_too_large" || /too large/i.test(String((err as Error)?.message))) throw tooLarge();
      throw new BadRequest("The multipart body could not be read: send one file field named \"bundle\".", "invalid_body");
    }
    for (const key of form.keys()) if (key !== "bundle") throw new BadRequest(`Unknown form field "${key.slice(0, 64)}": send only the file field "bundle".`, "invalid_body");
    const files = form.getAll("bundle");
    const file = files[0];
    if (files.length !== 1 || !(file instanceof Blob)) throw new BadRequest('Send exactly one file in the form field "bundle" (a .tar.gz or .zip).', "bundle_missing");
    if (file.size > maxBundleBytes) throw tooLarge();
    return { kind: "archive", bytes: new Uint8Array(await file.arrayBuffer()) };
  }
  if (RAW_TYPES.test(type)) return { kind: "archive", bytes: await readCapped(request, maxBundleBytes, tooLarge) };
  if (JSON_TYPE.test(type)) {
    const bytes = await readCapped(request, INLINE_JSON_BYTES, () => new BadRequest(`The JSON form is for small bundles (at most ${INLINE_JSON_BYTES} bytes); upload a .tar.gz or .zip instead.`, "invalid_body"), new JsonDepthScanner(MAX_JSON_DEPTH));
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(bytes).toString("utf8"));
    } catch {
      throw new BadRequest("The body is not valid JSON.", "invalid_body");
    }
    return { kind: "inline", input: inlineOf(value) };
  }
  throw new NotABundleType(type || null);
}
