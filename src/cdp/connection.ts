// One client of a session: its WebSocket (Bun.serve) and its own upstream connection to
// Chromium (raw Bun.connect socket, own framing). Hot path per direction:
//   browser→client: TCP chunk → FrameReader (boundaries only) → ws.sendText, corked per chunk;
//   client→browser: string → encoded once into a reusable buffer behind a masked header → one write.
// Backpressure is per client both ways: a slow client pauses only its own upstream socket; a
// slow browser pauses reading that client's WebSocket. Memory per client stays bounded.
import type { ServerWebSocket, Socket, SocketHandler } from "bun";
import { DomainError } from "../lib/errors";
import type { Logger } from "../lib/logger";
import { FrameReader, MAX_CLIENT_HEADER, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, clientFrame, writeClientHeader, type FrameSink } from "./frames";
import { cdpError, cdpResult, interceptClientMessage } from "./intercept";
import { DownloadWatch, isDownloadEvent } from "./download-events";
import { checkHandshakeResponse, handshakeRequest } from "./upstream";
import { CdpError, type CdpTarget, type ClientStats, type GatewayHooks } from "./types";

export interface SessionEntry {
  readonly sessionId: string;
  readonly clients: Set<ClientConn>;
  readonly connecting: Set<ClientConn>;
  /** Set by traffic, read and cleared by the activity timer (no clock read per message). */
  active: boolean;
}

export interface Counters {
  messagesToClients: number;
  messagesToBrowsers: number;
  domainCommands: number;
  refusedCommands: number;
}

/** What a connection needs from the gateway that owns it. */
export interface ConnHost {
  readonly hooks: GatewayHooks;
  readonly log: Logger;
  readonly counters: Counters;
  readonly limits: {
    maxMessageBytes: number;
    clientHighWater: number;
    clientLowWater: number;
    browserHighWater: number;
    browserQueueCap: number;
  };
  attached(conn: ClientConn): void;
  detached(conn: ClientConn): void;
}

export class UpstreamConnectError extends Error {
  constructor(
    message: string,
    /** The handshake got an HTTP answer that was not 101 (e.g. a stale browser path). */
    readonly refused: boolean,
  ) {
    super(message);
  }
}

// Client→browser frames are built here: the message is encoded once behind room for the
// longest header, then written with one syscall. Reused across connections (single thread).
let scratch = Buffer.allocUnsafe(256 * 1024);
const BATCH_BYTES = 64 * 1024;

type State = "connecting" | "handshake" | "open" | "closed";

export class ClientConn implements FrameSink {
  ws: ServerWebSocket<ClientConn> | null = null;
  socket: Socket<ClientConn> | null = null;
  state: State = "connecting";
  private readonly reader: FrameReader;
  private hsHead = "";
  private hsAccept = "";
  private hsDone: { resolve: () => void; reject: (e: Error) => void } | null = null;
  /** Browser messages that arrived before the client WebSocket opened. */
  private early: { payload: Buffer; opcode: number }[] | null = null;
  private chunk: Buffer | null = null;
  private readonly corkedPush = () => this.reader.push(this.chunk!);
  private sendBlocked = false;
  private browserReadPaused = false;
  private clientReadPaused = false;
  private queue: Buffer[] = [];
  private queued = 0;
  private readonly downloads = new DownloadWatch();

  constructor(
    private readonly host: ConnHost,
    readonly entry: SessionEntry,
    readonly target: CdpTarget,
  ) {
    this.reader = new FrameReader(this, host.limits.maxMessageBytes);
  }

  get sessionId(): string {
    return this.entry.sessionId;
  }

  /** Opens the upstream socket and completes the WebSocket handshake on `path`. */
  async connectUpstream(path: string, timeoutMs: number): Promise<void> {
    const { host, port } = this.target.cdp;
    const done = Promise.withResolvers<void>();
    this.hsDone = done;
    const timer = setTimeout(() => done.reject(new UpstreamConnectError(`browser did not answer within ${timeoutMs} ms`, false)), timeoutMs);
    try {
      // The socket is also taken in the open handler, so one that connects after a timeout or
      // a cancel is closed there instead of leaking.
      const socket = await Promise.race([
        Bun.connect<ClientConn>({ hostname: host, port, data: this, socket: UPSTREAM_HANDLERS }),
        done.promise.then(() => null as never),
      ]).catch((err: Error) => {
        throw err instanceof UpstreamConnectError ? err : new UpstreamConnectError(`browser unreachable: ${err.message}`, false);
      });
      this.socket = socket;
      if (this.state === "closed") throw new UpstreamConnectError("connection cancelled", false);
      socket.setNoDelay(true);
      const hs = handshakeRequest(path, port);
      this.hsAccept = hs.accept;
      this.state = "handshake";
      socket.write(hs.request);
      await done.promise;
    } catch (err) {
      this.abort();
      throw err;
    } finally {
      clearTimeout(timer);
      this.hsDone = null;
    }
  }

