// browsergrid.json, the manifest at the top of every bundle (docs/deployments.md has the
// reference). Parsed strictly: an unknown key at any level is refused, not ignored, because a
// misspelt "timeoutsec" silently dropped would run the code with a limit its author did not set.
// The entry must be a regular file of the bundle with an extension its runtime runs. Pool,
// profile, proxy and rule-set names are checked to exist when the version is deployed
// (checkManifestRefs); they may be deleted later, which the run then reports.
import { BadRequest } from "../../lib/errors";
import { checkParamsSchema, type ParamsSchema } from "./params-schema";

export const MANIFEST_FILE = "browsergrid.json";
export const MAX_MANIFEST_BYTES = 64 * 1024;
/** Deployment names: the same rule as pool names (lowercase, digits, "-", "_"). */
export const DEPLOYMENT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const RUNTIMES = ["bun", "python"] as const;
export type Runtime = (typeof RUNTIMES)[number];
export const ENTRY_EXTENSIONS: Record<Runtime, readonly string[]> = {
  bun: [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"],
  python: [".py"],
};
export const FLAVOURS = ["headless-shell", "chromium"] as const;
export const MANIFEST_LIMITS = {
  timeoutSec: { min: 1, max: 24 * 3600 },
  retriesMax: { min: 0, max: 10 },
  backoffSec: { min: 0, max: 3600 },
  concurrency: { min: 1, max: 100 },
  ruleSets: 20,
  viewport: { width: [200, 7680], height: [200, 4320] },
} as const;
/** What a run uses when the manifest leaves a field out (the runs module applies these). */
export const MANIFEST_DEFAULTS = { timeoutSec: 300, retries: { max: 0, backoffSec: 10 }, concurrency: 1 } as const;

export interface BrowserOptions {
  pool?: string;
  flavour?: (typeof FLAVOURS)[number];
  profile?: string | { name: string; persist?: boolean };
  proxy?: string;
  ruleSets?: string[];
  viewport?: { width: number; height: number };
}

export interface Manifest {
  name: string;
  entry: string;
  runtime: Runtime;
  params?: ParamsSchema;
  browser?: BrowserOptions;
  timeoutSec?: number;
  retries?: { max: number; backoffSec: number };
  concurrency?: number;
}

/** What is in the bundle, by normalised relative path. */
export type BundleListing = ReadonlyMap<string, { type: "file" | "directory"; size: number }>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function refuse(message: string, code = "invalid_manifest"): never {
  throw new BadRequest(`browsergrid.json: ${message}`, code);
}

function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) refuse(`unknown key "${k.slice(0, 64)}"${where ? ` in "${where}"` : ""} (allowed: ${allowed.join(", ")}).`);
}

function wholeIn(v: unknown, field: string, range: { min: number; max: number }): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < range.min || v > range.max) refuse(`"${field}" must be a whole number from ${range.min} to ${range.max}.`);
  return v;
}

function refName(v: unknown, field: string): string {
  if (typeof v !== "string" || v.length === 0 || v.length > 128) refuse(`"${field}" must be a name of 1 to 128 characters.`);
  return v;
}

/** The manifest's text → a checked Manifest, against what the bundle holds. */
export function parseManifest(text: string, listing: BundleListing): Manifest {
  if (text.length > MAX_MANIFEST_BYTES) refuse(`larger than ${MAX_MANIFEST_BYTES} bytes.`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    refuse(`not valid JSON (${String((err as Error).message).slice(0, 200)}).`);
  }
  return checkManifest(raw, listing);
}

export function checkManifest(raw: unknown, listing: BundleListing): Manifest {
  if (!isObject(raw)) refuse("must be a JSON object.");
  onlyKeys(raw, ["name", "entry", "runtime", "params", "browser", "timeoutSec", "retries", "concurrency"], "");
  if (typeof raw.name !== "string" || !DEPLOYMENT_NAME.test(raw.name)) refuse('"name" must be 1-63 lowercase letters, digits, "-" or "_", starting with a letter or digit.', "invalid_name");
  if (!(RUNTIMES as readonly unknown[]).includes(raw.runtime)) refuse(`"runtime" must be one of ${RUNTIMES.map((r) => `"${r}"`).join(", ")}${typeof raw.runtime === "string" ? ` (got "${raw.runtime.slice(0, 32)}")` : ""}.`, "unknown_runtime");
  const runtime = raw.runtime as Runtime;
  const m: Manifest = { name: raw.name, entry: checkEntry(raw.entry, runtime, listing), runtime };
  if (raw.params !== undefined) m.params = checkParamsSchema(raw.params, "params");
  if (raw.browser !== undefined) m.browser = checkBrowser(raw.browser);
  if (raw.timeoutSec !== undefined) m.timeoutSec = wholeIn(raw.timeoutSec, "timeoutSec", MANIFEST_LIMITS.timeoutSec);
  if (raw.retries !== undefined) {
    if (!isObject(raw.retries)) refuse('"retries" must be an object {"max": n, "backoffSec": s}.');
    onlyKeys(raw.retries, ["max", "backoffSec"], "retries");
    m.retries = {
      max: wholeIn(raw.retries.max, "retries.max", MANIFEST_LIMITS.retriesMax),
      backoffSec: raw.retries.backoffSec === undefined ? MANIFEST_DEFAULTS.retries.backoffSec : wholeIn(raw.retries.backoffSec, "retries.backoffSec", MANIFEST_LIMITS.backoffSec),
    };
  }
  if (raw.concurrency !== undefined) m.concurrency = wholeIn(raw.concurrency, "concurrency", MANIFEST_LIMITS.concurrency);
  return m;
}

