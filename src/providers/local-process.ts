// Chromium started directly on this host, for machines without Docker. Each browser has its own
// user-data-dir and DevTools port (`--remote-debugging-port=0`, read back from
// DevToolsActivePort), runs in its own process group, and stop() kills the whole group.
//
// Threat model, plainly: there is no container boundary here. Chromium's own sandbox is the only
// wall between a page and the host (and it is off when BrowserGrid runs as root, which Chromium
// requires). DevTools listens on 127.0.0.1 only. Use Docker workers for untrusted pages.
//
// A state file per browser (pid, port, owner labels) lets a restarted BrowserGrid find and
// reconcile its browsers; the pid is only trusted when /proc/<pid>/cmdline still names the
// browser's own user-data-dir (no killing a stranger after pid reuse).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { containerEnv } from "./docker-container";
import type { BrowserProvider, BrowserSpec, OwnedBrowser, ProviderEvent, StartedBrowser } from "./provider";

interface State {
  pid: number;
  port: number;
  installId: string;
  workerId: string;
  sessionId: string;
  warm: boolean;
}

const HANDLE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}$/;

export function localChromiumPath(): string | null {
  for (const c of [process.env.BROWSERGRID_CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]) if (c && existsSync(c)) return c;
  return null;
}

export class LocalProcessProvider implements BrowserProvider {
  readonly kind = "local" as const;
  private procs = new Map<string, Subprocess>();
  private stopping = new Set<string>();
  private listeners = new Set<(e: ProviderEvent) => void>();
  private adoptedWatch?: ReturnType<typeof setInterval>;

  constructor(private readonly opts: { installId: string; workerId: string; stateDir: string; readyTimeoutMs?: number }) {
    mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
  }

