// The database is the truth of what should exist. Times are epoch milliseconds.
import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

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
});

export const workers = sqliteTable("workers", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  poolId: text("pool_id")
    .notNull()
    .references(() => pools.id),
  /** One endpoint is one worker: the unique index makes a second row impossible. */
  endpoint: text("endpoint").notNull().unique(),
  kind: text("kind", { enum: ["docker", "ssh", "local"] }).notNull(),
  capacity: integer("capacity").notNull().default(10),
  status: text("status", { enum: ["online", "offline", "draining"] })
    .notNull()
    .default("offline"),
  lastHeartbeatAt: integer("last_heartbeat_at"),
  labels: text("labels", { mode: "json" }).$type<Record<string, string>>(),
  createdAt: integer("created_at").notNull().default(now),
});

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

export const SESSION_TERMINAL = ["completed", "failed", "timed_out", "crashed"] as const;
export type SessionStatus = (typeof sessions.$inferSelect)["status"];
export type Role = (typeof users.$inferSelect)["role"];
