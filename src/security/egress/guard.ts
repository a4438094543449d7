// The egress guard's state per worker, and the only code that installs, verifies and
// re-applies it. Contract (fail closed):
// - installed at every BrowserGrid start and whenever an SSH worker connects; an admin can
//   re-apply it (POST /api/v1/workers/:id/egress-guard);
// - verified on every heartbeat, before every browser start (local: a live `nft list`), and
//   before a session is accepted; a worker whose guard is not verified gets no session (503);
// - never silently re-installed when it vanished while running: automatic re-applies (allow-list
//   changes, names that resolve differently) use the "replace" transaction, which fails when the
//   table is gone, so a deleted table stays visible as "missing" until someone acts.
// BROWSERGRID_EGRESS_GUARD=off turns all of it off (state "off"), loudly.
import type { Config } from "../../config";
import { Unavailable } from "../../lib/errors";
import type { Logger } from "../../lib/logger";
import { bridgeNameFor } from "../../providers/docker-network";
import { parseAllowEntry, resolveAllowList, systemResolve4, type AllowEntry, type Resolve4, type ResolvedAllow } from "./allow-list";
import { hostEgress, mayReach, thisHostPolicy, type EgressPolicy, type Reach } from "./egress-policy";
import { localNftHost, remoteNftHost, type NftHost } from "./nft-host";
import type { EngineReads } from "../../providers/engine";
import type { HostHelper } from "../../providers/host-helper";
import { buildRuleset } from "./ruleset";
import { checkListing } from "./verify";

/**
 * The allow-list entries every one of a worker's pools allows (its browsers share one bridge:
 * see EgressGuard.poolEntries). No pool: nothing. Entries are compared as stored (normalised
 * when a pool is saved).
 */
export function allowedByEveryPool(lists: readonly (readonly string[])[]): string[] {
  if (lists.length === 0) return [];
  const [first, ...rest] = lists;
  return first!.filter((entry, i) => first!.indexOf(entry) === i && rest.every((l) => l.includes(entry)));
}

/**
 * What the guard reads about workers and pools. Built in boot.ts from the workers and pools
 * modules (src/modules/workers/guard-fleet.ts): they sit above security/, so the guard is
 * handed this instead of importing them. Read on every call, never cached: the CLI changes the
 * database behind the server's back.
 */
export interface GuardFleet {
  /** Every worker, or those serving `poolId`. */
  workers(poolId?: string): GuardWorker[];
  /** The egress allow-list of each pool the worker serves (empty when it serves none or is gone). */
  poolAllowLists(workerId: string): (readonly string[])[];
}

export interface GuardWorker {
  id: string;
  name: string;
  status: string;
}

export interface GuardStatus {
  state: "ok" | "missing" | "off";
  reason: string | null;
  verifiedAt: number | null;
}

/** Root (or a process holding CAP_NET_ADMIN, which this does not detect) with nft installed. */
function canRunNftHere(): boolean {
  return process.getuid?.() === 0 && Bun.which("nft") !== null;
}

/** local: `reads` asks the engine whether it is rootless; `helper` runs the helper container when this process cannot run nft itself. */
export type GuardTarget = { kind: "local"; helper?: HostHelper; reads?: Pick<EngineReads, "info"> } | { kind: "remote"; helper: HostHelper } | { kind: "none"; reason: string };

interface Entry {
  workerId: string;
  name: string;
  host: NftHost | null;
  unguardable: string | null;
  status: GuardStatus;
  /** The resolved allow-list last applied (names re-resolve on heartbeats). */
  appliedAllow: string | null;
  /** The policy the host's table was last built from: what the proxy relay's direct routes check. */
  applied: EgressPolicy | null;
  verifying: Promise<GuardStatus> | null;
  installing: Promise<GuardStatus> | null;
  /** An install or verification has finished since the worker was registered. */
  settled: boolean;
  /** Installs and re-applies of one host run one after another. */
  queue: Promise<unknown>;
  /** Local hosts: until when sessions were being accepted, and the timer renewing the verification meanwhile. */
  demandUntil: number;
  refresh: ReturnType<typeof setInterval> | null;
}