  async start(spec: BrowserSpec, signal?: AbortSignal): Promise<StartedBrowser> {
    const bin = localChromiumPath();
    if (!bin) throw new Error("no Chromium on this host: install it (apt-get install chromium) or set BROWSERGRID_CHROMIUM_PATH");
    if (!HANDLE.test(spec.sessionId)) throw new Error(`invalid session id "${spec.sessionId}"`);
    const env = Object.fromEntries(containerEnv(spec).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    const dir = join(this.opts.stateDir, spec.sessionId);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, "profile"), { recursive: true, mode: 0o700 });
    const args = [
      "--headless=new",
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      `--user-data-dir=${join(dir, "profile")}`,
      `--window-size=${env.BG_WINDOW_WIDTH},${env.BG_WINDOW_HEIGHT}`,
      ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-default-apps",
      "--disable-breakpad",
      "--disable-crash-reporter",
      "--metrics-recording-only",
      "--no-pings",
      "--password-store=basic",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--mute-audio",
      "--hide-scrollbars",
      ...(env.BG_USER_AGENT ? [`--user-agent=${env.BG_USER_AGENT}`] : []),
      ...(env.BG_LANG ? [`--lang=${env.BG_LANG}`, `--accept-lang=${env.BG_LANG}`] : []),
      "about:blank",
    ];
    const proc = Bun.spawn([bin, ...args], {
      detached: true, // its own process group: stop() kills Chromium and every helper at once
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, ...(env.TZ ? { TZ: env.TZ } : {}), ...(env.BG_LANG ? { LANG: `${env.BG_LANG.replace(/-/g, "_")}.UTF-8` } : {}) },
    });
    this.procs.set(spec.sessionId, proc);
    void proc.exited.then((code) => this.onExit(spec.sessionId, code));
    try {
      const { port, browserPath } = await this.waitForPort(dir, proc, signal);
      const state: State = { pid: proc.pid, port, installId: this.opts.installId, workerId: this.opts.workerId, sessionId: spec.sessionId, warm: !!spec.warm };
      writeFileSync(join(dir, "state.json"), JSON.stringify(state), { mode: 0o600 });
      return { handle: spec.sessionId, cdp: { host: "127.0.0.1", port }, ...(browserPath ? { browserPath } : {}) };
    } catch (err) {
      await this.stop(spec.sessionId).catch(() => {});
      throw err;
    }
  }

  /** Chromium writes its port and its browser WebSocket path to DevToolsActivePort once it listens. */
  private async waitForPort(dir: string, proc: Subprocess, signal?: AbortSignal): Promise<{ port: number; browserPath?: string }> {
    const deadline = Date.now() + (this.opts.readyTimeoutMs ?? 20_000);
    const file = join(dir, "profile", "DevToolsActivePort");
    for (;;) {
      signal?.throwIfAborted();
      if (proc.exitCode !== null || proc.signalCode) throw new Error(`Chromium exited (${proc.exitCode ?? proc.signalCode}) before DevTools was ready`);
      if (existsSync(file)) {
        const [p, path] = readFileSync(file, "utf8").split("\n");
        const port = Number(p);
        if (port > 0) {
          const ok = await fetch(`http://127.0.0.1:${port}/json/version`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false);
          if (ok) return { port, browserPath: path?.startsWith("/devtools/browser/") ? path.trim() : undefined };
        }
      }
      if (Date.now() > deadline) throw new Error("Chromium did not open its DevTools port in time");
      await Bun.sleep(5);
    }
  }

  async stop(handle: string): Promise<void> {
    if (!HANDLE.test(handle)) throw new Error(`invalid handle "${handle}"`);
    this.stopping.add(handle);
    const pid = this.procs.get(handle)?.pid ?? this.trustedPid(handle);
    if (pid) {
      try {
        process.kill(-pid, "SIGKILL"); // the whole process group
      } catch {}
      const proc = this.procs.get(handle);
      if (proc) await proc.exited;
      else for (let i = 0; i < 100 && isAlive(pid); i++) await Bun.sleep(10);
    }
    this.procs.delete(handle);
    rmSync(join(this.opts.stateDir, handle), { recursive: true, force: true });
    setTimeout(() => this.stopping.delete(handle), 60_000);
  }

  async inspect(handle: string): Promise<{ running: boolean } | null> {
    if (!HANDLE.test(handle)) return null;
    const state = this.readState(handle);
    if (!state) return null;
    return { running: this.trustedPid(handle) !== null };
  }

  async listOwned(): Promise<OwnedBrowser[]> {
    const out: OwnedBrowser[] = [];
    for (const name of readdirSync(this.opts.stateDir)) {
      const s = this.readState(name);
      if (!s || s.installId !== this.opts.installId || s.workerId !== this.opts.workerId) continue;
      out.push({ handle: name, sessionId: s.sessionId, workerId: s.workerId, running: this.trustedPid(name) !== null, warm: s.warm });
    }
    this.watchAdopted();
    return out;
  }

  onEvent(listener: (e: ProviderEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    return localChromiumPath() ? { ok: true } : { ok: false, detail: "no Chromium binary on this host" };
  }

  async close(): Promise<void> {
    clearInterval(this.adoptedWatch);
    this.listeners.clear();
  }

  private readState(handle: string): State | null {
    try {
      return JSON.parse(readFileSync(join(this.opts.stateDir, handle, "state.json"), "utf8")) as State;
    } catch {
      return null;
    }
  }

  /** The browser's pid, only while that pid is still this browser (its cmdline names its profile). */
  private trustedPid(handle: string): number | null {
    const s = this.readState(handle);
    if (!s) return null;
    try {
      const cmdline = readFileSync(`/proc/${s.pid}/cmdline`, "utf8");
      return cmdline.includes(`--user-data-dir=${join(this.opts.stateDir, handle, "profile")}`) ? s.pid : null;
    } catch {
      return null;
    }
  }

  private onExit(handle: string, code: number | null): void {
    // The process stays in `procs` until stop(): Chromium's helpers may outlive it in its group.
    if (this.stopping.has(handle)) return;
    const reason = code === null || code > 128 || code === 137 ? "killed" : `exited with code ${code}`;
    this.emit({ type: "died", handle, sessionId: handle, exitCode: code ?? undefined, reason });
  }

  /** Browsers from before a restart have no exit promise here: watch their pids instead. */
  private watchAdopted(): void {
    if (this.adoptedWatch) return;
    this.adoptedWatch = setInterval(() => {
      for (const name of readdirSync(this.opts.stateDir)) {
        if (this.procs.has(name) || this.stopping.has(name)) continue;
        const s = this.readState(name);
        if (!s || s.workerId !== this.opts.workerId || this.trustedPid(name) !== null) continue;
        this.stopping.add(name);
        this.emit({ type: "died", handle: name, sessionId: s.sessionId, reason: "process gone" });
      }
    }, 1_000);
  }

  private emit(e: ProviderEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {}
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