function checkEntry(entry: unknown, runtime: Runtime, listing: BundleListing): string {
  if (typeof entry !== "string" || entry.length === 0 || entry.length > 1024) refuse('"entry" must be the path of the file to run, relative to the bundle (e.g. "main.ts").', "invalid_entry");
  const path = entry.replace(/^\.\//, "");
  if (path.startsWith("/") || path.includes("\\") || path.split("/").some((s) => s === "" || s === "." || s === ".."))
    refuse(`"entry" "${entry.slice(0, 200)}" must be a relative path inside the bundle.`, "invalid_entry");
  const found = listing.get(path);
  if (!found) refuse(`"entry" "${path.slice(0, 200)}" is not in the bundle.`, "invalid_entry");
  if (found.type !== "file") refuse(`"entry" "${path.slice(0, 200)}" is a directory, not a file.`, "invalid_entry");
  const exts = ENTRY_EXTENSIONS[runtime];
  if (!exts.some((e) => path.endsWith(e))) refuse(`"entry" "${path.slice(0, 200)}" must end in ${exts.join(", ")} for runtime "${runtime}".`, "invalid_entry");
  return path;
}

function checkBrowser(raw: unknown): BrowserOptions {
  if (!isObject(raw)) refuse('"browser" must be an object.');
  onlyKeys(raw, ["pool", "flavour", "profile", "proxy", "ruleSets", "viewport"], "browser");
  const b: BrowserOptions = {};
  if (raw.pool !== undefined) b.pool = refName(raw.pool, "browser.pool");
  if (raw.flavour !== undefined) {
    if (!(FLAVOURS as readonly unknown[]).includes(raw.flavour)) refuse(`"browser.flavour" must be one of ${FLAVOURS.map((f) => `"${f}"`).join(", ")}.`);
    b.flavour = raw.flavour as BrowserOptions["flavour"];
  }
  if (raw.profile !== undefined) {
    if (isObject(raw.profile)) {
      onlyKeys(raw.profile, ["name", "persist"], "browser.profile");
      if (raw.profile.persist !== undefined && typeof raw.profile.persist !== "boolean") refuse('"browser.profile.persist" must be true or false.');
      b.profile = { name: refName(raw.profile.name, "browser.profile.name"), ...(raw.profile.persist !== undefined ? { persist: raw.profile.persist as boolean } : {}) };
    } else b.profile = refName(raw.profile, "browser.profile");
  }
  if (raw.proxy !== undefined) b.proxy = refName(raw.proxy, "browser.proxy");
  if (raw.ruleSets !== undefined) {
    if (!Array.isArray(raw.ruleSets) || raw.ruleSets.length > MANIFEST_LIMITS.ruleSets) refuse(`"browser.ruleSets" must be a list of at most ${MANIFEST_LIMITS.ruleSets} rule set names.`);
    b.ruleSets = raw.ruleSets.map((r, i) => refName(r, `browser.ruleSets[${i}]`));
    if (new Set(b.ruleSets).size !== b.ruleSets.length) refuse('"browser.ruleSets" lists a rule set twice.');
  }
  if (raw.viewport !== undefined) {
    if (!isObject(raw.viewport)) refuse('"browser.viewport" must be {"width": w, "height": h}.');
    onlyKeys(raw.viewport, ["width", "height"], "browser.viewport");
    const [wMin, wMax] = MANIFEST_LIMITS.viewport.width;
    const [hMin, hMax] = MANIFEST_LIMITS.viewport.height;
    b.viewport = { width: wholeIn(raw.viewport.width, "browser.viewport.width", { min: wMin, max: wMax }), height: wholeIn(raw.viewport.height, "browser.viewport.height", { min: hMin, max: hMax }) };
  }
  return b;
}

/** Whether each kind of name the manifest refers to exists now (wired to the pools, profiles, proxies and rule-sets modules). */
export interface ManifestRefs {
  poolExists(name: string): boolean;
  profileExists(idOrName: string): boolean;
  proxyExists(idOrName: string): boolean;
  ruleSetExists(idOrName: string): boolean;
}

/** 400 naming the first pool, profile, proxy or rule set the manifest names that does not exist. */
export function checkManifestRefs(m: Manifest, refs: ManifestRefs): void {
  const b = m.browser;
  if (!b) return;
  if (b.pool !== undefined && !refs.poolExists(b.pool)) refuse(`"browser.pool": there is no pool "${b.pool}" (GET /api/v1/pools lists them).`, "unknown_pool");
  const profile = typeof b.profile === "string" ? b.profile : b.profile?.name;
  if (profile !== undefined && !refs.profileExists(profile)) refuse(`"browser.profile": there is no profile "${profile}" (GET /api/v1/profiles lists them).`, "unknown_profile");
  if (b.proxy !== undefined && !refs.proxyExists(b.proxy)) refuse(`"browser.proxy": there is no proxy "${b.proxy}" (GET /api/v1/proxies lists them).`, "unknown_proxy");
  for (const r of b.ruleSets ?? []) if (!refs.ruleSetExists(r)) refuse(`"browser.ruleSets": there is no rule set "${r}" (GET /api/v1/rule-sets lists them; built-in ones start with "preset:").`, "unknown_rule_set");
}
