// The public shape of a session and its connect URL.
//
// The connect token is an HMAC of the session id under the install key: the gateway checks
// its SHA-256 against the stored digest, and the owner can read the cdpUrl again later
// without the token ever being stored in clear. It dies with the session, because the
// gateway only admits sessions that are running. Who may read it: sessions.access.ts.
import type { SessionEventRow, SessionRow } from "./sessions.store";
import { memoHmac } from "../../security/install-key";
import { sha256Hex } from "../../lib/ids";
import { isTerminal } from "./sessions.store";
import type { Actor } from "../../security/actor";
import { liveExpiry, signedLiveUrl } from "../live/live.tokens";

/** Sessions belong to the user behind a request (or to the static key that made them). */
export function ownerOf(actor: Actor): { type: string; id: string | null } {
  return { type: actor.type, id: actor.userId ?? actor.keyId ?? null };
}

export function connectToken(installKey: Buffer, sessionId: string): string {
  return memoHmac(installKey, `cdp:${sessionId}`);
}

export function connectTokenHash(installKey: Buffer, sessionId: string): string {
  return sha256Hex(connectToken(installKey, sessionId));
}

export function wsBase(publicUrl: string): string {
  return publicUrl.replace(/^http/, "ws");
}

export function cdpUrl(publicUrl: string, installKey: Buffer, sessionId: string): string {
  return `${wsBase(publicUrl)}/cdp/${sessionId}?token=${connectToken(installKey, sessionId)}`;
}

const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);

// Rows are shared and frozen while the database is unchanged (sessions.store.ts), so their
// timestamps are formatted once per row rather than on every read.
const isoMemo = new WeakMap<SessionRow, { createdAt: string; startedAt: string | null; expiresAt: string | null; endedAt: string | null }>();

function timestamps(row: SessionRow) {
  let t = isoMemo.get(row);
  if (!t) isoMemo.set(row, (t = { createdAt: iso(row.createdAt)!, startedAt: iso(row.startedAt), expiresAt: iso(row.expiresAt), endedAt: iso(row.endedAt) }));
  return t;
}

export interface PublicSession {
  id: string;
  status: SessionRow["status"];
  pool: string;
  worker: string | null;
  cdpUrl: string | null;
  liveUrl: string | null;
  createdAt: string;
  startedAt: string | null;
  expiresAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  endReason: string | null;
  keepAlive: boolean;
  timeoutSec: number;
  idleTimeoutSec: number;
  config: Record<string, unknown>;
  metadata: Record<string, unknown>;
  /** Bytes through the session's proxy relay (zero for sessions without a proxy). */
  network: { bytesSent: number; bytesReceived: number };
}

/**
 * The API's view of a session. `withSecrets`: the reader may hold its connect secrets
 * (mayControlSession, sessions.access.ts); without, cdpUrl and liveUrl are null.
 */
export function toPublicSession(
  row: SessionRow,
  ctx: { publicUrl: string; installKey: Buffer; poolName: string; workerName: string | null; now?: number },
  withSecrets: boolean,
): PublicSession {
  const live = withSecrets && !isTerminal(row.status) && row.status !== "stopping";
  const end = row.endedAt ?? (row.startedAt ? (ctx.now ?? Date.now()) : null);
  return {
    id: row.id,
    status: row.status,
    pool: ctx.poolName,
    worker: ctx.workerName,
    cdpUrl: live ? cdpUrl(ctx.publicUrl, ctx.installKey, row.id) : null,
    // The owner's watch-only live link (1 h); /sessions/:id/share or BrowserGrid.liveURL mint others.
    liveUrl: withSecrets && row.status === "running" ? signedLiveUrl(ctx.publicUrl, ctx.installKey, row.id, "view", undefined, ctx.now).url : null,
    ...timestamps(row),
    durationMs: row.startedAt && end ? end - row.startedAt : null,
    endReason: row.endReason,
    keepAlive: row.keepAlive,
    timeoutSec: row.timeoutSec,
    idleTimeoutSec: row.idleTimeoutSec,
    config: row.config,
    metadata: row.metadata,
    network: { bytesSent: row.bytesSent, bytesReceived: row.bytesReceived },
  };
}

