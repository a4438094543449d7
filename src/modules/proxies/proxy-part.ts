// The "proxy" part of a session's network (src/modules/network/session-network.ts): resolves the
// session's proxy (request, else the pool's default; null opts out), checks its credentials
// before anything exists, points Chromium at the relay, registers the container's address with
// the relay once it runs, and writes the relay's byte counts to the session row.
import type { Db } from "../../db/client";
import { DomainError, BadRequest, Unavailable } from "../../lib/errors";
import type { Logger } from "../../lib/logger";
import { browserNetworkGateway } from "../../providers/docker-network";
import type { NetworkPart, NetworkPartPrepared } from "../network/session-network";
import type { Pool } from "../pools/pools.service";
import type { CreateSessionInput, Owner } from "../sessions/sessions.service";
import { appendEvent, type SessionRow } from "../sessions/sessions.store";
import { parseBrowserEndpoint } from "../sessions/sessions.address";
import { findProxy, proxyClosure, routeFor, unknownProxy, upstreamOf, type ProxyRow } from "./proxies.service";
import { ProxyRelay, type RelayErrorEvent, type RelayRegistration } from "./proxy-relay";
import { checkProxy, UpstreamError } from "./proxy-upstream";
import type { Reach } from "../../security/egress/egress-policy";
import { inCidrV4 } from "../../security/egress/address-ranges";
import { getSetting, setSetting } from "../settings/settings.service";

/** The relay's port is kept across restarts: running browsers were started with it. */
const PORT_SETTING = "proxy_relay_port";
export const LOCAL_DOCKER_ONLY = "proxies are available on the local Docker worker only in this version";
const FLUSH_EVERY_MS = 3_000;
const CHECK_TIMEOUT_MS = 10_000;
/** At most this many proxy_error events per session (a broken proxy fails every request). */
const MAX_ERROR_EVENTS = 50;
const ERROR_EVENT_QUIET_MS = 10_000;

export interface ProxyPartOptions {
  db: Db;
  log: Logger;
  installKey: Buffer;
  installId: string;
  /** The local Docker engine whose browser network the relay listens on. */
  dockerSocket: string;
  /** Its quick-call deadline (BROWSERGRID_ENGINE_TIMEOUT_MS); absent: the default. */
  engineTimeoutMs?: number;
  network?: string;
  /** Fixed relay port (BROWSERGRID_PROXY_RELAY_PORT); default an ephemeral one. */
  port?: number;
  /** Direct connections (routes with via "direct"): what the session's egress policy permits; default this host's policy with nothing allowed. */
  directAllowed?(reg: RelayRegistration, ip: string, port: number): Reach;
  resolve?(host: string): Promise<string[]>;
  /** The relay listens on this port (the egress guard must let browsers reach it); awaited before sessions use it. */
  onListening?(port: number): Promise<void> | void;
}

type ProxyConfig = { proxy?: { id?: string; name?: string } };

export class ProxyPart implements NetworkPart {
  readonly name = "proxy";
  private relay: ProxyRelay | null = null;
  private subnet: string | null = null;
  private starting: Promise<void> | null = null;
  private flushTimer: ReturnType<typeof setInterval> | null = null;
  private readonly errorEvents = new Map<string, { count: number; last: Map<string, number> }>();

  constructor(private readonly opts: ProxyPartOptions) {}

  /** The relay's listening port (null until it listens): the egress guard must let browsers reach it. */
  get relayPort(): number | null {
    return this.relay?.port ?? null;
  }

  get relayAddress(): string | null {
    return this.relay?.port ? `${this.relay.hostname}:${this.relay.port}` : null;
  }

  /** Starts the relay on the browser network's gateway. Never throws: without Docker, sessions with a proxy get 503 until it works. */
  async start(): Promise<void> {
    this.flushTimer ??= setInterval(() => this.flush(), FLUSH_EVERY_MS);
    await this.ensureRelay().catch((err) => this.opts.log.warn("proxy relay not started; sessions with a proxy are refused until it is", { err }));
  }

  stop(): void {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    this.flush();
    this.relay?.stop();
    this.relay = null;
  }

  private ensureRelay(): Promise<void> {
    if (this.relay) return Promise.resolve();
    this.starting ??= this.startRelay().finally(() => (this.starting = null));
    return this.starting;
  }

  private async startRelay(): Promise<void> {
    const network = this.opts.network ?? "browsergrid-default";
    const { gateway, subnet } = await browserNetworkGateway({ socketPath: this.opts.dockerSocket, network, installId: this.opts.installId, engineTimeoutMs: this.opts.engineTimeoutMs });
    const make = (port: number | undefined) =>
      new ProxyRelay({
        hostname: gateway,
        port,
        route: (reg, host) => routeFor(this.opts.db, this.opts.installKey, reg.proxyId, host),
        directAllowed: this.opts.directAllowed,
        resolve: this.opts.resolve,
        onError: (reg, e) => this.recordError(reg, e),
        log: this.opts.log,
      });
    const remembered = this.opts.port ?? getSetting<number>(this.opts.db, PORT_SETTING);
    let relay = make(remembered);
    try {
      relay.start();
    } catch (err) {
      if (this.opts.port !== undefined || remembered === undefined) throw err;
      // Taken by something else: browsers still running from before lose their proxy (logged).
      this.opts.log.warn("the proxy relay's previous port is taken; running sessions with a proxy lose it", { port: remembered, err });
      relay = make(undefined);
      relay.start();
    }
    if (relay.port !== remembered) setSetting(this.opts.db, PORT_SETTING, relay.port);
    try {
      await this.opts.onListening?.(relay.port!);
    } catch (err) {
      relay.stop();
      throw err;
    }
    this.relay = relay;
    this.subnet = subnet;
    this.opts.log.info("proxy relay listening", { address: this.relayAddress, network });
  }

