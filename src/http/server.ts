// The listening socket: Bun.serve with the Elysia app behind it. WebSocket upgrades for the
// CDP gateway are taken here, before Elysia, so CDP messages never pass through a framework;
// so are the plain API reads of fast-reads.ts.
import type { Server } from "bun";
import type { App } from "./app";
import type { FastRead } from "./fast-reads";
import { rememberPeer } from "./peer";

export interface UpgradeHandler {
  /** Returns a Response when it handled (or refused) the request, undefined to fall through. */
  handle(req: Request, server: Server<unknown>): Promise<Response | undefined> | Response | undefined;
  websocket: Bun.WebSocketHandler<any>;
}

export function listen(opts: { host: string; port: number; app: App; upgrade?: UpgradeHandler; fastRead?: FastRead }): Server<unknown> {
  const { app, upgrade, fastRead } = opts;
  const appFetch: AppFetch = app.fetch;
  return Bun.serve({
    hostname: opts.host,
    port: opts.port,
    // JSON bodies are capped at 1 MiB by the request-context plugin; this is the outer cap.
    maxRequestBodySize: 256 * 1024 * 1024,
    idleTimeout: 120,
    // Not async: a fast read's Response goes back as it is, with no promise to settle.
    fetch(req, server) {
      const fast = fastRead?.(req);
      if (fast !== undefined) return fast;
      rememberPeer(req, server);
      return upgrade ? upgradeOrApp(upgrade, req, server, appFetch) : appFetch(req);
    },
    websocket: upgrade?.websocket ?? { message() {} },
  });
}

type AppFetch = (req: Request) => Response | Promise<Response>;

async function upgradeOrApp(upgrade: UpgradeHandler, req: Request, server: Server<unknown>, appFetch: AppFetch): Promise<Response | undefined> {
  const handled = await upgrade.handle(req, server);
  if (handled !== undefined || (req.headers.get("upgrade") ?? "").toLowerCase() === "websocket") return handled;
  return appFetch(req);
}
