// The listening socket: Bun.serve with the Elysia app behind it. WebSocket upgrades for the
// CDP gateway are taken here, before Elysia, so CDP messages never pass through a framework;
// so are the plain API reads of fast-reads.ts. Every request body passes the body gate here
// (body-gate.ts), capped while it streams and before anything parses it.
import type { Server } from "bun";
import type { App } from "./app";
import type { FastRead } from "./fast-reads";
import { rememberPeer } from "./peer";
import { anonymousOnlyBodyGate, type BodyGate } from "./body-gate";

export interface UpgradeHandler {
  /** Returns a Response when it handled (or refused) the request, undefined to fall through. */
  handle(req: Request, server: Server<unknown>): Promise<Response | undefined> | Response | undefined;
  websocket: Bun.WebSocketHandler<any>;
}

/**
 * `bodyGate`: bodyGateFor(deps) in a server; without one, no body may exceed the anonymous cap.
 * `screen`: sees every request first and may answer it (e.g. the runner door's 404s); it may
 * also change the request's headers before anything else reads them.
 */
export function listen(opts: { host: string; port: number; app: App; upgrade?: UpgradeHandler; fastRead?: FastRead; bodyGate?: BodyGate; screen?: (req: Request) => Response | undefined }): Server<unknown> {
  const { app, upgrade, fastRead } = opts;
  const gate = opts.bodyGate ?? anonymousOnlyBodyGate;
  const appFetch: AppFetch = app.fetch;
  const onward = (req: Request, server: Server<unknown>) => (upgrade ? upgradeOrApp(upgrade, req, server, appFetch) : appFetch(req));
  return Bun.serve({
    hostname: opts.host,
    port: opts.port,
    // The outer wall; each route's own cap is applied by the body gate.
    maxRequestBodySize: gate.maxBytes,
    idleTimeout: 120,
    // Not async: a fast read's Response goes back as it is, with no promise to settle.
    fetch(req, server) {
      const screened = opts.screen?.(req);
      if (screened !== undefined) return screened;
      const fast = fastRead?.(req);
      if (fast !== undefined) return fast;
      rememberPeer(req, server);
      const admitted = gate.admit(req);
      if (admitted instanceof Request) return onward(admitted, server);
      if (admitted instanceof Response) return admitted;
      return admitted.then((r) => (r instanceof Response ? r : onward(r, server)));
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
