// The listening socket: Bun.serve with the Elysia app behind it. WebSocket upgrades for the
// CDP gateway are taken here, before Elysia, so CDP messages never pass through a framework.
import type { Server } from "bun";
import type { App } from "./app";
import { rememberPeer } from "./peer";

export interface UpgradeHandler {
  /** Returns a Response when it handled (or refused) the request, undefined to fall through. */
  handle(req: Request, server: Server<unknown>): Promise<Response | undefined> | Response | undefined;
  websocket: Bun.WebSocketHandler<any>;
}

export function listen(opts: { host: string; port: number; app: App; upgrade?: UpgradeHandler }): Server<unknown> {
  const { app, upgrade } = opts;
  const fetch = app.fetch;
  return Bun.serve({
    hostname: opts.host,
    port: opts.port,
    // JSON bodies are capped at 1 MiB by the request-context plugin; this is the outer cap.
    maxRequestBodySize: 256 * 1024 * 1024,
    idleTimeout: 120,
    async fetch(req, server) {
      rememberPeer(req, server);
      if (upgrade) {
        const handled = await upgrade.handle(req, server);
        if (handled !== undefined || (req.headers.get("upgrade") ?? "").toLowerCase() === "websocket") return handled;
      }
      return fetch(req);
    },
    websocket: upgrade?.websocket ?? { message() {} },
  });
}
