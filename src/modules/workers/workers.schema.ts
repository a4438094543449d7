// Request and response schemas of the workers API, with limits; unknown fields are refused.
import { t } from "elysia";
import { strictObject } from "../../http/strict-object";
import { MAX_CAPACITY } from "./workers.service";

const Labels = t.Record(t.String({ maxLength: 63 }), t.String({ maxLength: 128 }), { maxProperties: 16 });

export const AddWorkerBody = strictObject({
  endpoint: t.String({ minLength: 1, maxLength: 300, description: "unix:///var/run/docker.sock, ssh://user@host[:port] or local" }),
  name: t.Optional(t.String({ minLength: 1, maxLength: 63, pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]*$" })),
  pool: t.Optional(t.String({ minLength: 1, maxLength: 63, description: 'Pool name (default: "default")' })),
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
});

export const WorkerParams = t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) });
export const ListWorkersQuery = strictObject({ pool: t.Optional(t.String({ maxLength: 63 })) });

export const WorkerResponse = t.Object({
  id: t.String(),
  name: t.String(),
  pool: t.String(),
  endpoint: t.String(),
  kind: t.String(),
  capacity: t.Number(),
  load: t.Number({ description: "Slots in use (sessions and warm browsers)" }),
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
