// Request and response schemas of the workers API, with limits; unknown fields are refused.
import { t } from "elysia";
import { strictObject } from "../../http/strict-object";
import { MAX_CAPACITY } from "./workers.service";
import { MAX_WORKER_POOLS } from "./worker-pools";

const POOLS_MEANING = '"all": every pool, pools created later included; or the names of the pools it serves (at least one: to stop sending it sessions, drain it).';

/** What a worker serves, in requests and responses. */
const pools = (more = "") =>
  t.Union([t.Literal("all"), t.Array(t.String({ minLength: 1, maxLength: 63 }), { minItems: 1, maxItems: MAX_WORKER_POOLS, uniqueItems: true })], { description: `${POOLS_MEANING}${more}` });
const servedPools = t.Union([t.Literal("all"), t.Array(t.String())], { description: '"all", or the names of the pools it serves' });

const Labels = t.Record(t.String({ maxLength: 63 }), t.String({ maxLength: 128 }), { maxProperties: 16 });

export const AddWorkerBody = strictObject({
  endpoint: t.String({ minLength: 1, maxLength: 300, description: "unix:///var/run/docker.sock, ssh://user@host[:port] or local" }),
  name: t.Optional(t.String({ minLength: 1, maxLength: 63, pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]*$" })),
  pools: t.Optional(pools(' Default: "all" for the local Docker engine (unix://), ["default"] otherwise.')),
  pool: t.Optional(t.String({ minLength: 1, maxLength: 63, description: 'Deprecated: one pool name, the same as "pools": [name]. Give "pools" or "pool", not both.' })),
  capacity: t.Optional(t.Integer({ minimum: 1, maximum: MAX_CAPACITY, description: "Browsers this worker runs at once" })),
  labels: t.Optional(Labels),
  sshPrivateKey: t.Optional(t.String({ minLength: 1, maxLength: 16_384, description: "ssh:// only: private key (OpenSSH/PEM, no passphrase); stored encrypted" })),
  hostKeyFingerprint: t.Optional(
    t.String({ maxLength: 60, description: "ssh:// only: expected SHA256:… host key; without it the key presented now is pinned (shown in the response)" }),
  ),
});

export const UpdateWorkerBody = strictObject({
  name: t.Optional(t.String({ minLength: 1, maxLength: 63, pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]*$" })),
  capacity: t.Optional(t.Integer({ minimum: 1, maximum: MAX_CAPACITY })),
  labels: t.Optional(Labels),
  pools: t.Optional(pools(" Replaces what it served; its warm browsers of pools it no longer serves are stopped, running sessions finish.")),
});

export const WorkerParams = t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) });
export const ListWorkersQuery = strictObject({ pool: t.Optional(t.String({ maxLength: 63, description: "Only the workers serving this pool (those serving all pools included)" })) });

export const WorkerResponse = t.Object({
  id: t.String(),
  name: t.String(),
  pools: servedPools,
  pool: t.Nullable(t.String({ description: 'Deprecated: the pool when the worker serves exactly one, else null; read "pools"' })),
  endpoint: t.String(),
  kind: t.String(),
  capacity: t.Number(),
  load: t.Number({ description: "Slots in use over all the pools it serves (sessions and warm browsers); at most capacity" }),
  labels: t.Record(t.String(), t.String()),
  status: t.String({
    description:
      "online; offline (cannot be reached); unhealthy (its engine answers but misses deadlines: a stuck Docker engine; lastError says which call; no browsers are placed here until it answers again); draining",
  }),
  removing: t.Boolean({ description: "DELETE asked; the row goes when the last session ends" }),
  lastHeartbeatAt: t.Nullable(t.String()),
  lastError: t.Nullable(t.String()),
  hostKeyFingerprint: t.Nullable(t.String()),
  egressGuard: t.Object(
    {
      state: t.String({ description: "ok: verified; missing: sessions here are refused (reason says why); off: BROWSERGRID_EGRESS_GUARD=off" }),
      reason: t.Nullable(t.String()),
      verifiedAt: t.Nullable(t.String()),
    },
    { description: "The nftables egress guard below this worker's browsers" },
  ),
  engineTimeouts: t.Record(t.String(), t.Number(), {
    description: "Docker engine calls to this worker that passed their deadline since BrowserGrid started, per call kind (inspect, remove, network, …; BROWSERGRID_ENGINE_TIMEOUT_MS); empty for local-process workers",
  }),
  createdAt: t.String(),
});
