// The CLI's client of a BrowserGrid's HTTP API, for commands that work on a running appliance
// (local or remote) instead of the local database: deploy, deployments, runs, schedules.
//
// Where it connects: `--url` / `--key` flags, else BROWSERGRID_URL / BROWSERGRID_KEY, else
// http://127.0.0.1:$BROWSERGRID_PORT (7070) with no key. The key goes in an Authorization
// Bearer header only (never in a URL, never printed). Every request has a deadline.
//
// Exit codes shared by these commands (documented in docs/cli.md):
//   0 done · 1 the server refused (4xx/5xx; its message is printed) · 2 usage error ·
//   3 the server could not be reached.
export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

export class ApiRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class ApiUnreachable extends Error {}

export class UsageError extends Error {}

export interface ApiTarget {
  url: string;
  key?: string;
}

export function apiTarget(flags: Record<string, string | true>, env: Record<string, string | undefined> = process.env): ApiTarget {
  const raw = typeof flags.url === "string" ? flags.url : env.BROWSERGRID_URL || `http://127.0.0.1:${env.BROWSERGRID_PORT || "7070"}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url / BROWSERGRID_URL "${raw}" is not a URL (e.g. https://grid.example.com)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`--url must be http:// or https://, not ${url.protocol}`);
  if (url.username || url.password) throw new UsageError("--url must not carry credentials; give the key with --key or BROWSERGRID_KEY");
  const key = typeof flags.key === "string" ? flags.key : env.BROWSERGRID_KEY || undefined;
  return { url: url.origin + url.pathname.replace(/\/+$/, ""), key };
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Resolve with the response as is (streams, text); errors still throw ApiRefused. */
  raw?: boolean;
}

export class ApiClient {
  constructor(readonly target: ApiTarget) {}

  async request<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(path, opts);
    if (opts.raw) return res as T;
    if (res.status === 204) return undefined as T;
    const type = res.headers.get("content-type") ?? "";
    return (type.includes("json") ? await res.json() : await res.text()) as T;
  }

  async send(path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: "application/json", ...opts.headers };
    if (this.target.key) headers.authorization = `Bearer ${this.target.key}`;
    let body = opts.body;
    if (opts.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(opts.json);
    }
    let res: Response;
    try {
      res = await fetch(this.target.url + path, {
        method: opts.method ?? (body === undefined ? "GET" : "POST"),
        headers,
        body,
        redirect: "manual",
        signal: opts.timeoutMs === 0 ? undefined : AbortSignal.timeout(opts.timeoutMs ?? 60_000),
      });
    } catch (err) {
      throw new ApiUnreachable(`cannot reach ${this.target.url}: ${(err as Error).message}`);
    }
    if (res.status >= 300) throw await refusal(res);
    return res;
  }
}

async function refusal(res: Response): Promise<ApiRefused> {
  const text = await res.text().catch(() => "");
  try {
    const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    if (e?.message) return new ApiRefused(res.status, e.code ?? "error", e.message);
  } catch {
    // not JSON: fall through
  }
  if (res.status === 401) return new ApiRefused(401, "unauthorized", "the server wants an API key: give --key or set BROWSERGRID_KEY");
  if (res.status >= 300 && res.status < 400) return new ApiRefused(res.status, "redirect", `the server answered with a redirect to ${res.headers.get("location")}: is --url the appliance's address?`);
  return new ApiRefused(res.status, "error", `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`);
}

/**
 * Runs an API command body and turns its failure into a message and an exit code. `usage` is
 * printed after a UsageError.
 */
export async function runApiCommand(name: string, usage: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`browsergrid ${name}: ${err.message}\n\n${usage}`);
      return EXIT.usage;
    }
    if (err instanceof ApiRefused) {
      console.error(`browsergrid ${name}: ${err.message} (HTTP ${err.status}, ${err.code})`);
      return EXIT.refused;
    }
    if (err instanceof ApiUnreachable) {
      console.error(`browsergrid ${name}: ${err.message}`);
      return EXIT.unreachable;
    }
    throw err;
  }
}

/** `--param k=v` flags (repeatable): values that parse as JSON are taken as JSON, else as strings. */
export function paramsFrom(args: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    let kv: string | undefined;
    if (a === "--param") kv = args[++i];
    else if (a.startsWith("--param=")) kv = a.slice("--param=".length);
    else continue;
    const eq = kv?.indexOf("=") ?? -1;
    if (!kv || eq <= 0) throw new UsageError(`--param needs key=value, got "${kv ?? ""}"`);
    const k = kv.slice(0, eq);
    const v = kv.slice(eq + 1);
    if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(k)) throw new UsageError(`--param key "${k}" is not a plain name`);
    try {
      out[k] = JSON.parse(v);
    } catch {
      out[k] = v;
    }
  }
  return out;
}

/** Prints rows as aligned columns (human output); `--json` callers print JSON instead. */
export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  if (rows.length === 0) {
    console.log("(none)");
    return;
  }
  const cell = (v: unknown) => (v === null || v === undefined ? "-" : typeof v === "object" ? JSON.stringify(v) : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  console.log(columns.map((c, i) => c.toUpperCase().padEnd(widths[i]!)).join("  "));
  for (const r of rows) console.log(columns.map((c, i) => cell(r[c]).padEnd(widths[i]!)).join("  ").trimEnd());
}
