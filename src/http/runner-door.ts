// The runner door: a second listener, on the browser network's gateway address, through which
// runner containers (src/providers/docker-runner.ts) reach BrowserGrid. A runner cannot reach
// its browser directly (the bridge has inter-container traffic off) nor any port of the host
// (the egress guard); this door is the one way in, and its port is a host service port of the
// guard exactly like the proxy relay's (EgressGuard.allowHostPort).
//
// It serves only the CDP gateway's session paths (/cdp/<id>…: WebSocket and /json discovery)
// and the API (/api/v1/…); everything else is 404. Cookie headers are dropped before anything
// reads them, so no browser sign-in (UI session) can be used through it: a runner authenticates
// with a token like any API client, and an API request without `Authorization: Bearer` is 401
// here (the main listener's Host check would answer 421 and point at a URL the runner cannot
// reach). Discovery answers point at the door, not the public URL.
import type { Server } from "bun";
import type { App } from "./app";
import type { BodyGate } from "./body-gate";
import type { FastRead } from "./fast-reads";
import { listen, type UpgradeHandler } from "./server";
import { publicBase } from "../cdp/discovery";
import { bearerOf } from "./plugins/auth";

export interface RunnerDoorUrls {
  /** http://<gateway>:<port>: the API base (append /api/v1/…) and CDP discovery (/cdp/<id>/json/version). */
  http: string;
  /** ws://<gateway>:<port>: append a cdpUrl's path and query (/cdp/<id>…). */
  ws: string;
}

export interface RunnerDoorOptions {
  /** The browser network's gateway, the host's address there (docker-network.ts browserNetworkGateway). */
  address(): Promise<string>;
  /** A fixed port (BROWSERGRID_RUNNER_PORT), else the one used last (`remembered`), else any free one. */
  port?: number;
  remembered?: number;
  /** The port it listens on, to remember and to open in the egress guard; awaited before the door counts as open. */
  onListening?(port: number): Promise<void> | void;
  app: App;
  upgrade: UpgradeHandler;
  fastRead?: FastRead;
  bodyGate?: BodyGate;
  /** BROWSERGRID_PUBLIC_URL: the base the gateway's discovery answers carry, replaced by the door's. */
  publicUrl: string;
  log: { info(msg: string, meta?: object): void; warn(msg: string, meta?: object): void };
}

/** Another try after this long while the door could not open (Docker not answering yet). */
const RETRY_MS = 30_000;

const noToken = () =>
  Response.json(
    { error: { code: "unauthorized", message: "Send the run's token as Authorization: Bearer $BROWSERGRID_RUN_TOKEN (or an API key); the runner door takes no other credentials." } },
    { status: 401, headers: { "www-authenticate": "Bearer" } },
  );

const notFound = () =>
  Response.json({ error: { code: "not_found", message: "The runner door serves only /cdp/<session id>… and /api/v1/…" } }, { status: 404 });

/**
 * What the door lets through: a request for /cdp/… or /api/v1/…, without dot segments, encoded
 * dots or backslashes that another parser could resolve to a path outside them; an API request
 * only with a bearer token. Drops cookies. Returns a response for what it refuses, undefined for what passes.
 */
export function screenRunnerRequest(req: Request): Response | undefined {
  req.headers.delete("cookie");
  const url = req.url;
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const end = url.indexOf("?", start);
  const path = start < 0 ? "/" : end < 0 ? url.slice(start) : url.slice(start, end);
  if (/(^|\/)\.\.?(\/|$)|%2e|%2f|%5c|\\/i.test(path)) return notFound();
  if (path.startsWith("/cdp/")) return undefined;
  if (!path.startsWith("/api/v1/")) return notFound();
  const authorization = req.headers.get("authorization");
  return authorization !== null && bearerOf(authorization) !== null ? undefined : noToken();
}

/**
 * The gateway's discovery answers carry WebSocket URLs on the public base; through the door they
 * must point at the door. Only the webSocketDebuggerUrl fields of a JSON answer are rewritten.
 */
export async function pointDiscoveryAtDoor(res: Response, publicWsBase: string, doorWsBase: string): Promise<Response> {
  if (!(res.headers.get("content-type") ?? "").startsWith("application/json") || res.status !== 200) return res;
  const body = (await res.json()) as unknown;
  const swap = (v: unknown): unknown => (typeof v === "string" && v.startsWith(`${publicWsBase}/cdp/`) ? doorWsBase + v.slice(publicWsBase.length) : v);
  if (Array.isArray(body)) for (const t of body) if (t && typeof t === "object") (t as Record<string, unknown>).webSocketDebuggerUrl = swap((t as Record<string, unknown>).webSocketDebuggerUrl);
  if (body && typeof body === "object" && !Array.isArray(body) && "webSocketDebuggerUrl" in body) (body as Record<string, unknown>).webSocketDebuggerUrl = swap((body as Record<string, unknown>).webSocketDebuggerUrl);
  const headers = new Headers(res.headers);
  headers.delete("content-length");
  return new Response(JSON.stringify(body, null, 2), { status: res.status, headers });
}

export class RunnerDoor {
  private server: Server<unknown> | null = null;
  private opened: RunnerDoorUrls | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(private readonly opts: RunnerDoorOptions) {}

  /** The door's base URLs as a runner on the local browser network uses them; null while it is not open. */
  urls(): RunnerDoorUrls | null {
    return this.opened;
  }

  /** Opens the door; never throws: while it cannot (no Docker yet), it tries again later. */
  async start(): Promise<void> {
    if (this.server || this.stopped) return;
    try {
      await this.open();
    } catch (err) {
      this.opts.log.warn("runner door not open; runners cannot reach the grid until it is", { err, retryInMs: RETRY_MS });
      this.retry = setTimeout(() => void this.start(), RETRY_MS);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.server?.stop(true);
    this.server = null;
    this.opened = null;
  }

  private async open(): Promise<void> {
    const host = await this.opts.address();
    const publicWs = (req: Request) => {
      const b = publicBase(this.opts.publicUrl, req);
      return `${b.wsProtocol}//${b.authorityAndPrefix}`;
    };
    const upgrade: UpgradeHandler = {
      websocket: this.opts.upgrade.websocket,
      handle: async (req, server) => {
        const res = await this.opts.upgrade.handle(req, server);
        return res && this.opened && /^\/cdp\/[^/]+\/json/.test(new URL(req.url).pathname) ? pointDiscoveryAtDoor(res, publicWs(req), this.opened.ws) : res;
      },
    };
    const serve = (port: number) =>
      listen({ host, port, app: this.opts.app, upgrade, fastRead: this.opts.fastRead, bodyGate: this.opts.bodyGate, screen: screenRunnerRequest });
    let server: Server<unknown>;
    const wanted = this.opts.port ?? this.opts.remembered ?? 0;
    try {
      server = serve(wanted);
    } catch (err) {
      if (this.opts.port !== undefined || wanted === 0) throw err;
      this.opts.log.warn("the runner door's previous port is taken; running runners lose their way in", { port: wanted, err });
      server = serve(0);
    }
    try {
      await this.opts.onListening?.(server.port!);
    } catch (err) {
      server.stop(true);
      throw err;
    }
    if (this.stopped) return void server.stop(true);
    this.server = server;
    const authority = host.includes(":") ? `[${host}]:${server.port}` : `${host}:${server.port}`;
    this.opened = { http: `http://${authority}`, ws: `ws://${authority}` };
    this.opts.log.info("runner door open", { url: this.opened.http });
  }
}
