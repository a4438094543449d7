// Files a client hands to its session's browser for <input type=file>. The browser may only
// pick files from its uploads directory (the gateway lets DOM.setFileInputFiles name nothing
// else), and only BrowserGrid writes there: one plain file per request, built into an archive
// by code, capped by the pool's storage size while it streams, in a size-capped tmpfs volume.
import type { SessionService } from "../sessions/sessions.service";
import type { SessionRow } from "../sessions/sessions.store";
import type { Db } from "../../db/client";
import { BadRequest, Conflict, DomainError } from "../../lib/errors";
import { BROWSER_PATHS, type IncomingFile } from "../../providers/provider";
import { isPlainFileName } from "../../providers/tar-entry";
import { browserLimitsOf, findPoolById } from "../pools/pools.service";
import { DEFAULT_STORAGE_BYTES } from "../../providers/docker-container";

export class PayloadTooLarge extends DomainError {
  constructor(message: string, code = "upload_too_large") {
    super(code, message, 413);
  }
}

export interface UploadedFile {
  name: string;
  /** What a client passes to DOM.setFileInputFiles (Playwright: setInputFiles on the remote browser). */
  path: string;
  size: number;
}

export function checkUploadName(name: string): void {
  if (!isPlainFileName(name)) {
    throw new BadRequest(`"name" must be a plain file name: 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit, without "..".`, "invalid_name");
  }
}

/** The most one upload (and all of a session's uploads together) may hold: the pool's storage cap. */
export function uploadCapOf(db: Db, row: SessionRow): number {
  const pool = findPoolById(db, row.poolId);
  return (pool ? browserLimitsOf(pool).storageBytes : undefined) ?? DEFAULT_STORAGE_BYTES;
}

export async function uploadToSession(
  deps: { db: Db; sessions: SessionService },
  row: SessionRow,
  file: IncomingFile,
): Promise<UploadedFile> {
  checkUploadName(file.name);
  if (row.status !== "running" || !row.containerId) throw new Conflict(`Session ${row.id} is ${row.status}; uploads need a running browser.`, "session_not_running");
  const cap = uploadCapOf(deps.db, row);
  if (file.size > cap) throw new PayloadTooLarge(`The file is ${file.size} bytes; this pool's browsers take uploads of up to ${cap} bytes (the pool's storageMb).`);
  const provider = deps.sessions.providerOf(row);
  if (!provider?.copyFileIn) throw new Conflict("This session's worker cannot receive uploads.", "uploads_unsupported");
  try {
    await provider.copyFileIn(row.containerId, BROWSER_PATHS.uploads, file);
  } catch (err) {
    if (err instanceof DomainError) throw err;
    if (/no space left/i.test((err as Error).message)) {
      throw new PayloadTooLarge(`The session's uploads directory is full (${cap} bytes for all its uploads).`, "uploads_full");
    }
    throw err;
  }
  return { name: file.name, path: `${BROWSER_PATHS.uploads}/${file.name}`, size: file.size };
}
