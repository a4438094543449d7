// A full BrowserGrid app — its services built by boot.ts's buildServices and createApp with every
// module, exactly as in production — on an in-memory database, with one user per role, an API key each and a signed-in admin cookie.
// Time is a movable clock (`advance(ms)`) so rate limits and expiries need no sleeping.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config";
import { openMemoryDatabase } from "../../src/db/client";
import { log } from "../../src/lib/logger";
import type { AppDeps } from "../../src/http/context";
import { createApp } from "../../src/http/app";
import { buildServices, type ServiceInputs } from "../../src/boot";
import { ProviderRegistryImpl } from "../../src/providers/registry";
import { ensureDefaultPool } from "../../src/modules/pools/pools.service";
import { createUser, type UserRow } from "../../src/modules/users/users.service";
import { createApiKey } from "../../src/modules/api-keys/api-keys.service";
import { createAuthSession, SESSION_COOKIE } from "../../src/modules/auth/auth-sessions.service";
import type { Role } from "../../src/db/schema";

export const PASSWORDS: Record<Role, string> = {
  admin: "admin-password-long-enough",
  member: "member-password-long-enough",
  viewer: "viewer-password-long-enough",
};
export const ORIGIN = "http://localhost";

export interface TestApp {
  app: { handle(req: Request): Promise<Response>; routes: { method: string; path: string }[] };
  deps: AppDeps;
  /** Moves the injected clock forward. */
  advance(ms: number): void;
  users: Record<Role, UserRow>;
  adminKey: string;
  memberKey: string;
  viewerKey: string;
  /** `bg_session=…` for the admin, ready for a Cookie header. */
  cookie: string;
  /** JSON request helper; `auth` is an API key (Bearer) or a Cookie header value. */
  call(method: string, path: string, opts?: { body?: unknown; auth?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
}

export async function makeTestApp(
  opts: { env?: Record<string, string>; withUsers?: boolean; providers?: ProviderRegistryImpl; networkParts?: ServiceInputs["networkParts"]; schedules?: ServiceInputs["schedules"]; runs?: ServiceInputs["runs"] } = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), "bg-test-"));
  const config = loadConfig({ BROWSERGRID_DATA_DIR: dataDir, ...opts.env });
  const db = openMemoryDatabase();
  ensureDefaultPool(db);
  const installKey = Buffer.from(crypto.getRandomValues(new Uint8Array(32)));
  let t = Date.now();
  const { deps } = buildServices({ config, db, log, installKey, providers: opts.providers ?? new ProviderRegistryImpl(), startedAt: t, version: "test", now: () => t, networkParts: opts.networkParts, schedules: opts.schedules, runs: opts.runs });
  const app = createApp(deps) as unknown as TestApp["app"];

  const users = {} as Record<Role, UserRow>;
  const keys = {} as Record<Role, string>;
  let cookie = "";
  if (opts.withUsers !== false) {
    for (const role of ["admin", "member", "viewer"] as const) {
      users[role] = await createUser(deps, { email: `${role}@example.com`, password: PASSWORDS[role], role });
      keys[role] = createApiKey(deps, { userId: users[role].id, role }, { name: `${role} key` }).key;
    }
    cookie = `${SESSION_COOKIE}=${createAuthSession(deps, users.admin.id).token}`;
  }

  async function call(method: string, path: string, o: { body?: unknown; auth?: string; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...o.headers };
    if (o.auth?.startsWith("bg_session=")) {
      headers.cookie = o.auth;
      headers.origin ??= ORIGIN;
    } else if (o.auth) headers.authorization = `Bearer ${o.auth}`;
    if (o.body !== undefined) headers["content-type"] ??= "application/json";
    const res = await app.handle(
      new Request(`http://localhost${path}`, { method, headers, body: o.body === undefined ? undefined : typeof o.body === "string" ? o.body : JSON.stringify(o.body) }),
    );
    const text = await res.text();
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {}
    return { status: res.status, body, headers: res.headers };
  }

  return {
    app,
    deps,
    advance: (ms) => void (t += ms),
    users,
    adminKey: keys.admin,
    memberKey: keys.member,
    viewerKey: keys.viewer,
    cookie,
    call,
  };
}