/** Remote checks run a helper container; between heartbeats their result stands for this long. */
const REMOTE_MAX_AGE_MS = 15_000;
/** Before accepting a session on this host: a verification at most this old, else a new one (a few ms). */
const LOCAL_SESSION_MAX_AGE_MS = 1_000;
/**
 * While sessions are being accepted on this host (one in the last LOCAL_REFRESH_FOR_MS), its
 * verification is renewed in the background this often, so an accept finds one younger than
 * LOCAL_SESSION_MAX_AGE_MS instead of waiting for an `nft` spawn (5–50 ms under load, the
 * largest part of a warm create). The guarantee is the same; the wait moves off the request.
 */
const LOCAL_REFRESH_EVERY_MS = 600;
const LOCAL_REFRESH_FOR_MS = 30_000;

export class EgressGuard {
  readonly enabled: boolean;
  readonly table: string;
  readonly bridge: string;
  private readonly entries = new Map<string, Entry>();
  private readonly hostPorts = new Set<number>();
  private readonly globalAllow: AllowEntry[];
  private readonly resolve4: Resolve4;

  constructor(private readonly deps: { fleet: GuardFleet; log: Logger; config: Readonly<Config>; resolve4?: Resolve4 }) {
    const c = deps.config;
    this.enabled = c.egressGuard;
    this.table = c.egressTable;
    this.bridge = bridgeNameFor(c.dockerNetwork);
    this.globalAllow = c.egressAllow.map((e) => parseAllowEntry(e, "BROWSERGRID_EGRESS_ALLOW"));
    this.resolve4 = deps.resolve4 ?? systemResolve4;
    if (!this.enabled)
      deps.log.warn(
        "EGRESS GUARD OFF (BROWSERGRID_EGRESS_GUARD=off): browsers can reach this host, the cloud metadata endpoint, other sessions and every private network. Anyone with a session's cdpUrl can use them. Switch it on unless this is an isolated test machine.",
      );
  }

  /** Called when a worker's provider is built: how to reach the packet filter of its host. */
  register(worker: Pick<GuardWorker, "id" | "name">, target: GuardTarget): void {
    const image = `${this.deps.config.browserImage}:headless-shell`;
    // The appliance runs as an unprivileged user in the docker group (install.sh): it cannot run
    // nft itself, but it can start the same one-shot helper container a remote host gets.
    const viaDocker = target.kind === "remote" ? target.helper : target.kind === "local" && !canRunNftHere() ? target.helper : undefined;
    const host = viaDocker
      ? remoteNftHost(viaDocker, { where: target.kind === "local" ? "this host (through Docker)" : worker.name, image })
      : target.kind === "local"
        ? localNftHost(target.reads ?? target.helper)
        : null;
    const unguardable = target.kind === "none" ? target.reason : null;
    const status: GuardStatus = this.enabled ? { state: "missing", reason: unguardable ?? "not installed yet", verifiedAt: null } : { state: "off", reason: null, verifiedAt: null };
    this.unregister(worker.id);
    this.entries.set(worker.id, { workerId: worker.id, name: worker.name, host, unguardable, status, appliedAllow: null, applied: null, verifying: null, installing: null, settled: false, queue: Promise.resolve(), demandUntil: 0, refresh: null });
  }

  unregister(workerId: string): void {
    const e = this.entries.get(workerId);
    if (e?.refresh) clearInterval(e.refresh);
    this.entries.delete(workerId);
  }

  /** True while a worker's first install since start is in flight (nothing has been verified yet). */
  installingFirst(workerId: string): boolean {
    const e = this.entries.get(workerId);
    return this.enabled && !!e?.installing && !e.settled;
  }

  status(workerId: string): GuardStatus {
    if (!this.enabled) return { state: "off", reason: null, verifiedAt: null };
    return this.entries.get(workerId)?.status ?? { state: "missing", reason: "this worker has no provider", verifiedAt: null };
  }

