// What the session lifecycle asks of its collaborators (profiles, network, gateway, workers)
// and what a create request carries. Types only: the lifecycle (sessions.service.ts), the
// create pipeline (sessions.create.ts) and the gateway hooks (sessions.connect.ts) share them.
import type { BrowserFlavour, BrowserProvider, BrowserSpec } from "../../providers/provider";
import type { Pool } from "../pools/pools.service";
import type { SessionRow } from "./sessions.store";

export interface CreateSessionInput {
  pool?: string;
  browser?: BrowserFlavour;
  viewport?: { width: number; height: number };
  userAgent?: string;
  locale?: string;
  timezone?: string;
  timeoutSec?: number;
  idleTimeoutSec?: number;
  keepAlive?: boolean;
  metadata?: Record<string, unknown>;
  profile?: unknown;
  proxy?: unknown;
  ruleSets?: unknown[];
}

export interface Owner {
  type: string;
  id: string | null;
}

/** What the service needs from the gateway: closing a session's clients. */
export interface ClientCloser {
  closeSession(sessionId: string, code: number, reason: string): void;
}

/** What the service needs from BrowserGrid's own CDP links (src/cdp/session-links.ts): closing a session's link when it ends. */
export interface BrowserLinks {
  closeSession(sessionId: string): void;
}

export type { ProviderRegistry } from "../../providers/registry";

/** Profiles and artifacts around a session's life (src/modules/profiles/session-storage.ts). */
export interface SessionStorage {
  /** Resolves `profile` (taking its lock when it persists: 409 when held) and the archive to load. */
  prepareProfile(owner: Owner, sessionId: string, profile: unknown): Promise<PreparedProfile>;
  /** Before the session ends: saves a persisting profile on a normal end. Never throws. */
  beforeStop(row: SessionRow, status: EndStatus, provider: BrowserProvider | undefined): Promise<void>;
  /**
   * Copies the browser's downloads into artifacts; runs after the session has ended and before
   * its container is removed (readers of the session's artifacts wait for it). Never rejects.
   */
  collectFiles(row: SessionRow, provider: BrowserProvider | undefined): Promise<void>;
  /** After the terminal transition: the profile lock goes. */
  afterEnd(sessionId: string): void;
}

/** A resolved `profile` of a create request: its stored config, the archive to load, and its lock. */
export interface PreparedProfile {
  config: Record<string, unknown>;
  archive?: Uint8Array;
  release(): void;
}

/**
 * Network features around a session's life (src/modules/network/session-network.ts): the
 * egress guard's readiness, the session's proxy (through BrowserGrid's proxy relay) and its
 * rule sets (applied through BrowserGrid's own CDP connection).
 */
export interface SessionNetwork {
  /**
   * Validates `proxy` / `ruleSets` of a create request (4xx on bad input) and checks the pool's
   * egress guard (503 when missing: fail closed). Nothing is created yet.
   */
  prepare(owner: Owner, sessionId: string, pool: Pool, input: CreateSessionInput): Promise<PreparedNetwork>;
  /** A live session found after a restart: re-attach its relay registration and rule engine. Never throws. */
  resume(row: SessionRow, provider: BrowserProvider | undefined): Promise<void>;
  /** The session ended (any way): relay registration, byte counters and rule engine go. Never throws. */
  ended(sessionId: string): void;
}

export interface PreparedNetwork {
  /** Added to the session's stored config (what it runs with: proxy name, rule set versions). */
  config: Record<string, unknown>;
  /** Added to the browser spec (e.g. proxyServer). */
  spec: Partial<BrowserSpec>;
  /** The session cannot take a warm browser (its browser needs start flags). */
  cold: boolean;
  /** The browser answers CDP: register it (relay, rules) before the client gets the URL. Throws to fail the session. */
  started(row: SessionRow, provider: BrowserProvider): Promise<void>;
}

/** Where the gateway connects a client of a running session. */
export interface ConnectTarget {
  sessionId: string;
  cdp: { host: string; port: number };
}

export const CLOSE_CODES = { completed: 4001, timed_out: 4002, crashed: 4003, failed: 4004 } as const;

/** How a session can end. */
export type EndStatus = "completed" | "failed" | "timed_out" | "crashed";

/** The end reason of a session whose client gave up before it was ready (queued or starting). */
export const CLIENT_LEFT_REASON = "cancelled: the client gave up (closed its connection) before the session was ready";
