// Server-sent events for pages that update themselves. A stream checks a cheap version (for
// sessions: the newest timeline event id, which every state change appends) every
// `everyMs`, and renders and sends only when it moved; a comment line every 20 s keeps
// proxies and Bun's idle timeout from closing a quiet stream. The client side is
// public/app.js: each event's name is the id of the element whose content it replaces.
import type { SafeHtml } from "../../views/html";

const HEARTBEAT_MS = 20_000;

/** One SSE event; multi-line data is split into data: lines as the format requires. */
export function sseEvent(name: string, data: string): string {
  return `event: ${name}\ndata: ${data.replace(/\r/g, "").split("\n").join("\ndata: ")}\n\n`;
}

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-store",
  "x-accel-buffering": "no",
} as const;

export interface HtmlStreamSource {
  /** Cheap fingerprint of what the parts show; nothing is rendered while it stays equal. */
  version(): string;
  /** [element id, new inner HTML] pairs. */
  render(): [string, SafeHtml][];
}

/**
 * `since` is the version the page was rendered at (the stream URL carries it), so a change
 * between rendering the page and opening the stream, or while reconnecting, is not missed.
 */
export function htmlEventStream(request: Request, source: HtmlStreamSource, opts: { since?: string; everyMs?: number } = {}): Response {
  const enc = new TextEncoder();
  let timer: ReturnType<typeof setInterval> | undefined;
  let last = opts.since ?? source.version();
  let quietSince = Date.now();
  const stop = () => timer && clearInterval(timer);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(enc.encode("retry: 2000\n\n"));
      timer = setInterval(() => {
        try {
          const v = source.version();
          if (v !== last) {
            last = v;
            quietSince = Date.now();
            for (const [id, part] of source.render()) controller.enqueue(enc.encode(sseEvent(id, part.value)));
          } else if (Date.now() - quietSince > HEARTBEAT_MS) {
            quietSince = Date.now();
            controller.enqueue(enc.encode(": keep-alive\n\n"));
          }
        } catch {
          stop();
          try {
            controller.close();
          } catch {}
        }
      }, opts.everyMs ?? 1000);
      request.signal.addEventListener("abort", stop);
    },
    cancel: stop,
  });
  return new Response(body, { headers: SSE_HEADERS });
}
