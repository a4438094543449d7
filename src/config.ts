// Environment parsed once, validated and frozen. A bad value stops start-up with one line
// naming the variable and what to fix, before anything is created on disk.
import { accessSync, constants, existsSync, mkdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { isIP } from "node:net";
import { normalizeAllowList } from "./security/egress/allow-list";
import { checkAllowedHostEntry } from "./security/host-allow-list";
import { DEFAULT_ENGINE_TIMEOUT_MS } from "./providers/engine-deadlines";

export type LogLevel = "debug" | "info" | "warn" | "error";
const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  publicUrl: string;
  logLevel: LogLevel;
  dockerSocket: string;
  /** Image repository; the flavour is the tag (browsergrid/browser:headless-shell). */
  browserImage: string;
  /** Full API keys accepted without a database row (headless installs); hashed on load. */
  staticApiKeys: string[];
  adminEmail?: string;
  adminPassword?: string;
  /** Addresses whose X-Forwarded-For / auth header we believe. */
  trustedProxies: string[];
  /** Extra host names (besides the public URL's, loopback and the listen address) the server answers to. */
  allowedHosts: string[];
  /** Header carrying the user's email when set by a trusted proxy (SSO in front). */
  authProxyHeader?: string;
  apiRateLimitPerMinute: number;
  sessionMaxDurationSec: number;
  /** Profiles: versions kept per profile, and the size cap of one profile's files (bytes). */
  profileVersionsKept: number;
  profileMaxBytes: number;
  /** Session artifacts: deleted past this age, and oldest first past this total (bytes). */
  artifactMaxAgeDays: number;
  artifactMaxTotalBytes: number;
  /** Deployments: the largest bundle upload (compressed) and its files once unpacked (bytes). */
  deploymentBundleMaxBytes: number;
  deploymentUnpackedMaxBytes: number;
  /** The egress guard (nftables below the browsers): on unless explicitly "off". */
  egressGuard: boolean;
  /** Allow-list entries every pool gets (same syntax as a pool's egressAllow). */
  egressAllow: string[];
  /** DNS servers of browser containers (HostConfig.Dns); the guard lets port 53 through to them. */
  browserDns: string[];
  /** Docker network (bridge) of browser containers. */
  dockerNetwork: string;
  /** nftables table (family inet) of the egress guard: one per host. */
  egressTable: string;
  /** Deadline of a quick Docker engine call (inspect, list, info, network), ms; slower kinds are multiples (src/providers/engine-deadlines.ts). */
  engineTimeoutMs: number;
  /** How often every worker's engine is checked (and stuck starts are swept), ms. */
  heartbeatMs: number;
  /** Port of the runner door on the browser network's gateway (src/http/runner-door.ts); 0: any free one, kept across restarts. */
  runnerPort: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, fallback: string, maxLen = 4096): string {
  const v = env[name];
  if (v === undefined || v === "") return fallback;
  if (v.length > maxLen) throw new ConfigError(name, `longer than ${maxLen} characters`);
  return v;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new ConfigError(name, `must be from ${min} to ${max}, got ${n}`);
  return n;
}

function list(env: Env, name: string): string[] {
  return str(env, name, "", 65536)
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The data dir must exist (or be creatable) and be writable; checked before anything is written. */
function checkDataDir(dir: string): void {
  const name = "BROWSERGRID_DATA_DIR";
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new ConfigError(name, `${dir} exists and is not a directory`);
    // A probe write also catches read-only file systems, which access() does not for root.
    const probe = join(dir, `.write-test-${process.pid}`);
    try {
      writeFileSync(probe, "");
      unlinkSync(probe);
    } catch {
      throw new ConfigError(name, `${dir} is not writable by this user; fix its permissions or choose another directory`);
    }
    return;
  }
  let parent = resolve(dir, "..");
  while (!existsSync(parent)) parent = resolve(parent, "..");
  if (!statSync(parent).isDirectory()) throw new ConfigError(name, `cannot create ${dir}: ${parent} is not a directory`);
  try {
    accessSync(parent, constants.W_OK | constants.X_OK);
  } catch {
    throw new ConfigError(name, `cannot create ${dir}: ${parent} is not writable by this user`);
  }
}

