// Bring-your-own proxies: stored with the password sealed under the install key (secret-box),
// shown without it (`username`, `hasPassword`), routed per domain to "direct" or another proxy.
// Routes refer to proxies by id, so a rename never breaks them; a proxy that a pool, a live
// session or another proxy's route uses cannot be deleted.
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { pools, proxies, SESSION_TERMINAL, sessions } from "../../db/schema";
import { BadRequest, Conflict, NotFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { open, seal } from "../../security/secret-box";
import { checkCredentials, checkDomainPattern, checkProxyName, displayUrl, matchesDomain, parseProxyUrl, type ProxyScheme } from "./proxy-url";

export type ProxyRow = typeof proxies.$inferSelect;
export const PROXY_PASSWORD_PURPOSE = "proxy-password";
export const MAX_ROUTES = 32;
export const MAX_ROUTE_DOMAINS = 64;
/** Deepest chain of `via` hops followed; validation keeps real chains acyclic and short. */
export const MAX_VIA_DEPTH = 8;

export interface RouteInput {
  domains: string[];
  via: string;
}

export interface ProxyInput {
  name?: string;
  url?: string;
  username?: string | null;
  password?: string | null;
  routes?: RouteInput[];
}

export interface PublicProxy {
  id: string;
  name: string;
  url: string;
  scheme: ProxyScheme;
  host: string;
  port: number;
  username: string | null;
  hasPassword: boolean;
  routes: { domains: string[]; via: string }[];
  usedBy: { pools: string[] };
  createdAt: string;
  updatedAt: string;
}

/** A proxy as the relay uses it: credentials in clear, in memory only. */
export interface UpstreamProxy {
  id: string;
  name: string;
  scheme: ProxyScheme;
  host: string;
  port: number;
  username?: string;
  password?: string;
}

export type Route = { kind: "direct" } | { kind: "proxy"; proxy: UpstreamProxy };

export function listProxies(db: Db): ProxyRow[] {
  return db.select().from(proxies).orderBy(proxies.name).all();
}

/** By id or by name. */
export function findProxy(db: Db, idOrName: string): ProxyRow | undefined {
  return db.select().from(proxies).where(eq(proxies.id, idOrName)).get() ?? db.select().from(proxies).where(eq(proxies.name, idOrName)).get();
}

export function getProxy(db: Db, idOrName: string): ProxyRow {
  const p = findProxy(db, idOrName);
  if (!p) throw new NotFound(`Proxy "${idOrName.slice(0, 64)}"`);
  return p;
}

export function unknownProxy(name: string): BadRequest {
  return new BadRequest(`Unknown proxy "${name.slice(0, 64)}": GET /api/v1/proxies lists the proxies; create one with POST /api/v1/proxies.`, "unknown_proxy");
}

/** The proxy id for a pool default or session request; 400 unknown_proxy when there is none. */
export function resolveProxyId(db: Db, idOrName: string): string {
  const p = findProxy(db, idOrName);
  if (!p) throw unknownProxy(idOrName);
  return p.id;
}

export function proxyName(db: Db, id: string): string | null {
  return db.select({ name: proxies.name }).from(proxies).where(eq(proxies.id, id)).get()?.name ?? null;
}

export function toPublicProxy(db: Db, p: ProxyRow): PublicProxy {
  const names = new Map(listProxies(db).map((x) => [x.id, x.name]));
  return {
    id: p.id,
    name: p.name,
    url: displayUrl(p),
    scheme: p.scheme,
    host: p.host,
    port: p.port,
    username: p.username,
    hasPassword: !!p.passwordEncrypted,
    routes: p.routes.map((r) => ({ domains: r.domains, via: r.via === "direct" ? "direct" : (names.get(r.via) ?? r.via) })),
    usedBy: { pools: db.select({ name: pools.name }).from(pools).where(eq(pools.proxyId, p.id)).all().map((x) => x.name) },
    createdAt: new Date(p.createdAt).toISOString(),
    updatedAt: new Date(p.updatedAt).toISOString(),
  };
}

/** Route inputs (via by name or id) → stored routes (via by id); refuses bad patterns, unknown proxies and loops. */
function checkRoutes(db: Db, selfId: string, input: RouteInput[]): ProxyRow["routes"] {
  if (input.length > MAX_ROUTES) throw new BadRequest(`At most ${MAX_ROUTES} routes per proxy.`, "invalid_route");
  const out = input.map((r, i) => {
    if (!r.domains.length) throw new BadRequest(`Route ${i + 1} has no domains.`, "invalid_route");
    if (r.domains.length > MAX_ROUTE_DOMAINS) throw new BadRequest(`Route ${i + 1} has more than ${MAX_ROUTE_DOMAINS} domains.`, "invalid_route");
    const domains = r.domains.map(checkDomainPattern);
    if (r.via === "direct") return { domains, via: "direct" };
    const target = findProxy(db, r.via);
    if (!target) throw new BadRequest(`Route ${i + 1} goes via proxy "${r.via.slice(0, 64)}", which does not exist: use "direct" or the name of another proxy.`, "invalid_route");
    if (target.id === selfId) throw new BadRequest(`Route ${i + 1} goes via this proxy itself: use "direct" or another proxy.`, "route_loop");
    return { domains, via: target.id };
  });
  // The whole via graph with this proxy's new routes must stay free of cycles.
  const edges = new Map(listProxies(db).map((p) => [p.id, p.routes.map((r) => r.via).filter((v) => v !== "direct")]));
  edges.set(selfId, out.map((r) => r.via).filter((v) => v !== "direct"));
  const names = new Map(listProxies(db).map((p) => [p.id, p.name]));
  const path: string[] = [];
  const visit = (id: string, depth: number): void => {
    if (path.includes(id)) throw new BadRequest(`These routes form a loop: ${[...path.slice(path.indexOf(id)), id].map((x) => names.get(x) ?? "this proxy").join(" → ")}.`, "route_loop");
    if (depth > MAX_VIA_DEPTH) throw new BadRequest(`Routes chain more than ${MAX_VIA_DEPTH} proxies.`, "invalid_route");
    path.push(id);
    for (const next of edges.get(id) ?? []) visit(next, depth + 1);
    path.pop();
  };
  visit(selfId, 0);
  return out;
}

interface Resolved {
  scheme: ProxyScheme;
  host: string;
  port: number;
  username: string | null;
  /** undefined: keep what is stored. */
  password: string | null | undefined;
}

/** Merges URL credentials and the separate fields; both at once is refused (which one wins would be a guess). */
function resolveFields(input: ProxyInput, before?: ProxyRow): Resolved {
  const parsed = input.url !== undefined ? parseProxyUrl(input.url) : undefined;
  if (parsed?.username !== undefined && (input.username !== undefined || input.password !== undefined))
    throw new BadRequest(`Give the credentials either in "url" (user:password@host) or as "username"/"password", not both.`, "invalid_credentials");
  const base = parsed ?? (before ? { scheme: before.scheme, host: before.host, port: before.port } : undefined);
  if (!base) throw new BadRequest(`"url" is required: http://host:port, https://host:port or socks5://host:port.`, "invalid_proxy_url");
  let username = before?.username ?? null;
  let password: string | null | undefined = undefined;
  if (parsed?.username !== undefined) {
    username = parsed.username;
    password = parsed.password ?? null;
  }
  if (input.username !== undefined) {
    username = input.username;
    // A new user name without a new password would pair it with the old user's password.
    if (input.username === null || (before && input.username !== before.username && input.password === undefined)) password = input.password ?? null;
  }
  if (input.password !== undefined) password = input.password;
  const keptPassword = password === undefined ? !!before?.passwordEncrypted : !!password;
  checkCredentials(base.scheme, username, keptPassword ? (password ?? "x") : null);
  return { scheme: base.scheme, host: base.host, port: base.port, username, password };
}

export function createProxy(db: Db, installKey: Buffer, input: ProxyInput & { name: string; url: string }): ProxyRow {
  checkProxyName(input.name);
  const id = newId("prx");
  const f = resolveFields(input);
  const routes = checkRoutes(db, id, input.routes ?? []);
  return db.transaction((tx) => {
    if (tx.select().from(proxies).where(eq(proxies.name, input.name)).get()) throw new Conflict(`A proxy named "${input.name}" exists already.`, "proxy_exists");
    return tx
      .insert(proxies)
      .values({ id, name: input.name, scheme: f.scheme, host: f.host, port: f.port, username: f.username, passwordEncrypted: f.password ? seal(installKey, PROXY_PASSWORD_PURPOSE, f.password) : null, routes })
      .returning()
      .get();
  });
}

export function updateProxy(db: Db, installKey: Buffer, idOrName: string, input: ProxyInput): ProxyRow {
  const before = getProxy(db, idOrName);
  if (input.name !== undefined) checkProxyName(input.name);
  const f = resolveFields(input, before);
  const routes = input.routes !== undefined ? checkRoutes(db, before.id, input.routes) : before.routes;
  return db.transaction((tx) => {
    if (input.name !== undefined && input.name !== before.name && tx.select().from(proxies).where(eq(proxies.name, input.name)).get())
      throw new Conflict(`A proxy named "${input.name}" exists already.`, "proxy_exists");
    const set: Partial<ProxyRow> = { scheme: f.scheme, host: f.host, port: f.port, username: f.username, routes, updatedAt: Date.now() };
    if (input.name !== undefined) set.name = input.name;
    if (f.password !== undefined) set.passwordEncrypted = f.password ? seal(installKey, PROXY_PASSWORD_PURPOSE, f.password) : null;
    if (!f.username) set.passwordEncrypted = null;
    return tx.update(proxies).set(set).where(eq(proxies.id, before.id)).returning().get()!;
  });
}

/** Live sessions that run with this proxy (stored in their config when they started). */
function liveSessionsUsing(db: Db, proxyId: string): string[] {
  return db
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(sql`json_extract(${sessions.config}, '$.proxy.id') = ${proxyId}`, sql`${sessions.status} NOT IN ${[...SESSION_TERMINAL]}`))
    .all()
    .map((r) => r.id);
}

