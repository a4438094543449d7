// Read models of sessions: the public view of a row (with or without its connect secrets, per
// reader) as an object, as JSON text, and as a whole page of the list API.
import type { Db } from "../../db/client";
import type { Actor } from "../../security/actor";
import { mayControlSession, secretsScopeKey } from "./sessions.access";
import { toPublicSession, toPublicSessionJson, toPublicSessionsJsonBytes, type PublicSession } from "./sessions.model";
import { namesOf, type Names } from "./sessions.names";
import type { SessionRow } from "./sessions.store";

export class SessionViews {
  private lastPage: { now: number; names: Names; scope: string; prefix: string; suffix: string; rows: readonly SessionRow[]; page: Blob } | null = null;

  constructor(private deps: { db: Db; publicUrl: string; installKey: Buffer }) {}

  /** The session as `reader` may see it: with connect secrets only for its owner and admins (sessions.access.ts). */
  toPublicFor(reader: Actor, row: SessionRow): PublicSession {
    return this.toPublic(row, mayControlSession(reader, row));
  }

  /** The session with its connect secrets (`withSecrets`) or without; prefer toPublicFor where there is a reader. */
  toPublic(row: SessionRow, withSecrets: boolean): PublicSession {
    return toPublicSession(row, this.publicContext(row, namesOf(this.deps.db)), withSecrets);
  }

  /** JSON.stringify(toPublicFor(reader, row)), from text remembered per row (sessions.model.ts). */
  toPublicJson(reader: Actor, row: SessionRow): string {
    return toPublicSessionJson(row, this.publicContext(row, namesOf(this.deps.db)), mayControlSession(reader, row));
  }

  /**
   * The UTF-8 JSON of `${prefix}[toPublic(row), …]${suffix}`: a page of the list API, as a Blob
   * (a Response takes a Blob's bytes as they are; it copies a Uint8Array's). The last page is
   * remembered for the millisecond it was built in: a request in the same millisecond for the
   * same rows (the same shared row objects, so nothing changed) gets the same bytes a rebuild
   * would give, running durations included. Under load many requests share each one.
   */
  toPublicJsonPage(reader: Actor, rows: readonly SessionRow[], prefix: string, suffix: string): Blob {
    const names = namesOf(this.deps.db);
    const now = Date.now();
    const scope = secretsScopeKey(reader);
    const last = this.lastPage;
    if (last && last.now === now && last.names === names && last.scope === scope && last.prefix === prefix && last.suffix === suffix && sameItems(last.rows, rows)) return last.page;
    const page = new Blob([toPublicSessionsJsonBytes(rows, (r) => this.publicContext(r, names), (r) => mayControlSession(reader, r), prefix, suffix, now)]);
    this.lastPage = { now, names, scope, prefix, suffix, rows, page };
    return page;
  }

  private publicContext(row: SessionRow, names: Names) {
    return { publicUrl: this.deps.publicUrl, installKey: this.deps.installKey, poolName: names.pool(row.poolId), workerName: names.worker(row.workerId) };
  }
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