  /** Set when the session was closed before the client WebSocket opened. */
  cancelled: { code: number; reason: string } | null = null;

  /** Drops a connection that never reached an open client WebSocket. */
  abort(cancel?: { code: number; reason: string }): void {
    if (cancel && !this.cancelled) this.cancelled = cancel;
    if (this.state === "closed") return;
    this.state = "closed";
    this.socket?.terminate();
    this.hsDone?.reject(new UpstreamConnectError("connection cancelled", false));
    this.host.detached(this);
  }

  // ── upstream socket events ──────────────────────────────────────────────────────────────

  onUpstreamData(chunk: Buffer): void {
    if (this.state === "handshake") return this.onHandshakeData(chunk);
    const ws = this.ws;
    if (ws === null) {
      this.reader.push(chunk);
      return;
    }
    this.chunk = chunk;
    ws.cork(this.corkedPush);
    this.chunk = null;
    if (this.sendBlocked) this.checkClientBackpressure(ws);
  }

  private onHandshakeData(chunk: Buffer): void {
    this.hsHead += chunk.toString("latin1");
    const end = this.hsHead.indexOf("\r\n\r\n");
    if (end < 0) {
      if (this.hsHead.length > 16 * 1024) this.hsDone?.reject(new UpstreamConnectError("browser handshake response too long", false));
      return;
    }
    const problem = checkHandshakeResponse(this.hsHead.slice(0, end + 2), this.hsAccept);
    if (problem) {
      this.hsDone?.reject(new UpstreamConnectError(problem, true));
      return;
    }
    const rest = Buffer.from(this.hsHead.slice(end + 4), "latin1");
    this.hsHead = "";
    this.state = "open";
    this.hsDone?.resolve();
    if (rest.length > 0) this.reader.push(rest);
  }