  /** What DockerProvider.start awaits (concurrently with creating the container). */
  forWorker(workerId: string): { assertReady(): Promise<void> } {
    return { assertReady: () => this.assertReady(workerId, 0) };
  }

  /**
   * `browsergrid cleanup`, with the server stopped: deletes the guard's table on every registered
   * worker host it can reach. Returns where a table was deleted; failures are reported, not thrown.
   */
  async removeTables(): Promise<{ removed: string[]; failed: { where: string; error: string }[] }> {
    const out = { removed: [] as string[], failed: [] as { where: string; error: string }[] };
    const hosts = new Map<string, NftHost>();
    for (const e of this.entries.values()) if (e.host) hosts.set(e.host.where, e.host);
    for (const host of hosts.values()) {
      try {
        if (await host.remove(this.table)) out.removed.push(host.where);
      } catch (err) {
        out.failed.push({ where: host.where, error: (err as Error).message });
      }
    }
    return out;
  }

  /** A port of BrowserGrid's own services on the Docker host that browsers must reach (e.g. the proxy relay). */
  async allowHostPort(port: number): Promise<void> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`allowHostPort: invalid port ${port}`);
    if (this.hostPorts.has(port)) return;
    this.hostPorts.add(port);
    await this.reapply([...this.entries.keys()]);
  }

  /**
   * Installs (creating the table when absent) on every guardable worker: at start, once `after`
   * has settled (the proxy relay's port is part of the ruleset). The installs count as in flight
   * from this call on, so nothing verifies a table left from an earlier run meanwhile. Local
   * hosts are awaited, remote ones run on.
   */
  async installAll(after: Promise<unknown> = Promise.resolve()): Promise<void> {
    if (!this.enabled) return;
    const all = [...this.entries.values()].filter((e) => e.host);
    const local = all.filter((e) => e.host?.local).map((e) => this.install(e.workerId, after));
    for (const e of all) if (!e.host?.local) void this.install(e.workerId, after);
    await Promise.all(local);
  }

  /** Installs (or re-installs) a worker's guard now (or once `after` settles): start, SSH (re)connect, an admin's re-apply. */
  install(workerId: string, after?: Promise<unknown>): Promise<GuardStatus> {
    const e = this.entries.get(workerId);
    const run = () => this.apply(workerId, "install");
    const start = () => (after ? after.then(run, run) : run());
    if (!e) return start();
    e.installing ??= start().finally(() => (e.installing = null));
    return e.installing;
  }

  /** Verifies one worker's guard; a result younger than maxAgeMs is reused. */
  verify(workerId: string, maxAgeMs = 0): Promise<GuardStatus> {
    const e = this.entries.get(workerId);
    if (!this.enabled || !e) return Promise.resolve(this.status(workerId));
    if (e.unguardable) return Promise.resolve(e.status);
    // An install in flight ends with a verification: its result is the one to wait for (a
    // session asked for while BrowserGrid starts waits for the first install, then runs or is refused).
    if (e.installing) return e.installing;
    if (maxAgeMs > 0 && e.status.state === "ok" && e.status.verifiedAt && Date.now() - e.status.verifiedAt <= maxAgeMs) return Promise.resolve(e.status);
    e.verifying ??= this.runVerify(e).finally(() => (e.verifying = null));
    return e.verifying;
  }

  /** Throws 503 egress_guard_missing unless the worker's guard is verified. */
  async assertReady(workerId: string, localMaxAgeMs = 0): Promise<void> {
    if (!this.enabled) return;
    const e = this.entries.get(workerId);
    const remote = !!e?.host && !e.host.local;
    const s = await this.verify(workerId, remote ? REMOTE_MAX_AGE_MS : localMaxAgeMs);
    if (s.state !== "ok") throw missingError(e?.name ?? workerId, workerId, s.reason);
  }

  /** Before a session is accepted: every online worker of the pool must have its guard (fail closed). */
  async assertPoolReady(pool: { id: string; name: string }): Promise<void> {
    if (!this.enabled) return;
    const workers = this.deps.fleet.workers(pool.id).filter((w) => w.status === "online");
    await Promise.all(
      workers.map((w) => {
        this.keepFresh(w.id);
        return this.assertReady(w.id, LOCAL_SESSION_MAX_AGE_MS);
      }),
    );
  }

  /** Renews a local host's verification in the background while sessions are being accepted on it. */
  private keepFresh(workerId: string): void {
    const e = this.entries.get(workerId);
    if (!e?.host?.local) return;
    e.demandUntil = Date.now() + LOCAL_REFRESH_FOR_MS;
    if (e.refresh) return;
    e.refresh = setInterval(() => {
      if (Date.now() > e.demandUntil || this.entries.get(workerId) !== e) {
        clearInterval(e.refresh!);
        e.refresh = null;
      } else if (e.status.state === "ok") void this.verify(workerId);
    }, LOCAL_REFRESH_EVERY_MS);
    e.refresh.unref?.();
  }

  /** Heartbeat: verify every worker; where its allow-list now resolves differently, re-apply ("replace"). */
  async heartbeat(): Promise<void> {
    if (!this.enabled) return;
    const rows = new Map(this.deps.fleet.workers().map((w) => [w.id, w]));
    for (const id of this.entries.keys()) if (!rows.has(id)) this.entries.delete(id);
    await Promise.all(
      [...this.entries.values()].map(async (e) => {
        // An offline worker takes no session; it is installed again when it comes back.
        if (e.unguardable || rows.get(e.workerId)?.status === "offline") return;
        const s = await this.verify(e.workerId);
        // Also catches allow-lists and worker pools changed by the CLI, which writes the database directly.
        if (s.state !== "ok") return;
        const allow = await this.allowFor(e.workerId);
        if (JSON.stringify(allow) !== e.appliedAllow) {
          this.deps.log.info("egress allow-list changed (names resolve differently, or its pools' lists changed); re-applying the guard", { worker: e.name });
          await this.apply(e.workerId, "replace");
        }
      }),
    );
  }

  /** A pool's allow-list changed: re-apply on its workers whose guard is in place. */
  async poolChanged(poolId: string): Promise<void> {
    if (!this.enabled) return;
    await this.reapply(this.deps.fleet.workers(poolId).map((w) => w.id));
  }

  /** A worker serves other pools now: its table follows their allow-lists. */
  async workerPoolsChanged(workerId: string): Promise<void> {
    if (!this.enabled) return;
    await this.reapply([workerId]);
  }

  private async reapply(workerIds: string[]): Promise<void> {
    await Promise.all(workerIds.filter((id) => this.entries.get(id)?.status.state === "ok").map((id) => this.apply(id, "replace")));
  }

  /**
   * The allow-list of a worker's browsers: BROWSERGRID_EGRESS_ALLOW plus the entries that EVERY
   * pool it serves allows. All browsers of a worker share one bridge, so its table cannot tell
   * one pool's browser from another's; an entry only some of its pools allow would open that
   * destination to the others' browsers too (default-deny: it stays closed).
   */
  private poolEntries(workerId: string): AllowEntry[] {
    const common = allowedByEveryPool(this.deps.fleet.poolAllowLists(workerId));
    const out: AllowEntry[] = [...this.globalAllow];
    for (const raw of common) {
      try {
        out.push(parseAllowEntry(raw));
      } catch (err) {
        this.deps.log.warn("ignoring an invalid egress allow-list entry", { worker: this.entries.get(workerId)?.name, entry: raw, err: (err as Error).message });
      }
    }
    return out;
  }

  private allowFor(workerId: string): Promise<ResolvedAllow> {
    return resolveAllowList(this.poolEntries(workerId), this.resolve4);
  }

  /**
   * For user-space relays that connect from the host itself, below the packet filter (the proxy
   * relay's direct routes): exactly the policy the worker's table was last built from — the same
   * ranges, host addresses, connected subnets and allow-list. Without one (guard off, or not
   * applied yet) this host's policy with nothing allowed.
   */
  permitsDirect(workerId: string, ip: string, port: number): Reach {
    const applied = this.enabled ? this.entries.get(workerId)?.applied : null;
    return mayReach(applied ?? thisHostPolicy(this.deps.config.port), ip, port);
  }

  private apply(workerId: string, mode: "install" | "replace"): Promise<GuardStatus> {
    const e = this.entries.get(workerId);
    if (!this.enabled || !e) return Promise.resolve(this.status(workerId));
    if (!e.host) return Promise.resolve(e.status);
    const run = e.queue.then(async (): Promise<GuardStatus> => {
      const host = e.host!;
      try {
        // The engine is asked whether its bridges are within reach (rootless Docker) while the
        // ruleset is built and applied: each is a round trip, and at boot the `nft` process
        // then runs beside the building of the HTTP app. Where the engine is out of reach, the
        // applied table filters nothing and the status says why.
        const cannotInstall = host.cannotInstall();
        cannotInstall.catch(() => {}); // settled below
        const [facts, allow] = await Promise.all([host.facts(), this.allowFor(workerId)]);
        if (allow.unresolved.length) this.deps.log.warn("egress allow-list names that do not resolve open nothing", { worker: e.name, names: allow.unresolved });
        const c = this.deps.config;
        const policy: EgressPolicy = { host: hostEgress(facts, { browserDns: c.browserDns, hostPorts: [...this.hostPorts], ownPort: c.port }), allow };
        const text = buildRuleset({ table: this.table, bridges: [{ name: this.bridge, allow }], host: policy.host }, mode);
        const [cannot, applied] = await Promise.allSettled([cannotInstall, host.apply(text)]);
        if (cannot.status === "rejected") throw cannot.reason;
        // The table is in place but filters nothing there: verifications must not find it good.
        e.unguardable = cannot.value;
        if (cannot.value) return this.set(e, { state: "missing", reason: cannot.value, verifiedAt: null });
        if (applied.status === "rejected") throw applied.reason;
        e.appliedAllow = JSON.stringify(allow);
        e.applied = policy;
        if (mode === "install") this.deps.log.info("egress guard installed", { worker: e.name, table: `inet ${this.table}`, bridge: this.bridge, blocked: policy.host.blockedV4.length });
      } catch (err) {
        const reason = mode === "replace" ? `re-applying failed (${(err as Error).message}); the guard stays as it was` : (err as Error).message;
        this.deps.log.error("egress guard could not be applied", { worker: e.name, mode, err: (err as Error).message });
        if (mode === "install") return this.set(e, { state: "missing", reason, verifiedAt: null });
      }
      return this.runVerify(e);
    });
    e.queue = run.catch(() => {});
    return run;
  }

  private async runVerify(e: Entry): Promise<GuardStatus> {
    try {
      const listing = await e.host!.list(this.table);
      const problem = listing === null ? `the nftables table inet ${this.table} does not exist` : checkListing(listing, { table: this.table, bridge: this.bridge });
      return this.set(e, problem ? { state: "missing", reason: problem, verifiedAt: null } : { state: "ok", reason: null, verifiedAt: Date.now() });
    } catch (err) {
      return this.set(e, { state: "missing", reason: `cannot verify: ${(err as Error).message}`, verifiedAt: null });
    }
  }

  private set(e: Entry, s: GuardStatus): GuardStatus {
    if (e.status.state === "ok" && s.state !== "ok")
      this.deps.log.error("EGRESS GUARD MISSING: sessions on this worker are refused until it is re-applied", { worker: e.name, reason: s.reason, reapply: `POST /api/v1/workers/${e.workerId}/egress-guard` });
    e.status = s;
    e.settled = true;
    return s;
  }
}

export function missingError(workerName: string, workerId: string, reason: string | null): Unavailable {
  return new Unavailable(
    `The egress guard of worker "${workerName}" is not in place (${reason ?? "not verified"}), so no session starts there (fail closed). ` +
      `Re-apply it with POST /api/v1/workers/${workerId}/egress-guard (or restart BrowserGrid), drain that worker, or — only on an isolated machine — set BROWSERGRID_EGRESS_GUARD=off.`,
    "egress_guard_missing",
  );
}