export function loadConfig(env: Env = process.env, opts: { createDataDir?: boolean } = {}): Readonly<Config> {
  const host = str(env, "BROWSERGRID_HOST", "127.0.0.1", 255);
  if (!/^[A-Za-z0-9.:\-\[\]]+$/.test(host)) throw new ConfigError("BROWSERGRID_HOST", `"${host}" is not a host name or address`);
  const port = int(env, "BROWSERGRID_PORT", 7070, 1, 65535);
  const dataDir = resolve(str(env, "BROWSERGRID_DATA_DIR", defaultDataDir(env)));
  checkDataDir(dataDir);

  const level = str(env, "BROWSERGRID_LOG_LEVEL", "info").toLowerCase();
  if (!LOG_LEVELS.includes(level as LogLevel))
    throw new ConfigError("BROWSERGRID_LOG_LEVEL", `must be one of ${LOG_LEVELS.join(", ")}, got "${level}"`);

  const displayHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const publicUrlRaw = str(env, "BROWSERGRID_PUBLIC_URL", `http://${displayHost}:${port}`, 2048).replace(/\/+$/, "");
  let publicUrl: URL;
  try {
    publicUrl = new URL(publicUrlRaw);
  } catch {
    throw new ConfigError("BROWSERGRID_PUBLIC_URL", `"${publicUrlRaw}" is not a URL (example: https://grid.example.com)`);
  }
  if (publicUrl.protocol !== "http:" && publicUrl.protocol !== "https:")
    throw new ConfigError("BROWSERGRID_PUBLIC_URL", "must start with http:// or https://");

  const allowedHosts = list(env, "BROWSERGRID_ALLOWED_HOSTS");
  for (const h of allowedHosts) {
    const problem = checkAllowedHostEntry(h);
    if (problem) throw new ConfigError("BROWSERGRID_ALLOWED_HOSTS", problem);
  }

  const staticApiKeys = list(env, "BROWSERGRID_API_KEYS");
  for (const k of staticApiKeys)
    if (!/^bg_[A-Za-z0-9]{8,32}_[A-Za-z0-9]{16,128}$/.test(k))
      throw new ConfigError("BROWSERGRID_API_KEYS", "each key must look like bg_<id>_<secret> (letters and digits; id 8-32, secret 16-128 characters)");

  const adminEmail = env.BROWSERGRID_ADMIN_EMAIL || undefined;
  const adminPassword = env.BROWSERGRID_ADMIN_PASSWORD || undefined;
  if (!!adminEmail !== !!adminPassword)
    throw new ConfigError(adminEmail ? "BROWSERGRID_ADMIN_PASSWORD" : "BROWSERGRID_ADMIN_EMAIL", "set both BROWSERGRID_ADMIN_EMAIL and BROWSERGRID_ADMIN_PASSWORD, or neither");

  const authProxyHeader = str(env, "BROWSERGRID_AUTH_PROXY_HEADER", "", 128).toLowerCase() || undefined;
  const trustedProxies = list(env, "BROWSERGRID_TRUSTED_PROXIES");
  if (authProxyHeader && trustedProxies.length === 0)
    throw new ConfigError("BROWSERGRID_AUTH_PROXY_HEADER", "needs BROWSERGRID_TRUSTED_PROXIES (the proxy addresses allowed to set it)");

  const guardRaw = str(env, "BROWSERGRID_EGRESS_GUARD", "on", 8).toLowerCase();
  if (guardRaw !== "on" && guardRaw !== "off") throw new ConfigError("BROWSERGRID_EGRESS_GUARD", `must be "on" or "off", got "${guardRaw}"`);
  let egressAllow: string[];
  try {
    egressAllow = normalizeAllowList(list(env, "BROWSERGRID_EGRESS_ALLOW"), "BROWSERGRID_EGRESS_ALLOW");
  } catch (err) {
    throw new ConfigError("BROWSERGRID_EGRESS_ALLOW", (err as Error).message.replace(/^BROWSERGRID_EGRESS_ALLOW: /, ""));
  }
  const browserDns = list(env, "BROWSERGRID_BROWSER_DNS");
  for (const ip of browserDns)
    if (isIP(ip) !== 4 || ip.startsWith("127.")) throw new ConfigError("BROWSERGRID_BROWSER_DNS", `"${ip.slice(0, 64)}" is not an IPv4 address a container can reach (comma-separated IPv4 addresses, no loopback)`);
  const dockerNetwork = str(env, "BROWSERGRID_DOCKER_NETWORK", "browsergrid-default", 64);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(dockerNetwork)) throw new ConfigError("BROWSERGRID_DOCKER_NETWORK", "must be 1-63 letters, digits, '.', '-' or '_'");
  const egressTable = str(env, "BROWSERGRID_EGRESS_TABLE", "browsergrid", 32);
  if (!/^[a-z][a-z0-9_]{0,31}$/.test(egressTable)) throw new ConfigError("BROWSERGRID_EGRESS_TABLE", "must be 1-32 lowercase letters, digits or '_', starting with a letter");

  const engineTimeoutMs = int(env, "BROWSERGRID_ENGINE_TIMEOUT_MS", DEFAULT_ENGINE_TIMEOUT_MS, 200, 600_000);
  const heartbeatMs = int(env, "BROWSERGRID_HEARTBEAT_MS", 5_000, 200, 600_000);
  const runnerPort = int(env, "BROWSERGRID_RUNNER_PORT", 0, 0, 65535);
  if (runnerPort !== 0 && runnerPort === port) throw new ConfigError("BROWSERGRID_RUNNER_PORT", `must differ from BROWSERGRID_PORT (${port}): the runner door is a listener of its own`);

  if (opts.createDataDir !== false) mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  return Object.freeze({
    host,
    port,
    dataDir,
    publicUrl: publicUrl.toString().replace(/\/+$/, ""),
    logLevel: level as LogLevel,
    dockerSocket: str(env, "BROWSERGRID_DOCKER_SOCKET", "/var/run/docker.sock", 1024),
    browserImage: str(env, "BROWSERGRID_BROWSER_IMAGE", "browsergrid/browser", 255),
    staticApiKeys,
    adminEmail,
    adminPassword,
    trustedProxies,
    allowedHosts,
    authProxyHeader,
    apiRateLimitPerMinute: int(env, "BROWSERGRID_API_RATE_LIMIT", 600, 1, 1_000_000),
    sessionMaxDurationSec: int(env, "BROWSERGRID_SESSION_MAX_DURATION", 3600, 10, 7 * 24 * 3600),
    profileVersionsKept: int(env, "BROWSERGRID_PROFILE_VERSIONS", 5, 1, 100),
    profileMaxBytes: int(env, "BROWSERGRID_PROFILE_MAX_MB", 512, 1, 16_384) * 1024 * 1024,
    artifactMaxAgeDays: int(env, "BROWSERGRID_ARTIFACT_MAX_AGE_DAYS", 7, 1, 3650),
    artifactMaxTotalBytes: int(env, "BROWSERGRID_ARTIFACT_MAX_TOTAL_MB", 2048, 1, 10_000_000) * 1024 * 1024,
    deploymentBundleMaxBytes: int(env, "BROWSERGRID_DEPLOYMENT_BUNDLE_MAX_MB", 50, 1, 1024) * 1024 * 1024,
    deploymentUnpackedMaxBytes: int(env, "BROWSERGRID_DEPLOYMENT_UNPACKED_MAX_MB", 200, 1, 8192) * 1024 * 1024,
    egressGuard: guardRaw === "on",
    egressAllow,
    browserDns,
    dockerNetwork,
    egressTable,
    engineTimeoutMs,
    heartbeatMs,
    runnerPort,
  });
}

function defaultDataDir(env: Env): string {
  if (env.XDG_DATA_HOME) return `${env.XDG_DATA_HOME}/browsergrid`;
  if (process.getuid?.() === 0) return "/var/lib/browsergrid";
  return `${env.HOME ?? "."}/.local/share/browsergrid`;
}
