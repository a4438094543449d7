// A fake browser for tests of BrowserGrid's own CDP links: a Bun.serve that answers
// /json/version and speaks just enough CDP (replies echo their command; Target.attachToTarget
// and a browser-level Target.setAutoAttach send their attachedToTarget events before the reply,
// as Chromium does; Test.* commands make it emit events, hang or drop the socket). It counts
// WebSocket connections, so "one socket" is seen from the browser's side.
import type { ServerWebSocket } from "bun";

export interface FakeBrowser {
  address: { host: string; port: number };
  /** WebSocket connections accepted so far. */
  connections: number;
  /** Connections open now. */
  open: number;
  /** Every command received: [method, params, sessionId]. */
  commands: [string, any, string | undefined][];
  /** Closes every socket from the browser's side (the browser went away). */
  dropAll(): void;
  stop(): void;
}

export function fakeCdpBrowser(): FakeBrowser {
  const sockets = new Set<ServerWebSocket<unknown>>();
  let nextSession = 1;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req, srv) {
      const url = new URL(req.url);
      if (url.pathname === "/json/version") return Response.json({ webSocketDebuggerUrl: `ws://127.0.0.1:${srv.port}/devtools/browser/fake` });
      if (url.pathname === "/devtools/browser/fake" && srv.upgrade(req)) return undefined;
      return new Response("no", { status: 404 });
    },
    websocket: {
      open(ws) {
        fake.connections++;
        sockets.add(ws);
      },
      close(ws) {
        sockets.delete(ws);
      },
      message(ws, data) {
        const msg = JSON.parse(String(data)) as { id: number; method: string; params: any; sessionId?: string };
        fake.commands.push([msg.method, msg.params, msg.sessionId]);
        const reply = (result: unknown) => void ws.send(JSON.stringify({ id: msg.id, result, ...(msg.sessionId ? { sessionId: msg.sessionId } : {}) }));
        switch (msg.method) {
          case "Test.emit":
            void ws.send(JSON.stringify({ method: msg.params.event, params: msg.params.params ?? {}, ...(msg.params.sessionId ? { sessionId: msg.params.sessionId } : {}) }));
            return reply({});
          case "Test.autoAttached": // a target auto-attached to the root, as Target.setAutoAttach makes it
            void ws.send(JSON.stringify({ method: "Target.attachedToTarget", params: { sessionId: msg.params.sessionId, targetInfo: { targetId: msg.params.targetId, type: "page" }, waitingForDebugger: false } }));
            return reply({});
          case "Test.hang":
            return;
          case "Target.setAutoAttach": // the existing page is attached before the reply, as Chromium does
            if (!msg.sessionId && msg.params.autoAttach)
              void ws.send(JSON.stringify({ method: "Target.attachedToTarget", params: { sessionId: "AUTO0", targetInfo: { targetId: "T0", type: "page" }, waitingForDebugger: false } }));
            return reply({});
          case "Target.attachToTarget": {
            const sessionId = `S${nextSession++}`;
            void ws.send(JSON.stringify({ method: "Target.attachedToTarget", params: { sessionId, targetInfo: { targetId: msg.params.targetId, type: "page" }, waitingForDebugger: false } }));
            return reply({ sessionId });
          }
          default:
            return reply({ echo: msg.method, params: msg.params });
        }
      },
    },
  });
  const fake: FakeBrowser = {
    address: { host: "127.0.0.1", port: server.port! },
    connections: 0,
    get open() {
      return sockets.size;
    },
    commands: [],
    dropAll: () => sockets.forEach((s) => s.close(1011, "gone")),
    stop: () => void server.stop(true),
  };
  return fake;
}

/** Waits until `cond` holds (polling), failing after `ms`. */
export async function until(cond: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await Bun.sleep(5);
  }
}
