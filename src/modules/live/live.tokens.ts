// Shareable live-view links: /live/<sessionId>?t=<sig>&exp=<unix seconds>&mode=view|control.
//
// The signature is an HMAC under the install key over the session id, the expiry and the
// mode, so a link cannot be stretched in time, moved to another session or upgraded from
// watching to controlling. Links need no account — that is their point — so they are
// short-lived by default, capped at a week, and die with the session (only running
// sessions stream). Anyone holding a control link can click and type in the browser: only
// members and above may mint one.
import { memoHmac } from "../../security/install-key";
import { safeEqual } from "../../lib/ids";

export type LiveMode = "view" | "control";

export const DEFAULT_LIVE_TTL_SEC = 3600;
export const MAX_LIVE_TTL_SEC = 7 * 24 * 3600;

export interface LiveGrant {
  sessionId: string;
  mode: LiveMode;
  /** Unix seconds. */
  exp: number;
}

// Every API read of a running session signs its watch link; the expiry moves only every 5 minutes.
function signature(installKey: Buffer, g: LiveGrant): string {
  return memoHmac(installKey, `live:${g.sessionId}:${g.exp}:${g.mode}`);
}

/** The query string of a signed link (t, exp, mode). */
export function liveQuery(installKey: Buffer, g: LiveGrant): string {
  return `t=${signature(installKey, g)}&exp=${g.exp}&mode=${g.mode}`;
}

/** The expiry (unix seconds) of a link minted at `nowMs` for `ttlSec`: clamped, rounded up to 5 minutes. */
export function liveExpiry(nowMs: number, ttlSec = DEFAULT_LIVE_TTL_SEC): number {
  const ttl = Math.min(Math.max(60, Math.floor(ttlSec)), MAX_LIVE_TTL_SEC);
  return Math.ceil((nowMs / 1000 + ttl) / 300) * 300;
}

/**
 * A signed link expiring `ttlSec` from `nowMs`, rounded up to the next 5 minutes so the URL
 * stays the same across reads for a while (the API returns it on every GET).
 */
export function signedLiveUrl(publicUrl: string, installKey: Buffer, sessionId: string, mode: LiveMode, ttlSec = DEFAULT_LIVE_TTL_SEC, nowMs = Date.now()): { url: string; exp: number } {
  const exp = liveExpiry(nowMs, ttlSec);
  return { url: `${publicUrl.replace(/\/$/, "")}/live/${sessionId}?${liveQuery(installKey, { sessionId, mode, exp })}`, exp };
}

/** The grant a link's query carries, or null when it is forged, altered or expired. */
export function verifyLiveQuery(installKey: Buffer, sessionId: string, q: { t?: string; exp?: string; mode?: string }, nowMs = Date.now()): LiveGrant | null {
  if (!q.t || !q.exp || !/^\d{1,12}$/.test(q.exp) || (q.mode !== "view" && q.mode !== "control")) return null;
  const g: LiveGrant = { sessionId, mode: q.mode, exp: Number(q.exp) };
  if (g.exp * 1000 <= nowMs || g.exp * 1000 > nowMs + MAX_LIVE_TTL_SEC * 1000 + 300_000) return null;
  return safeEqual(signature(installKey, g), q.t) ? g : null;
}
