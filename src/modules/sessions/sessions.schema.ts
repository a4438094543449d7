// Request and response schemas of the sessions API, with limits: every string has a maximum
// length, unknown fields are rejected, metadata is small.
import { t } from "elysia";
import { strictObject, oneOf, wholeNumber } from "../../http/strict-object";

/** Every session status, in lifecycle order. */
export const SESSION_STATUSES = ["queued", "starting", "running", "paused", "stopping", "completed", "failed", "timed_out", "crashed"] as const;

export const MAX_METADATA_BYTES = 8 * 1024;

export const CreateSessionBody = strictObject(
  {
    pool: t.Optional(t.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$", description: "Pool name (default: \"default\")" })),
    browser: t.Optional(t.Union([t.Literal("headless-shell"), t.Literal("chromium")], { description: "Browser flavour; defaults to the pool's" })),
    viewport: t.Optional(
      strictObject(
        { width: t.Integer({ minimum: 200, maximum: 7680 }), height: t.Integer({ minimum: 200, maximum: 4320 }) },
      ),
    ),
    userAgent: t.Optional(t.String({ minLength: 1, maxLength: 512 })),
    locale: t.Optional(t.String({ minLength: 2, maxLength: 35, pattern: "^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$", description: "BCP 47, e.g. en-US" })),
    timezone: t.Optional(t.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$", description: "IANA zone, e.g. Europe/Paris" })),
    profile: t.Optional(
      strictObject(
        { id: t.Optional(t.String({ maxLength: 64 })), name: t.Optional(t.String({ maxLength: 64 })), persist: t.Optional(t.Boolean()) },
      ),
    ),
    proxy: t.Optional(t.Union([t.String({ maxLength: 2048 }), t.Null(), t.Object({}, { additionalProperties: true })], { description: "A stored proxy's name or id (GET /api/v1/proxies); null: no proxy, even when the pool has a default" })),
    ruleSets: t.Optional(t.Array(t.String({ maxLength: 128 }), { maxItems: 20, description: "Rule set names or ids (built-in: preset:ads, preset:bandwidth, …), applied in order" })),
    timeoutSec: t.Optional(t.Integer({ minimum: 1, maximum: 7 * 24 * 3600, description: "Hard maximum duration" })),
    idleTimeoutSec: t.Optional(t.Integer({ minimum: 1, maximum: 24 * 3600, description: "Ends the session after this long with no client connected" })),
    keepAlive: t.Optional(t.Boolean({ description: "Survive client disconnects until the idle timeout" })),
    metadata: t.Optional(t.Record(t.String({ maxLength: 64 }), t.Unknown(), { maxProperties: 32, description: `Your own key/values, at most ${MAX_METADATA_BYTES} bytes as JSON` })),
  },
);

export const SessionResponse = t.Object({
  id: t.String(),
  status: oneOf(SESSION_STATUSES),
  pool: t.String(),
  worker: t.Nullable(t.String()),
  cdpUrl: t.Nullable(
    t.String({
      description:
        "ws(s)://…/cdp/<id>?token=… — scoped to this session, dead when it ends. Given only to the session's owner and to admins: null for everyone else (viewers, viewer-role keys) and once the session has ended.",
    }),
  ),
  liveUrl: t.Nullable(
    t.String({
      description:
        "A signed watch-only live-view link (1 h, no account needed to open it) while the session runs. Given only to the session's owner and to admins: null for everyone else.",
    }),
  ),
  createdAt: t.String(),
  startedAt: t.Nullable(t.String()),
  expiresAt: t.Nullable(t.String()),
  endedAt: t.Nullable(t.String()),
  durationMs: t.Nullable(t.Number()),
  endReason: t.Nullable(t.String()),
  keepAlive: t.Boolean(),
  timeoutSec: t.Number(),
  idleTimeoutSec: t.Number(),
  config: t.Record(t.String(), t.Unknown()),
  metadata: t.Record(t.String(), t.Unknown()),
  network: t.Object({
    bytesSent: t.Number({ description: "Bytes from the browser to sites through the proxy relay (0 without a proxy)" }),
    bytesReceived: t.Number({ description: "Bytes from sites to the browser through the proxy relay" }),
  }),
});

/** The list's query limits, also read by its fast path (sessions.routes.ts, listQueryOf). */
export const LIST_LIMITS = { poolMaxLength: 64, limitMax: 500, cursorMaxLength: 128 } as const;

export const ListSessionsQuery = strictObject(
  {
    status: t.Optional(oneOf(SESSION_STATUSES)),
    pool: t.Optional(t.String({ maxLength: LIST_LIMITS.poolMaxLength })),
    limit: t.Optional(wholeNumber("limit", 1, LIST_LIMITS.limitMax)),
    cursor: t.Optional(t.String({ maxLength: LIST_LIMITS.cursorMaxLength })),
  },
);

export const SessionParams = t.Object({ id: t.String({ maxLength: 64 }) });

export const SessionEvent = t.Object({ id: t.Number(), at: t.String(), type: t.String(), detail: t.Record(t.String(), t.Unknown()) });
