// A host Chromium for tests and benchmarks: started with a free debugging port (read back from
// DevToolsActivePort), its own throw-away profile, and stopped (process and profile) by stop().
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface HostChromium {
  host: string;
  port: number;
  pid: number;
  /** The browser-level WebSocket path, e.g. /devtools/browser/<uuid>. */
  browserPath: string;
  version: string;
  stop(): Promise<void>;
  /** Kills the process without cleanup grace (crash simulation). */
  kill(): void;
}

const CANDIDATES = [process.env.CHROMIUM_PATH, "/usr/bin/chromium-headless-shell", "/usr/bin/chromium", "/usr/bin/chromium-browser"];

export function chromiumPath(): string {
  for (const c of CANDIDATES) if (c && existsSync(c)) return c;
  throw new Error("No Chromium found: install it (apt-get install -y chromium) or set CHROMIUM_PATH.");
}

export async function startChromium(opts: { extraArgs?: string[]; timeoutMs?: number } = {}): Promise<HostChromium> {
  const dir = mkdtempSync(join(tmpdir(), "bg-chromium-"));
  const args = [
    "--headless=new",
    "--no-sandbox",
    "--remote-debugging-port=0",
    `--user-data-dir=${dir}`,
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    ...(opts.extraArgs ?? []),
    "about:blank",
  ];
  const proc = Bun.spawn([chromiumPath(), ...args], { stdout: "ignore", stderr: "ignore", stdin: "ignore" });
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  const portFile = join(dir, "DevToolsActivePort");
  let port = 0;
  let browserPath = "";
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) break;
    if (existsSync(portFile)) {
      const [p, path] = readFileSync(portFile, "utf8").split("\n");
      if (p && path) {
        port = Number(p);
        browserPath = path.trim();
        break;
      }
    }
    await Bun.sleep(20);
  }
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  if (!port) {
    proc.kill("SIGKILL");
    cleanup();
    throw new Error(`Chromium did not start (exit code ${proc.exitCode ?? "none"})`);
  }
  const info = (await (await fetch(`http://127.0.0.1:${port}/json/version`)).json()) as { Browser: string };
  return {
    host: "127.0.0.1",
    port,
    pid: proc.pid,
    browserPath,
    version: info.Browser,
    kill() {
      proc.kill("SIGKILL");
    },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill("SIGTERM");
        const t = setTimeout(() => proc.kill("SIGKILL"), 3000);
        await proc.exited;
        clearTimeout(t);
      }
      cleanup();
    },
  };
}
