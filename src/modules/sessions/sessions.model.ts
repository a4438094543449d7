// The public shape of a session and its connect URL.
//
// The connect token is an HMAC of the session id under the install key: the gateway checks
// its SHA-256 against the stored digest, and the owner can read the cdpUrl again later
// without the token ever being stored in clear. It dies with the session, because the
// gateway only admits sessions that are running.
import type { SessionEventRow, SessionRow } from "./sessions.store";
import { memoHmac } from "../../security/install-key";
import { sha256Hex } from "../../lib/ids";
import { isTerminal } from "./sessions.store";
import type { Actor } from "../../http/context";
import { signedLiveUrl } from "../live/live.tokens";

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

export function toPublicSession(
  row: SessionRow,
  ctx: { publicUrl: string; installKey: Buffer; poolName: string; workerName: string | null; now?: number },
): PublicSession {
  const live = !isTerminal(row.status) && row.status !== "stopping";
  const end = row.endedAt ?? (row.startedAt ? (ctx.now ?? Date.now()) : null);
  return {
    id: row.id,
    status: row.status,
    pool: ctx.poolName,
    worker: ctx.workerName,
    cdpUrl: live ? cdpUrl(ctx.publicUrl, ctx.installKey, row.id) : null,
    // The owner's watch-only live link (1 h); /sessions/:id/share or BrowserGrid.liveURL mint others.
    liveUrl: row.status === "running" ? signedLiveUrl(ctx.publicUrl, ctx.installKey, row.id, "view", undefined, ctx.now).url : null,
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

export function toPublicEvent(e: SessionEventRow) {
  return { id: e.id, at: iso(e.at)!, type: e.type, detail: e.detail ?? {} };
}
