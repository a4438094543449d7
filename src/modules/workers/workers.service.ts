// Workers: places browsers run. One endpoint is one worker — endpoints are stored in one
// canonical spelling, the column is unique and every insert is an upsert on it, so repeated,
// concurrent or post-restart registration returns the row that exists instead of adding one.
// Removal drains first: the row goes when the worker's last session has ended. A worker serves
// every pool or a list of pools (worker-pools.ts).
import { and, eq, inArray, isNotNull, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { selectRows } from "../../db/fast-rows";
import { SESSION_TERMINAL, sessions, warmBrowsers, workers } from "../../db/schema";
import { BadRequest, NotFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { parseEndpoint } from "../../providers/endpoint";
import { seal } from "../../security/secret-box";
import { writeWorkerPools, type PoolSet } from "./worker-pools";

export type Worker = typeof workers.$inferSelect;

export const WORKER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_.\/-]{0,62}$/;
export const MAX_CAPACITY = 500;
export const SSH_KEY_PURPOSE = "ssh-private-key";

/**
 * Registers a worker unless its endpoint has one. It serves `pools` ("all" when neither `pools`
 * nor `poolId` is given; `poolId` is the one-pool shorthand).
 */
type NewWorker = { name: string; endpoint: string; kind: Worker["kind"]; capacity?: number; labels?: Record<string, string> | null; hostKeyFingerprint?: string | null; sshKeyEncrypted?: string | null };

/** Adds a worker with its pools in one transaction; undefined when its endpoint is already a worker (one endpoint, one worker). */
function insertWorker(db: Db, values: NewWorker, pools: PoolSet): Worker | undefined {
  return db.transaction((tx) => {
    const row = tx
      .insert(workers)
      .values({
        id: newId("wrk"),
        name: values.name,
        endpoint: values.endpoint,
        kind: values.kind,
        capacity: values.capacity ?? 10,
        labels: values.labels ?? null,
        hostKeyFingerprint: values.hostKeyFingerprint ?? null,
        sshKeyEncrypted: values.sshKeyEncrypted ?? null,
      })
      .onConflictDoNothing({ target: workers.endpoint })
      .returning()
      .get();
    if (row) writeWorkerPools(tx, row.id, pools);
    return row;
  });
}

export function registerWorker(
  db: Db,
  input: { name: string; poolId?: string; pools?: PoolSet; endpoint: string; kind: Worker["kind"]; capacity?: number; labels?: Record<string, string> | null; hostKeyFingerprint?: string | null; sshKeyEncrypted?: string | null },
): Worker {
  return insertWorker(db, input, input.pools ?? (input.poolId ? [input.poolId] : "all")) ?? findWorkerByEndpoint(db, input.endpoint)!;
}

export interface AddWorkerInput {
  name?: string;
  /** Pool ids, or "all" (worker-pools.ts resolvePoolNames). */
  pools: PoolSet;
  endpoint: string;
  capacity?: number;
  labels?: Record<string, string>;
  sshPrivateKey?: string;
  hostKeyFingerprint?: string;
}

/** Checks what can be checked without contacting the worker. Returns the canonical endpoint. */
export function validateWorkerInput(input: AddWorkerInput): { endpoint: ReturnType<typeof parseEndpoint>; name: string } {
  const endpoint = parseEndpoint(input.endpoint);
  const name = input.name ?? (endpoint.kind === "ssh" ? endpoint.host : endpoint.kind === "local" ? "local-process" : "local");
  if (!WORKER_NAME.test(name)) throw new BadRequest(`Worker name "${name.slice(0, 64)}" must be 1-63 letters, digits, ".", "-" or "_", starting with a letter or digit.`, "invalid_name");
  validateCapacity(input.capacity);
  validateLabels(input.labels);
  if (endpoint.kind === "ssh" && !input.sshPrivateKey) throw new BadRequest(`An ssh:// worker needs "sshPrivateKey" (an OpenSSH or PEM private key without passphrase).`, "ssh_key_required");
  if (endpoint.kind !== "ssh" && (input.sshPrivateKey || input.hostKeyFingerprint)) throw new BadRequest(`"sshPrivateKey" and "hostKeyFingerprint" are only for ssh:// endpoints.`);
  if (input.sshPrivateKey && !/^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(input.sshPrivateKey.trim())) throw new BadRequest(`"sshPrivateKey" is not a private key in OpenSSH or PEM format.`, "invalid_ssh_key");
  if (input.hostKeyFingerprint && !/^SHA256:[A-Za-z0-9+/]{43}$/.test(input.hostKeyFingerprint)) throw new BadRequest(`"hostKeyFingerprint" must look like SHA256:<43 base64 characters> (ssh-keygen -lf).`);
  return { endpoint, name };
}

export function validateCapacity(capacity: number | undefined): void {
  if (capacity !== undefined && (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY)) throw new BadRequest(`"capacity" must be a whole number from 1 to ${MAX_CAPACITY}.`);
}

export function validateLabels(labels: Record<string, string> | undefined): void {
  if (!labels) return;
  const entries = Object.entries(labels);
  if (entries.length > 16) throw new BadRequest("At most 16 labels.");
  for (const [k, v] of entries) {
    if (!LABEL_KEY.test(k)) throw new BadRequest(`Label key "${k.slice(0, 64)}" must be 1-63 letters, digits, ".", "/", "-" or "_".`);
    if (typeof v !== "string" || v.length > 128 || /[\x00-\x1f]/.test(v)) throw new BadRequest(`Label "${k}" must be at most 128 printable characters.`);
  }
}

/** Stores a checked worker (an upsert: an existing endpoint returns its row unchanged). */
export function storeWorker(db: Db, installKey: Buffer, input: AddWorkerInput, checked: { endpoint: ReturnType<typeof parseEndpoint>; name: string; fingerprint?: string }): { worker: Worker; created: boolean } {
  const sshKeyEncrypted = input.sshPrivateKey ? seal(installKey, SSH_KEY_PURPOSE, input.sshPrivateKey) : null;
  const inserted = insertWorker(
    db,
    { name: checked.name, endpoint: checked.endpoint.canonical, kind: checked.endpoint.kind, capacity: input.capacity, labels: input.labels, hostKeyFingerprint: checked.fingerprint, sshKeyEncrypted },
    input.pools,
  );
  if (inserted) return { worker: inserted, created: true };
  return { worker: findWorkerByEndpoint(db, checked.endpoint.canonical)!, created: false };
}

export function findWorkerByEndpoint(db: Db, endpoint: string): Worker | undefined {
  return db.select().from(workers).where(eq(workers.endpoint, endpoint)).get();
}

export function findWorker(db: Db, id: string): Worker | undefined {
  return db.select().from(workers).where(eq(workers.id, id)).get();
}

export function getWorker(db: Db, id: string): Worker {
  const w = findWorker(db, id);
  if (!w) throw new NotFound(`Worker ${id.slice(0, 64)}`);
  return w;
}

export function setWorkerStatus(db: Db, id: string, status: Worker["status"], lastError: string | null = null): void {
  db.update(workers).set({ status, lastHeartbeatAt: Date.now(), lastError }).where(eq(workers.id, id)).run();
}

/** Every worker, or (with `poolId`) the workers that serve that pool: those serving all pools and those listing it. */
export function listWorkers(db: Db, poolId?: string): Worker[] {
  // On every placement decision (a cached statement, not the builder).
  return poolId
    ? selectRows(db.$client, workers, "all_pools = 1 OR id IN (SELECT worker_id FROM worker_pools WHERE pool_id = ?)", [poolId], "ORDER BY created_at")
    : selectRows(db.$client, workers, "1", [], "ORDER BY created_at");
}

/** `pools`: what the worker serves from now on (resolved by worker-pools.ts resolvePoolNames). */
export function updateWorker(db: Db, id: string, input: { name?: string; capacity?: number; labels?: Record<string, string>; pools?: PoolSet }): Worker {
  if (input.name !== undefined && !WORKER_NAME.test(input.name)) throw new BadRequest(`Worker name "${input.name.slice(0, 64)}" must be 1-63 letters, digits, ".", "-" or "_".`, "invalid_name");
  validateCapacity(input.capacity);
  validateLabels(input.labels);
  if (input.pools !== undefined && input.pools !== "all" && input.pools.length === 0) throw new BadRequest('"pools" cannot be empty: a worker serves at least one pool (or "all"). To stop sending it sessions, drain it.', "no_pools");
  getWorker(db, id);
  const set: Partial<Worker> = {};
  if (input.name !== undefined) set.name = input.name;
  if (input.capacity !== undefined) set.capacity = input.capacity;
  if (input.labels !== undefined) set.labels = input.labels;
  db.transaction((tx) => {
    if (Object.keys(set).length) tx.update(workers).set(set).where(eq(workers.id, id)).run();
    if (input.pools !== undefined) writeWorkerPools(tx, id, input.pools);
  });
  return getWorker(db, id);
}

/** No new sessions go to a draining worker; running ones finish. */
export function drainWorker(db: Db, id: string): Worker {
  getWorker(db, id);
  db.update(workers).set({ status: "draining" }).where(eq(workers.id, id)).run();
  return getWorker(db, id);
}

/** Ends draining; the next heartbeat decides online or offline. */
export function resumeWorker(db: Db, id: string): Worker {
  const w = getWorker(db, id);
  if (w.removeRequestedAt) throw new BadRequest("This worker is being removed; add it again once it is gone.", "worker_removing");
  db.update(workers).set({ status: "offline" }).where(eq(workers.id, id)).run();
  return getWorker(db, id);
}

export function requestWorkerRemoval(db: Db, id: string): Worker {
  getWorker(db, id);
  db.update(workers).set({ status: "draining", removeRequestedAt: Date.now() }).where(eq(workers.id, id)).run();
  return getWorker(db, id);
}

export function liveSessionCount(db: Db, workerId: string): number {
  return db
    .select({ n: sql<number>`count(*)` })
    .from(sessions)
    .where(and(eq(sessions.workerId, workerId), sql`${sessions.status} NOT IN ${[...SESSION_TERMINAL]}`))
    .get()!.n;
}

/**
 * Deletes workers whose removal was asked and that have no live session left; their ended
 * sessions keep their history without the worker reference. Returns the removed rows.
 */
export function removeDrainedWorkers(db: Db): Worker[] {
  const removed: Worker[] = [];
  for (const w of db.select().from(workers).where(isNotNull(workers.removeRequestedAt)).all()) {
    const gone = db.transaction((tx) => {
      const live = tx
        .select({ n: sql<number>`count(*)` })
        .from(sessions)
        .where(and(eq(sessions.workerId, w.id), sql`${sessions.status} NOT IN ${[...SESSION_TERMINAL]}`))
        .get()!.n;
      if (live > 0) return false;
      // Warm browsers are stopped first (by the warm pool); never cascade them away unstopped.
      if (tx.select({ id: warmBrowsers.id }).from(warmBrowsers).where(eq(warmBrowsers.workerId, w.id)).get()) return false;
      tx.update(sessions).set({ workerId: null }).where(and(eq(sessions.workerId, w.id), inArray(sessions.status, [...SESSION_TERMINAL]))).run();
      tx.delete(workers).where(eq(workers.id, w.id)).run();
      return true;
    });
    if (gone) removed.push(w);
  }
  return removed;
}
