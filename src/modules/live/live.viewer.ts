// One watcher of a live view: a server-sent event stream that always carries the NEWEST frame.
// The stream is pulled: a frame is only produced for the socket when the previous one has
// been taken, and a newer frame replaces an unsent one, so a slow phone on a bad network gets
// fewer frames instead of a growing buffer in the server. Small control events (tabs, ended)
// queue in order and go first.
import { sseEvent, SSE_HEADERS } from "../../http/sse";

const HEARTBEAT_MS = 20_000;

export class LiveViewer {
  private frame: string | null = null;
  private queue: string[] = [];
  private wake: (() => void) | null = null;
  private done = false;
  private expiry: ReturnType<typeof setTimeout> | undefined;
  /** Set by the live session on join: called once when this viewer goes away. */
  onClose: () => void = () => {};
  readonly response: Response;

  constructor(
    readonly canControl: boolean,
    request: Request,
    expiresAtMs?: number,
  ) {
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>(
      {
        pull: async (c) => {
          for (;;) {
            const next = this.queue.shift() ?? (this.frame !== null ? sseEvent("frame", this.frame) : null);
            if (next !== null) {
              if (next.startsWith("event: frame")) this.frame = null;
              c.enqueue(enc.encode(next));
              return;
            }
            if (this.done) {
              c.close();
              return;
            }
            const woke = await new Promise<boolean>((resolve) => {
              const t = setTimeout(() => resolve(false), HEARTBEAT_MS);
              this.wake = () => {
                clearTimeout(t);
                resolve(true);
              };
            });
            this.wake = null;
            if (!woke) {
              c.enqueue(enc.encode(": keep-alive\n\n"));
              return;
            }
          }
        },
        cancel: () => this.end(),
      },
      { highWaterMark: 0 },
    );
    request.signal.addEventListener("abort", () => this.end());
    if (expiresAtMs !== undefined)
      this.expiry = setTimeout(() => {
        this.send("ended", "This live link has expired.");
        this.end();
      }, Math.max(0, expiresAtMs - Date.now()));
    this.response = new Response(body, { headers: SSE_HEADERS });
  }

  get closed(): boolean {
    return this.done;
  }

  pushFrame(base64Jpeg: string): void {
    if (this.done) return;
    this.frame = base64Jpeg;
    this.wake?.();
  }

  send(event: string, data: string): void {
    if (this.done) return;
    this.queue.push(sseEvent(event, data));
    this.wake?.();
  }

  /** Ends the stream after what is queued; tells the live session once. */
  end(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.expiry);
    this.wake?.();
    this.onClose();
  }
}