export function deleteProxy(db: Db, idOrName: string): ProxyRow {
  return db.transaction((tx) => {
    const p = tx.select().from(proxies).where(eq(proxies.id, idOrName)).get() ?? tx.select().from(proxies).where(eq(proxies.name, idOrName)).get();
    if (!p) throw new NotFound(`Proxy "${idOrName.slice(0, 64)}"`);
    const poolNames = tx.select({ name: pools.name }).from(pools).where(eq(pools.proxyId, p.id)).all().map((x) => x.name);
    if (poolNames.length)
      throw new Conflict(`Proxy "${p.name}" is the default proxy of pool(s) ${poolNames.map((n) => `"${n}"`).join(", ")}: set another one (PATCH /api/v1/pools/<name> {"proxy": null}) first.`, "proxy_in_use");
    const routing = tx.select().from(proxies).all().filter((o) => o.routes.some((r) => r.via === p.id)).map((o) => o.name);
    if (routing.length) throw new Conflict(`Proxy "${p.name}" is used by the routes of proxy(ies) ${routing.map((n) => `"${n}"`).join(", ")}: change those routes first.`, "proxy_in_use");
    const live = liveSessionsUsing(db, p.id);
    if (live.length) throw new Conflict(`Proxy "${p.name}" is in use by ${live.length} live session(s) (${live.slice(0, 3).join(", ")}): stop them or wait until they end.`, "proxy_in_use");
    tx.delete(proxies).where(eq(proxies.id, p.id)).run();
    return p;
  });
}