  async prepare(_owner: Owner, _sessionId: string, pool: Pool, input: CreateSessionInput): Promise<NetworkPartPrepared | null> {
    const proxy = this.resolveProxy(pool, input.proxy);
    if (!proxy) return null;
    try {
      await this.ensureRelay();
    } catch (err) {
      throw new Unavailable(`The proxy relay is not running (${(err as Error).message}); sessions with a proxy need the local Docker engine.`, "proxy_relay_unavailable");
    }
    for (const p of proxyClosure(this.opts.db, proxy.id)) await this.check(p);
    const relay = this.relay!;
    return {
      config: { proxy: { id: proxy.id, name: proxy.name } },
      spec: { proxyServer: `http://${relay.hostname}:${relay.port}` },
      cold: true,
      started: async (row, provider) => {
        if (provider.kind !== "docker") throw new DomainError("proxy_unsupported_worker", `The session was placed on a ${provider.kind === "ssh" ? "SSH" : "local-process"} worker: ${LOCAL_DOCKER_ONLY}.`, 400);
        this.register(row, proxy.id);
      },
    };
  }

  /** The request's `proxy` (name or id; null opts out) or the pool's default. */
  private resolveProxy(pool: Pool, requested: unknown): ProxyRow | null {
    if (requested === null) return null;
    if (requested === undefined) {
      if (!pool.proxyId) return null;
      const p = findProxy(this.opts.db, pool.proxyId);
      if (!p) throw unknownProxy(pool.proxyId);
      return p;
    }
    if (typeof requested !== "string") throw new BadRequest(`"proxy" must be the name or id of a stored proxy (POST /api/v1/proxies), or null for none.`, "invalid_proxy");
    const p = findProxy(this.opts.db, requested);
    if (!p) throw unknownProxy(requested);
    return p;
  }

  private async check(p: ProxyRow): Promise<void> {
    try {
      await checkProxy(upstreamOf(this.opts.installKey, p), CHECK_TIMEOUT_MS);
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      if (err.code === "auth_failed")
        throw new DomainError("proxy_auth_failed", `${err.message}; update them with PATCH /api/v1/proxies/${p.name}.`, 502);
      throw new DomainError("proxy_unreachable", `${err.message}; check the proxy or change it with PATCH /api/v1/proxies/${p.name}.`, 502);
    }
  }

  private register(row: SessionRow, proxyId: string): void {
    if (!this.relay) throw new Unavailable("The proxy relay stopped.", "proxy_relay_unavailable");
    const ip = parseBrowserEndpoint(row.cdpEndpoint)?.host;
    if (!ip) throw new Error("the session has no container address");
    if (this.subnet && !inCidrV4(ip, this.subnet))
      throw new DomainError("proxy_unsupported_worker", `The browser's address ${ip} is not on the relay's network (${this.subnet}): ${LOCAL_DOCKER_ONLY}.`, 400);
    const reg: RelayRegistration = { sessionId: row.id, poolId: row.poolId, workerId: row.workerId, proxyId };
    this.relay.register(ip, reg);
  }

  async resume(row: SessionRow): Promise<void> {
    const id = (row.config as ProxyConfig).proxy?.id;
    if (!id) return;
    await this.ensureRelay();
    this.register(row, id);
  }

  ended(sessionId: string): void {
    this.errorEvents.delete(sessionId);
    const rest = this.relay?.unregister(sessionId);
    if (rest) this.write(sessionId, rest.sent, rest.received);
  }

  /** Adds the relay's counts since the last flush to the session rows. */
  flush(): void {
    if (!this.relay) return;
    for (const c of this.relay.takeCounts()) this.write(c.sessionId, c.sent, c.received);
  }

  private write(sessionId: string, sent: number, received: number): void {
    if (!sent && !received) return;
    try {
      this.opts.db.$client.query("UPDATE sessions SET bytes_sent = bytes_sent + ?, bytes_received = bytes_received + ? WHERE id = ?").run(sent, received, sessionId);
    } catch (err) {
      this.opts.log.warn("could not store proxy byte counts", { sessionId, err });
    }
  }

  /** A session event per distinct failure, throttled: a dead proxy fails every request of a page. */
  private recordError(reg: RelayRegistration, e: RelayErrorEvent): void {
    let s = this.errorEvents.get(reg.sessionId);
    if (!s) this.errorEvents.set(reg.sessionId, (s = { count: 0, last: new Map() }));
    const key = `${e.code}|${e.target}`;
    const now = Date.now();
    if (s.count >= MAX_ERROR_EVENTS || now - (s.last.get(key) ?? 0) < ERROR_EVENT_QUIET_MS) return;
    s.count++;
    s.last.set(key, now);
    try {
      appendEvent(this.opts.db, reg.sessionId, "proxy_error", { code: e.code, target: e.target, message: e.message });
    } catch (err) {
      this.opts.log.warn("could not record a proxy error", { sessionId: reg.sessionId, err });
    }
  }
}
