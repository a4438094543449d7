// The gateway's contract with the session layer. The gateway knows nothing of the database or
// Docker: it asks these hooks who may connect and where the browser is, and tells them how many
// clients each session has and when traffic flowed.
import type { Logger } from "../lib/logger";
import type { FinishedDownload } from "./download-events";

/** Where a session's browser answers CDP (Chromium's debugging port, reachable from here). */
export interface CdpTarget {
  sessionId: string;
  cdp: { host: string; port: number };
}

export interface GatewayHooks {
  /**
   * `/cdp/<id>?token=…`: verify the session connect token (hash and session state).
   * null → 401. Throw a DomainError (e.g. NotFound → 404) to refuse with its status.
   */
  authorize(sessionId: string, token: string): Promise<CdpTarget | null>;
  /**
   * `/connect?token=<api key>&…`: authenticate the API key and create an ephemeral session
   * (may wait in the pool's queue). `params` is the query without `token`. Throw a DomainError
   * to refuse with its status. Called only when a WebSocket is being opened.
   */
  quickConnect(apiKey: string, params: URLSearchParams, req: Request): Promise<CdpTarget>;
  /**
   * Optional: checks an API key for `GET /connect/json/version` without creating a session,
   * so a bad key fails early. Without it that route answers for any key.
   */
  verifyApiKey?(apiKey: string): Promise<boolean>;
  /**
   * Optional: the id of the live session whose connect token this is, else null. Lets the root
   * `/json/version?token=<session token>` (chromedp given a cdpUrl) answer for that session.
   */
  sessionForToken?(token: string): string | null;
  /** Client count of a session after every change (ends ephemeral sessions, idle timers). */
  onClientsChanged(sessionId: string, count: number): void;
  /** At most once per activity interval (1 s) per session while messages flow. */
  onActivity(sessionId: string): void;
  /**
   * Answers a `BrowserGrid.*` command. Returns the CDP `result` object; throw a CdpError (or any
   * error) for a CDP error reply. A feature that is off should return `{ error }` in the result.
   */
  handleDomainCommand(sessionId: string, method: string, params: unknown): Promise<unknown>;
  /** Optional: a client allowed downloads on this session (they land in the browser's downloads directory). */
  onDownloadsEnabled?(sessionId: string): void;
  /**
   * Optional: the browser finished a download that a client of this session heard of (its file
   * is `download.name` in the downloads directory). Called before that client gets the event;
   * once per connection that heard it, so several clients may report the same download.
   */
  onDownloadFinished?(sessionId: string, download: FinishedDownload): void;
}

/** Thrown by handleDomainCommand to answer with a CDP error of this code. */
export class CdpError extends Error {
  constructor(
    message: string,
    readonly code = -32601,
  ) {
    super(message);
  }
}

export interface GatewayOptions {
  hooks: GatewayHooks;
  /** Base put into URLs handed out (BROWSERGRID_PUBLIC_URL); default: the request's own host. */
  publicUrl?: string;
  logger?: Logger;
  /** Largest message either way (client→browser is Bun's maxPayloadLength). Default 256 MiB. */
  maxMessageBytes?: number;
  /** Pause reading the browser when this much is queued for a slow client. Default 32 MiB. */
  clientHighWaterBytes?: number;
  /** Resume reading the browser below this. Default 8 MiB. */
  clientLowWaterBytes?: number;
  /** Pause reading the client when this much is queued for a slow browser. Default 4 MiB. */
  browserHighWaterBytes?: number;
  /** Close the client (1013) past this much queued for the browser. Default maxMessageBytes + 16 MiB. */
  browserQueueCapBytes?: number;
  /** Connect + WebSocket handshake to the browser. Default 10 s. */
  upstreamTimeoutMs?: number;
  /** Client WebSocket idle timeout in seconds (pings are sent before it). Default 120. */
  idleTimeoutSec?: number;
  /** onActivity granularity. Default 1000 ms. */
  activityIntervalMs?: number;
}

export interface ClientStats {
  sessionId: string;
  /** Bytes queued by the WebSocket for the client (Bun's buffer). */
  bufferedToClient: number;
  /** Bytes waiting for the browser socket to drain. */
  queuedToBrowser: number;
  /** Bytes of an incomplete message from the browser held by the frame reader. */
  heldFromBrowser: number;
  /** Reading from the browser is paused because the client is slow. */
  browserReadPaused: boolean;
  /** Reading from the client is paused because the browser is slow. */
  clientReadPaused: boolean;
}

export interface GatewayStats {
  sessions: number;
  clients: number;
  /** Connections between authorization and an open client WebSocket. */
  connecting: number;
  messagesToClients: number;
  messagesToBrowsers: number;
  domainCommands: number;
  refusedCommands: number;
  connectionsOpened: number;
  upstreamFailures: number;
  perClient: ClientStats[];
}
