// The database is the truth of what should exist. Times are epoch milliseconds.
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

const now = sql`(cast(unixepoch('subsec') * 1000 as integer))`;

export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  email: text("email").notNull().unique(),
  passwordHash: text("password_hash").notNull(),
  role: text("role", { enum: ["admin", "member", "viewer"] }).notNull(),
  createdAt: integer("created_at").notNull().default(now),
  updatedAt: integer("updated_at").notNull().default(now),
  disabledAt: integer("disabled_at"),
});

/** UI login sessions: only the SHA-256 of the cookie token is kept (id = hex digest). */
export const authSessions = sqliteTable(
  "auth_sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: integer("created_at").notNull().default(now),
    expiresAt: integer("expires_at").notNull(),
    lastSeenAt: integer("last_seen_at").notNull(),
    ip: text("ip"),
    userAgent: text("user_agent"),
  },
  (t) => [index("auth_sessions_user_idx").on(t.userId)],
);

/** API keys `bg_<id>_<secret>`: the id is public, only a hash of the secret is kept. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    role: text("role", { enum: ["admin", "member", "viewer"] }).notNull(),
    secretHash: text("secret_hash").notNull(),
    prefix: text("prefix").notNull(),
    createdAt: integer("created_at").notNull().default(now),
    lastUsedAt: integer("last_used_at"),
    expiresAt: integer("expires_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("api_keys_user_idx").on(t.userId)],
);

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull().default(now),
    actorType: text("actor_type").notNull(),
    actorId: text("actor_id"),
    action: text("action").notNull(),
    target: text("target"),
    ip: text("ip"),
    detail: text("detail", { mode: "json" }),
  },
  (t) => [index("audit_log_at_idx").on(t.at)],
);

export const pools = sqliteTable("pools", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  flavour: text("flavour", { enum: ["headless-shell", "chromium"] })
    .notNull()
    .default("headless-shell"),
  maxSessions: integer("max_sessions").notNull().default(10),
  minWarm: integer("min_warm").notNull().default(0),
  maxDurationSec: integer("max_duration_sec").notNull().default(3600),
  idleTimeoutSec: integer("idle_timeout_sec").notNull().default(300),
  queueTimeoutSec: integer("queue_timeout_sec").notNull().default(30),
  state: text("state", { enum: ["active", "paused", "draining"] })
    .notNull()
    .default("active"),
  createdAt: integer("created_at").notNull().default(now),
  viewportWidth: integer("viewport_width").notNull().default(1280),
  viewportHeight: integer("viewport_height").notNull().default(720),
  /** spread: least-loaded worker first; pack: fill the busiest worker that has a free slot. */
  placement: text("placement", { enum: ["spread", "pack"] })
    .notNull()
    .default("spread"),
  /** Warm browsers older than this are recycled. */
  warmMaxAgeSec: integer("warm_max_age_sec").notNull().default(1800),
  /** Egress allow-list: what this pool's browsers may reach past the guard (CIDR, ip[:port], host[:port], docker-host[:port]). */
  egressAllow: text("egress_allow", { mode: "json" }).$type<string[]>().notNull().default([]),
  /** The proxy sessions of this pool use unless they name one (proxies.id). */
  proxyId: text("proxy_id"),
  /** CPU limit of each browser container, in thousandths of a CPU (HostConfig.NanoCpus). */
  cpuMillis: integer("cpu_millis").notNull().default(1000),
  /** Size cap of each writable place of a browser (downloads, uploads), MiB; in memory, charged to the container's memory limit. */
  storageMb: integer("storage_mb").notNull().default(256),
});

export const workers = sqliteTable("workers", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** Serves every pool, including pools created later (worker_pools is ignored); else the pools in worker_pools. */
  allPools: integer("all_pools", { mode: "boolean" }).notNull().default(false),
  /** One endpoint is one worker: the unique index makes a second row impossible. */
  endpoint: text("endpoint").notNull().unique(),
  kind: text("kind", { enum: ["docker", "ssh", "local"] }).notNull(),
  capacity: integer("capacity").notNull().default(10),
  /** unhealthy: its engine answers but misses deadlines (stuck); offline: it cannot be reached. */
  status: text("status", { enum: ["online", "offline", "unhealthy", "draining"] })
    .notNull()
    .default("offline"),
  lastHeartbeatAt: integer("last_heartbeat_at"),
  labels: text("labels", { mode: "json" }).$type<Record<string, string>>(),
  createdAt: integer("created_at").notNull().default(now),
  /** SSH workers: pinned host key (SHA256:…) and the private key, AES-256-GCM under the install key. */
  hostKeyFingerprint: text("host_key_fingerprint"),
  sshKeyEncrypted: text("ssh_key_encrypted"),
  /** Set by DELETE: the row goes once its last session has ended. */
  removeRequestedAt: integer("remove_requested_at"),
  lastError: text("last_error"),
});