  onUpstreamDrain(): void {
    const socket = this.socket;
    if (socket === null) return;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const n = socket.write(head);
      if (n < 0) return;
      this.queued -= n;
      if (n < head.length) {
        this.queue[0] = head.subarray(n);
        return;
      }
      this.queue.shift();
    }
    if (this.clientReadPaused && this.ws !== null) {
      this.clientReadPaused = false;
      this.ws.resume();
    }
  }

  onUpstreamClosed(): void {
    if (this.state === "closed") return;
    const wasOpen = this.ws !== null;
    this.state = "closed";
    this.hsDone?.reject(new UpstreamConnectError("browser closed the connection during the handshake", false));
    if (wasOpen) this.ws!.close(1011, "browser connection closed");
    this.host.detached(this);
  }

  // ── frames from the browser (FrameSink) ─────────────────────────────────────────────────

  onMessage(payload: Buffer, opcode: number): void {
    const ws = this.ws;
    if (ws === null) {
      (this.early ??= []).push({ payload: Buffer.from(payload), opcode });
      return;
    }
    if (isDownloadEvent(payload) && !this.onDownloadEvent(payload)) return;
    this.host.counters.messagesToClients++;
    // CDP clients expect text frames; Bun sends text only from a string. Payloads are decoded
    // straight from the received bytes (ASCII fast path), never re-serialised.
    const status = opcode === OP_TEXT ? ws.sendText(payload.toString()) : ws.send(payload);
    if (status <= 0) {
      if (status === 0) return this.fail(1013, "client is not reading fast enough");
      this.sendBlocked = true;
    }
    this.entry.active = true;
  }

  /**
   * Tells the session layer of a finished download before the client hears of it (so a client
   * that lists artifacts after its download finished finds the copy under way); false when the
   * event is one the client did not ask for.
   */
  private onDownloadEvent(payload: Buffer): boolean {
    const seen = this.downloads.observe(payload);
    if (seen.finished) this.host.hooks.onDownloadFinished?.(this.sessionId, seen.finished);
    return seen.forward;
  }

  onControl(opcode: number, payload: Buffer): void {
    if (opcode === OP_PING) this.writeFrame(clientFrame(OP_PONG, payload));
    else if (opcode === OP_CLOSE) {
      this.socket?.end();
      this.onUpstreamClosed();
    }
  }

  onProtocolError(reason: string, closeCode: number): void {
    this.host.log.warn("browser connection broke the WebSocket protocol", { sessionId: this.sessionId, reason });
    this.fail(closeCode === 1009 ? 1009 : 1011, closeCode === 1009 ? "message from the browser too large" : "browser connection error");
  }

  private checkClientBackpressure(ws: ServerWebSocket<ClientConn>): void {
    this.sendBlocked = false;
    if (!this.browserReadPaused && ws.getBufferedAmount() > this.host.limits.clientHighWater) {
      this.browserReadPaused = true;
      this.socket?.pause();
    }
  }

  // ── client WebSocket events ─────────────────────────────────────────────────────────────

  attach(ws: ServerWebSocket<ClientConn>): void {
    if (this.state === "closed") {
      ws.close(this.cancelled?.code ?? 1011, this.cancelled?.reason ?? "browser connection closed");
      return;
    }
    this.ws = ws;
    this.host.attached(this);
    const early = this.early;
    this.early = null;
    if (early) for (const m of early) this.onMessage(m.payload, m.opcode);
  }

  onClientMessage(message: string | Buffer): void {
    if (this.state !== "open") return;
    this.entry.active = true;
    if (typeof message !== "string") {
      // Chromium closes on binary frames: treat them as text (invalid UTF-8 is replaced, so no
      // binary encoding such as CBOR can slip past the checks below).
      message = message.toString("utf8");
    }
    const action = interceptClientMessage(message);
    if (action !== null) {
      if (action.kind === "forward") {
        message = action.text;
        if (action.downloads) {
          this.downloads.downloadsAllowed(action.downloads);
          this.host.hooks.onDownloadsEnabled?.(this.sessionId);
        }
      } else if (action.kind === "refuse") {
        this.host.counters.refusedCommands++;
        this.ws?.sendText(cdpError(action.id, action.sessionId, action.code, action.message));
        return;
      } else {
        this.host.counters.domainCommands++;
        void this.answerDomainCommand(action.id, action.sessionId, action.method, action.params);
        return;
      }
    }
    this.host.counters.messagesToBrowsers++;
    this.writeText(message);
  }

  private async answerDomainCommand(id: unknown, cdpSessionId: string | undefined, method: string, params: unknown): Promise<void> {
    let reply: string;
    try {
      const result = await this.host.hooks.handleDomainCommand(this.sessionId, method, params);
      reply = cdpResult(id, cdpSessionId, result);
    } catch (err) {
      if (err instanceof CdpError) reply = cdpError(id, cdpSessionId, err.code, err.message);
      else if (err instanceof DomainError) reply = cdpError(id, cdpSessionId, -32601, err.message);
      else {
        this.host.log.error("BrowserGrid domain command failed", { sessionId: this.sessionId, method, err });
        reply = cdpError(id, cdpSessionId, -32601, `${method} failed: internal error`);
      }
    }
    if (this.ws !== null && this.state === "open") this.ws.sendText(reply);
  }

  onClientDrain(): void {
    const ws = this.ws;
    if (this.browserReadPaused && ws !== null && ws.getBufferedAmount() < this.host.limits.clientLowWater) {
      this.browserReadPaused = false;
      this.socket?.resume();
    }
  }

  onClientClosed(): void {
    if (this.state === "closed") {
      this.host.detached(this);
      return;
    }
    this.state = "closed";
    this.socket?.end();
    this.host.detached(this);
  }

  /** Closes the client with a code and reason, and the upstream. */
  close(code: number, reason: string): void {
    if (this.ws === null) return this.abort({ code, reason });
    if (this.state === "closed") return;
    this.state = "closed";
    this.socket?.end();
    this.ws.close(code, reason);
    this.host.detached(this);
  }

  private fail(code: number, reason: string): void {
    if (this.state === "closed") return;
    this.close(code, reason);
  }

  // ── writes to the browser ───────────────────────────────────────────────────────────────

  // Client messages read in one event-loop turn (a pipelining client's burst) go to the
  // browser in as few writes as possible: the first one at once (no added latency), the rest
  // gathered in `batch` and written together when the turn ends. Syscalls, not JS, dominate the
  // gateway's CPU per message.
  private batch: Buffer | null = null;
  private batchLen = 0;
  private turnOpen = false;
  private readonly endTurn = () => {
    this.turnOpen = false;
    if (this.batchLen > 0) this.flushBatch();
  };

  private flushBatch(): void {
    const n = this.batchLen;
    this.batchLen = 0;
    this.writeBytes(this.batch!, 0, n);
  }

  private writeText(text: string): void {
    if (this.turnOpen && text.length * 3 + MAX_CLIENT_HEADER <= BATCH_BYTES - this.batchLen) {
      const batch = (this.batch ??= Buffer.allocUnsafe(BATCH_BYTES));
      // Header size from bounds on the UTF-8 length, so the payload is encoded in place once.
      const n = text.length;
      const byteLen = n * 3 < 126 || (n >= 126 && n * 3 < 65536) ? -1 : Buffer.byteLength(text);
      const headerLen = byteLen === -1 ? (n * 3 < 126 ? 6 : 8) : byteLen < 126 ? 6 : byteLen < 65536 ? 8 : 14;
      const payloadAt = this.batchLen + headerLen;
      const len = batch.write(text, payloadAt);
      writeClientHeader(batch, payloadAt, len, OP_TEXT);
      this.batchLen = payloadAt + len;
      return;
    }
    if (this.batchLen > 0) this.flushBatch();
    if (!this.turnOpen) {
      this.turnOpen = true;
      setImmediate(this.endTurn);
    }
    // UTF-8 is at most 3 bytes per UTF-16 unit; grow the scratch buffer only when needed.
    let buf = scratch;
    if (MAX_CLIENT_HEADER + text.length * 3 > buf.length) {
      const need = MAX_CLIENT_HEADER + Buffer.byteLength(text);
      if (need > buf.length) {
        buf = Buffer.allocUnsafe(Math.max(need, Math.min(2 * buf.length, 4 * 1024 * 1024)));
        if (buf.length <= 4 * 1024 * 1024) scratch = buf;
      }
    }
    const len = buf.write(text, MAX_CLIENT_HEADER);
    const start = writeClientHeader(buf, MAX_CLIENT_HEADER, len, OP_TEXT);
    this.writeBytes(buf, start, MAX_CLIENT_HEADER + len);
  }

  private writeFrame(frame: Buffer): void {
    if (this.batchLen > 0) this.flushBatch();
    this.writeBytes(frame, 0, frame.length);
  }

  /** Writes buf[start, end); whatever the socket does not take now is copied to the queue. */
  private writeBytes(buf: Buffer, start: number, end: number): void {
    const socket = this.socket;
    if (socket === null || this.state !== "open") return;
    let n = 0;
    if (this.queue.length === 0) {
      n = socket.write(buf, start, end - start);
      if (n < 0) return;
      if (n === end - start) return;
    }
    const rest = Buffer.from(buf.subarray(start + n, end));
    this.queue.push(rest);
    this.queued += rest.length;
    const limits = this.host.limits;
    if (this.queued > limits.browserQueueCap) return this.fail(1013, "browser is not reading fast enough");
    if (this.queued > limits.browserHighWater && !this.clientReadPaused && this.ws !== null) {
      this.clientReadPaused = true;
      this.ws.pause();
    }
  }

  stats(): ClientStats {
    return {
      sessionId: this.sessionId,
      bufferedToClient: this.ws !== null && this.state !== "closed" ? this.ws.getBufferedAmount() : 0,
      queuedToBrowser: this.queued,
      heldFromBrowser: this.reader.bufferedBytes,
      browserReadPaused: this.browserReadPaused,
      clientReadPaused: this.clientReadPaused,
    };
  }
}

const UPSTREAM_HANDLERS: SocketHandler<ClientConn> = {
  open(socket) {
    socket.data.socket = socket;
    if (socket.data.state === "closed") socket.terminate();
  },
  data(socket, chunk) {
    socket.data.onUpstreamData(chunk);
  },
  drain(socket) {
    socket.data.onUpstreamDrain();
  },
  close(socket) {
    socket.data.onUpstreamClosed();
  },
  error(socket) {
    socket.data.onUpstreamClosed();
  },
};