// ---- what the relay needs ------------------------------------------------------------------

export function upstreamOf(installKey: Buffer, p: ProxyRow): UpstreamProxy {
  return {
    id: p.id,
    name: p.name,
    scheme: p.scheme,
    host: p.host,
    port: p.port,
    ...(p.username ? { username: p.username } : {}),
    ...(p.passwordEncrypted ? { password: open(installKey, PROXY_PASSWORD_PURPOSE, p.passwordEncrypted) } : {}),
  };
}

/**
 * Where a connection to `host` goes for a session running with proxy `proxyId`: the first
 * matching route of the proxy (direct, or on to another proxy whose routes apply in turn),
 * otherwise the proxy itself. Read fresh per connection so changed credentials apply at once.
 */
export function routeFor(db: Db, installKey: Buffer, proxyId: string, host: string): Route {
  let current = db.select().from(proxies).where(eq(proxies.id, proxyId)).get();
  for (let depth = 0; current && depth <= MAX_VIA_DEPTH; depth++) {
    const hit = current.routes.find((r) => r.domains.some((d) => matchesDomain(d, host)));
    if (!hit) return { kind: "proxy", proxy: upstreamOf(installKey, current) };
    if (hit.via === "direct") return { kind: "direct" };
    current = db.select().from(proxies).where(eq(proxies.id, hit.via)).get();
  }
  throw new Error(`proxy ${proxyId} no longer exists or routes too deep`);
}

/** The proxy and every proxy its routes can lead to (each checked at session create). */
export function proxyClosure(db: Db, proxyId: string): ProxyRow[] {
  const seen = new Map<string, ProxyRow>();
  const walk = (id: string, depth: number) => {
    if (seen.has(id) || depth > MAX_VIA_DEPTH) return;
    const p = db.select().from(proxies).where(eq(proxies.id, id)).get();
    if (!p) return;
    seen.set(id, p);
    for (const r of p.routes) if (r.via !== "direct") walk(r.via, depth + 1);
  };
  walk(proxyId, 0);
  return [...seen.values()];
}