/**
 * The pools a worker serves when it does not serve all of them (workers.all_pools = 0). Deleting
 * a worker or a pool deletes its rows here: no relation outlives either end.
 */
export const workerPools = sqliteTable(
  "worker_pools",
  {
    workerId: text("worker_id")
      .notNull()
      .references(() => workers.id, { onDelete: "cascade" }),
    poolId: text("pool_id")
      .notNull()
      .references(() => pools.id, { onDelete: "cascade" }),
  },
  (t) => [primaryKey({ columns: [t.workerId, t.poolId] }), index("worker_pools_pool_idx").on(t.poolId)],
);

/**
 * Browsers started ahead of requests. Not sessions (they never appear in the sessions API);
 * claiming one deletes its row and inserts the session in one transaction. Their containers
 * carry `browsergrid.warm=<id>` and `browsergrid.session=<id of this row>`.
 */
export const warmBrowsers = sqliteTable(
  "warm_browsers",
  {
    id: text("id").primaryKey(),
    poolId: text("pool_id")
      .notNull()
      .references(() => pools.id, { onDelete: "cascade" }),
    workerId: text("worker_id")
      .notNull()
      .references(() => workers.id, { onDelete: "cascade" }),
    status: text("status", { enum: ["starting", "ready"] }).notNull(),
    containerId: text("container_id"),
    cdpEndpoint: text("cdp_endpoint"),
    /** The browser settings it was started with (flavour, viewport): a claim must match. */
    config: text("config", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    createdAt: integer("created_at").notNull().default(now),
    readyAt: integer("ready_at"),
  },
  (t) => [index("warm_browsers_pool_idx").on(t.poolId, t.status, t.readyAt)],
);

export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    poolId: text("pool_id")
      .notNull()
      .references(() => pools.id),
    workerId: text("worker_id").references(() => workers.id),
    ownerType: text("owner_type").notNull(),
    ownerId: text("owner_id"),
    status: text("status", {
      enum: ["queued", "starting", "running", "paused", "stopping", "completed", "failed", "timed_out", "crashed"],
    }).notNull(),
    containerId: text("container_id"),
    /** host:port where the gateway reaches Chromium's DevTools (container network). */
    cdpEndpoint: text("cdp_endpoint"),
    connectTokenHash: text("connect_token_hash"),
    config: text("config", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    keepAlive: integer("keep_alive", { mode: "boolean" }).notNull().default(false),
    ephemeral: integer("ephemeral", { mode: "boolean" }).notNull().default(false),
    timeoutSec: integer("timeout_sec").notNull(),
    idleTimeoutSec: integer("idle_timeout_sec").notNull(),
    endReason: text("end_reason"),
    createdAt: integer("created_at").notNull().default(now),
    startedAt: integer("started_at"),
    expiresAt: integer("expires_at"),
    endedAt: integer("ended_at"),
    /** Bytes through the session's proxy (client → site, site → client), counted by the proxy relay. */
    bytesSent: integer("bytes_sent").notNull().default(0),
    bytesReceived: integer("bytes_received").notNull().default(0),
  },
  (t) => [index("sessions_status_idx").on(t.status), index("sessions_pool_idx").on(t.poolId, t.status)],
);

export const sessionEvents = sqliteTable(
  "session_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    at: integer("at").notNull().default(now),
    type: text("type").notNull(),
    detail: text("detail", { mode: "json" }).$type<Record<string, unknown>>(),
  },
  (t) => [index("session_events_session_idx").on(t.sessionId, t.id)],
);

export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value", { mode: "json" }).notNull(),
  updatedAt: integer("updated_at").notNull().default(now),
});

/** Persistent browser user-data-dirs. Their bytes live in storage/, one archive per version. */
export const profiles = sqliteTable("profiles", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  description: text("description").notNull().default(""),
  ownerType: text("owner_type").notNull(),
  ownerId: text("owner_id"),
  /** The version new sessions load; null while the profile is still empty. */
  currentVersion: integer("current_version"),
  /** Version numbers only grow: a restore or import adds a version, it never rewrites one. */
  nextVersion: integer("next_version").notNull().default(1),
  createdAt: integer("created_at").notNull().default(now),
  updatedAt: integer("updated_at").notNull().default(now),
  lastUsedAt: integer("last_used_at"),
});