// The API's session reads (list and get) serve the JSON text of toPublicSession(), kept per
// shared row and per answer shape (with or without connect secrets) (a new row object comes with every database change). Only two parts move with
// the clock: durationMs of a session that has started and not ended (spliced in per read), and
// the watch link's expiry, which steps every 5 minutes (the text is rebuilt then).
const DURATION_MARK = -1.5; // never a real duration
type PublicContext = { publicUrl: string; installKey: Buffer; poolName: string; workerName: string | null; now?: number };
type JsonParts = { pool: string; worker: string | null; exp: number; head: string; tail: string | null; bytes?: { head: Buffer; tail: Buffer | null } };
const jsonMemo = { withSecrets: new WeakMap<SessionRow, JsonParts>(), without: new WeakMap<SessionRow, JsonParts>() };

/** The row's remembered JSON text around its running duration (tail null: nothing ticks). */
function jsonParts(row: SessionRow, ctx: PublicContext, now: number, withSecrets: boolean): JsonParts {
  const exp = withSecrets && row.status === "running" ? liveExpiry(now) : 0;
  const memo = withSecrets ? jsonMemo.withSecrets : jsonMemo.without;
  let m = memo.get(row);
  if (!m || m.exp !== exp || m.pool !== ctx.poolName || m.worker !== ctx.workerName) {
    const obj = toPublicSession(row, { ...ctx, now }, withSecrets);
    const ticking = obj.durationMs !== null && row.endedAt === null;
    if (ticking) obj.durationMs = DURATION_MARK;
    const text = JSON.stringify(obj);
    // A raw `"durationMs":` can only be a key (quotes inside strings are escaped), and the
    // top-level one comes before config and metadata, so the first match is the right one.
    const at = ticking ? text.indexOf(`"durationMs":${DURATION_MARK}`) + `"durationMs":`.length : -1;
    m = { pool: ctx.poolName, worker: ctx.workerName, exp, head: ticking ? text.slice(0, at) : text, tail: ticking ? text.slice(at + String(DURATION_MARK).length) : null };
    memo.set(row, m);
  }
  return m;
}

/** JSON.stringify(toPublicSession(row, ctx, withSecrets)), from the row's remembered text when it can. */
export function toPublicSessionJson(row: SessionRow, ctx: PublicContext, withSecrets: boolean): string {
  const now = ctx.now ?? Date.now();
  const m = jsonParts(row, ctx, now, withSecrets);
  return m.tail === null ? m.head : m.head + (now - row.startedAt!) + m.tail;
}

/**
 * The UTF-8 bytes of `${prefix}${JSON.stringify(rows.map(toPublicSession))}${suffix}` (prefix and
 * suffix ASCII): a page of the list API. Each row's text is kept encoded, so a page is one
 * allocation and a copy per row (joining 50 strings and encoding the result cost more than
 * everything else in the request). SessionService keeps a page for its millisecond.
 */
export function toPublicSessionsJsonBytes(
  rows: readonly SessionRow[],
  ctxOf: (row: SessionRow) => PublicContext,
  withSecrets: (row: SessionRow) => boolean,
  prefix = "",
  suffix = "",
  now = Date.now(),
): Uint8Array<ArrayBuffer> {
  const parts: { head: Buffer; tail: Buffer | null; duration: string }[] = [];
  let size = prefix.length + 2 + Math.max(0, rows.length - 1) + suffix.length;
  for (const row of rows) {
    const m = jsonParts(row, ctxOf(row), now, withSecrets(row));
    const b = (m.bytes ??= { head: Buffer.from(m.head), tail: m.tail === null ? null : Buffer.from(m.tail) });
    const duration = b.tail === null ? "" : String(now - row.startedAt!);
    parts.push({ head: b.head, tail: b.tail, duration });
    size += b.head.length + duration.length + (b.tail?.length ?? 0);
  }
  const out = Buffer.allocUnsafe(size);
  let o = out.write(prefix, 0, "latin1");
  out[o++] = 0x5b; // [
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (i > 0) out[o++] = 0x2c; // ,
    out.set(p.head, o); // TypedArray.set: a memcpy (Buffer.copy costs ≈ 0.5 µs a call here)
    o += p.head.length;
    if (p.tail !== null) {
      o += out.write(p.duration, o, "latin1");
      out.set(p.tail, o);
      o += p.tail.length;
    }
  }
  out[o++] = 0x5d; // ]
  out.write(suffix, o, "latin1");
  return out;
}

export function toPublicEvent(e: SessionEventRow) {
  return { id: e.id, at: iso(e.at)!, type: e.type, detail: e.detail ?? {} };
}
