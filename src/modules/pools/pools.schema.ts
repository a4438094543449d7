// Request and response schemas of the pools API, with limits; unknown fields are refused.
import { t } from "elysia";
import { strictObject } from "../../http/strict-object";
import { POOL_CPU_LIMITS, POOL_LIMITS } from "./pools.service";
import { ALLOW_FORMS, MAX_ALLOW_ENTRIES, MAX_ALLOW_ENTRY_LENGTH } from "../../security/egress/allow-list";

const lim = (k: keyof typeof POOL_LIMITS, description: string) => t.Integer({ minimum: POOL_LIMITS[k][0], maximum: POOL_LIMITS[k][1], description });

const fields = {
  flavour: t.Optional(t.Union([t.Literal("headless-shell"), t.Literal("chromium")], { description: "Browser image flavour of new sessions" })),
  viewport: t.Optional(strictObject({ width: t.Integer({ minimum: 200, maximum: 7680 }), height: t.Integer({ minimum: 200, maximum: 4320 }) })),
  maxSessions: t.Optional(lim("maxSessions", "Sessions (and warm browsers) the pool runs at once")),
  minWarm: t.Optional(lim("minWarm", "Browsers kept started ahead (≤ maxSessions)")),
  maxDurationSec: t.Optional(lim("maxDurationSec", "Hard limit of a session's duration")),
  idleTimeoutSec: t.Optional(lim("idleTimeoutSec", "Default idle timeout")),
  queueTimeoutSec: t.Optional(lim("queueTimeoutSec", "How long a request waits for a slot before 429")),
  warmMaxAgeSec: t.Optional(lim("warmMaxAgeSec", "Warm browsers older than this are replaced")),
  placement: t.Optional(t.Union([t.Literal("spread"), t.Literal("pack")], { description: "spread: least-loaded worker; pack: fill one worker first" })),
  state: t.Optional(t.Union([t.Literal("active"), t.Literal("paused"), t.Literal("draining")], { description: "paused/draining: no new sessions" })),
  proxy: t.Optional(t.Nullable(t.String({ minLength: 1, maxLength: 64, description: "Default proxy (name or id, GET /api/v1/proxies) of sessions that name none; null: no default" }))),
  cpus: t.Optional(
    t.Number({
      minimum: POOL_CPU_LIMITS.min,
      maximum: POOL_CPU_LIMITS.max,
      description: "CPU limit of each browser container, in CPUs (up to three decimals; default 1): one session cannot take every core",
    }),
  ),
  storageMb: t.Optional(
    lim(
      "storageMb",
      "Size cap, MiB, of each writable place of a browser (downloads, uploads; default 256). In memory, counted against the container's 1 GiB memory limit: a download or upload past it fails.",
    ),
  ),
  egressAllow: t.Optional(
    t.Array(t.String({ maxLength: MAX_ALLOW_ENTRY_LENGTH }), {
      maxItems: MAX_ALLOW_ENTRIES,
      description: `Private destinations this pool's browsers may reach despite the egress guard: ${ALLOW_FORMS}. Replaces the whole list; names are resolved when the rules are applied.`,
    }),
  ),
};

export const CreatePoolBody = strictObject({
  name: t.String({ minLength: 1, maxLength: 63, pattern: "^[a-z0-9][a-z0-9_-]*$", description: "Lowercase letters, digits, - and _" }),
  ...fields,
});

export const UpdatePoolBody = strictObject(fields);

export const PoolParams = t.Object({ name: t.String({ minLength: 1, maxLength: 63 }) });

export const PoolResponse = t.Object({
  id: t.String(),
  name: t.String(),
  flavour: t.String(),
  viewport: t.Object({ width: t.Number(), height: t.Number() }),
  maxSessions: t.Number(),
  minWarm: t.Number(),
  maxDurationSec: t.Number(),
  idleTimeoutSec: t.Number(),
  queueTimeoutSec: t.Number(),
  warmMaxAgeSec: t.Number(),
  placement: t.String(),
  state: t.String(),
  proxy: t.Nullable(t.String({ description: "Name of the default proxy of this pool's sessions" })),
  cpus: t.Number({ description: "CPU limit of each browser container, in CPUs" }),
  storageMb: t.Number({ description: "Size cap, MiB, of each writable place of a browser (downloads, uploads)" }),
  egressAllow: t.Array(t.String(), { description: "The pool's egress allow-list (BROWSERGRID_EGRESS_ALLOW applies too)" }),
  createdAt: t.String(),
  stats: t.Object({
    liveSessions: t.Number(),
    queued: t.Number({ description: "Requests waiting for a slot now" }),
    oldestQueuedMs: t.Number(),
    warm: t.Object({ ready: t.Number(), starting: t.Number() }),
    workers: t.Number({ description: 'Workers serving this pool (those serving "all" pools included)' }),
    onlineWorkers: t.Number(),
    onlineCapacity: t.Number({ description: "Capacity of the online workers serving it; a worker shared with other pools counts whole, its slots go to whichever pool takes them first" }),
  }),
});