export const profileVersions = sqliteTable(
  "profile_versions",
  {
    profileId: text("profile_id")
      .notNull()
      .references(() => profiles.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    /** storage/ key of the tar.gz and its SHA-256, checked on every read. */
    storageKey: text("storage_key").notNull(),
    sha256: text("sha256").notNull(),
    /** Compressed size (what is stored) and the sum of file sizes inside. */
    size: integer("size").notNull(),
    contentBytes: integer("content_bytes").notNull(),
    files: integer("files").notNull(),
    source: text("source", { enum: ["session", "save", "import", "restore"] }).notNull(),
    sessionId: text("session_id"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.profileId, t.version] })],
);

/**
 * One persisting session per profile. The lock is alive only while its session is live (not
 * terminal): a crash, a restart or a lost delete can never leave a profile locked for good.
 */
export const profileLocks = sqliteTable("profile_locks", {
  profileId: text("profile_id")
    .primaryKey()
    .references(() => profiles.id, { onDelete: "cascade" }),
  sessionId: text("session_id").notNull().unique(),
  acquiredAt: integer("acquired_at").notNull().default(now),
});

/** Files a session produced (screenshots, downloads, later recordings and run logs), in storage/. */
export const artifacts = sqliteTable(
  "artifacts",
  {
    id: text("id").primaryKey(),
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: ["screenshot", "download", "recording", "log", "output"] }).notNull(),
    name: text("name").notNull(),
    contentType: text("content_type").notNull(),
    size: integer("size").notNull(),
    sha256: text("sha256").notNull(),
    storageKey: text("storage_key").notNull(),
    /** Set for files a run wrote to its output dir (the session is the run's browser). */
    runId: text("run_id"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [index("artifacts_run_idx").on(t.runId), index("artifacts_session_idx").on(t.sessionId, t.createdAt), index("artifacts_created_idx").on(t.createdAt)],
);

/**
 * Bring-your-own proxies. The password is AES-256-GCM under the install key (secret-box.ts) and
 * never leaves the server: browsers talk to BrowserGrid's proxy relay, which adds it upstream.
 * `routes`: per-domain routing, first match wins: [{ domains: ["*.example.com"], via: "direct" | <proxy id> }].
 */
export const proxies = sqliteTable("proxies", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  scheme: text("scheme", { enum: ["http", "https", "socks5"] }).notNull(),
  host: text("host").notNull(),
  port: integer("port").notNull(),
  username: text("username"),
  passwordEncrypted: text("password_encrypted"),
  routes: text("routes", { mode: "json" }).$type<{ domains: string[]; via: string }[]>().notNull().default([]),
  createdAt: integer("created_at").notNull().default(now),
  updatedAt: integer("updated_at").notNull().default(now),
});

/** Stored network-interception rules. `version` grows with every change; old versions are kept. */
export const ruleSets = sqliteTable("rule_sets", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  description: text("description").notNull().default(""),
  version: integer("version").notNull().default(1),
  rules: text("rules", { mode: "json" }).$type<Record<string, unknown>[]>().notNull(),
  createdAt: integer("created_at").notNull().default(now),
  updatedAt: integer("updated_at").notNull().default(now),
});

export const ruleSetVersions = sqliteTable(
  "rule_set_versions",
  {
    ruleSetId: text("rule_set_id")
      .notNull()
      .references(() => ruleSets.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    rules: text("rules", { mode: "json" }).$type<Record<string, unknown>[]>().notNull(),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.ruleSetId, t.version] })],
);

/**
 * Deployments: named automation code. Each upload is a new immutable version (its bundle a
 * normalised tar.gz in the blob store); `currentVersion` is what a run takes unless it names one
 * (pin or roll back by changing it).
 */
export const deployments = sqliteTable("deployments", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  currentVersion: integer("current_version"),
  createdBy: text("created_by"),
  createdAt: integer("created_at").notNull().default(now),
  updatedAt: integer("updated_at").notNull().default(now),
});

export const deploymentVersions = sqliteTable(
  "deployment_versions",
  {
    deploymentId: text("deployment_id")
      .notNull()
      .references(() => deployments.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    /** The validated browsergrid.json. */
    manifest: text("manifest", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    bundleKey: text("bundle_key").notNull(),
    bundleSha256: text("bundle_sha256").notNull(),
    bundleSize: integer("bundle_size").notNull(),
    /** Files in the bundle (after unpacking) and their total size, for the UI. */
    fileCount: integer("file_count").notNull(),
    unpackedBytes: integer("unpacked_bytes").notNull(),
    createdBy: text("created_by"),
    createdAt: integer("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.deploymentId, t.version] })],
);

/** Secrets of a deployment, given to its runs as environment variables; AES-256-GCM under the install key. */
export const deploymentSecrets = sqliteTable(
  "deployment_secrets",
  {
    deploymentId: text("deployment_id")
      .notNull()
      .references(() => deployments.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    valueEncrypted: text("value_encrypted").notNull(),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.deploymentId, t.name] })],
);

export const RUN_TERMINAL = ["succeeded", "failed", "timed_out", "cancelled"] as const;

/**
 * One run of a deployment version: queued until its deployment's concurrency allows it, then
 * each attempt takes a browser session and a runner container beside it. `result` is the
 * parsed result.json; the log is a blob (`logKey`).
 */
export const runs = sqliteTable(
  "runs",
  {
    id: text("id").primaryKey(),
    deploymentId: text("deployment_id")
      .notNull()
      .references(() => deployments.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    status: text("status", { enum: ["queued", "running", "succeeded", "failed", "timed_out", "cancelled"] }).notNull(),
    params: text("params", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    trigger: text("trigger", { enum: ["api", "ui", "schedule", "rerun", "cli"] }).notNull(),
    scheduleId: text("schedule_id"),
    /** The run this one re-runs (same params). */
    rerunOf: text("rerun_of"),
    attempt: integer("attempt").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull().default(1),
    /** When the next attempt may start (retry backoff). */
    notBefore: integer("not_before"),
    sessionId: text("session_id"),
    workerId: text("worker_id"),
    runnerHandle: text("runner_handle"),
    /** SHA-256 of the run-scoped API token the code gets (valid while the run is not terminal). */
    tokenHash: text("token_hash"),
    exitCode: integer("exit_code"),
    result: text("result", { mode: "json" }).$type<unknown>(),
    error: text("error"),
    logKey: text("log_key"),
    createdBy: text("created_by"),
    createdAt: integer("created_at").notNull().default(now),
    startedAt: integer("started_at"),
    endedAt: integer("ended_at"),
    durationMs: integer("duration_ms"),
  },
  (t) => [
    index("runs_deployment_idx").on(t.deploymentId, t.createdAt),
    index("runs_status_idx").on(t.status),
    index("runs_schedule_idx").on(t.scheduleId, t.createdAt),
  ],
);

export const runEvents = sqliteTable(
  "run_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    runId: text("run_id")
      .notNull()
      .references(() => runs.id, { onDelete: "cascade" }),
    type: text("type").notNull(),
    detail: text("detail", { mode: "json" }).$type<Record<string, unknown>>(),
    at: integer("at").notNull().default(now),
  },
  (t) => [index("run_events_run_idx").on(t.runId, t.id)],
);

/**
 * Cron schedules (croner syntax, seconds allowed) of a deployment. `lastFireAt` is the scheduled
 * time of the last tick that was acted on (persisted before the run is queued), so a restart
 * neither fires a tick twice nor loses one: ticks after it and before now are missed, and
 * `catchUp` (how many of them to run, 0 or 1) decides what happens to them.
 */
export const schedules = sqliteTable(
  "schedules",
  {
    id: text("id").primaryKey(),
    deploymentId: text("deployment_id")
      .notNull()
      .references(() => deployments.id, { onDelete: "cascade" }),
    cron: text("cron").notNull(),
    timezone: text("timezone").notNull().default("UTC"),
    params: text("params", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    overlap: text("overlap", { enum: ["skip", "queue", "allow"] }).notNull().default("skip"),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    catchUp: integer("catch_up").notNull().default(1),
    lastFireAt: integer("last_fire_at"),
    createdBy: text("created_by"),
    createdAt: integer("created_at").notNull().default(now),
    updatedAt: integer("updated_at").notNull().default(now),
  },
  (t) => [index("schedules_deployment_idx").on(t.deploymentId)],
);

export const SESSION_TERMINAL = ["completed", "failed", "timed_out", "crashed"] as const;
export type SessionStatus = (typeof sessions.$inferSelect)["status"];
export type Role = (typeof users.$inferSelect)["role"];
