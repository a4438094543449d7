// Builds the single executable once per test run (into a temp dir) and starts it like a user.
import { mkdtempSync, copyFileSync, chmodSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnCollecting } from "./process";
import { buildExecutable } from "../../scripts/build";

let built: string | null = null;

export async function buildBinary(): Promise<string> {
  if (built) return built;
  // The same build as scripts/build.sh (scripts/build.ts), into a temp dir.
  built = await buildExecutable(join(mkdtempSync(join(tmpdir(), "bg-build-")), "browsergrid"));
  return built;
}

export function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

export interface RunningBinary {
  url: string;
  dir: string;
  dataDir: string;
  proc: ReturnType<typeof Bun.spawn>;
  output(): string;
  stop(): Promise<number>;
}

/** Copies the executable alone into an empty directory and starts it there. */
export async function startBinaryAlone(env: Record<string, string> = {}, files: Record<string, string> = {}): Promise<RunningBinary> {
  const bin = await buildBinary();
  const dir = mkdtempSync(join(tmpdir(), "bg-alone-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  copyFileSync(bin, join(dir, "browsergrid"));
  chmodSync(join(dir, "browsergrid"), 0o755);
  const port = freePort();
  const dataDir = join(dir, "data");
  const { proc, output } = spawnCollecting([join(dir, "browsergrid"), "serve"], {
    cwd: dir,
    env: { PATH: process.env.PATH!, HOME: dir, BROWSERGRID_PORT: String(port), BROWSERGRID_DATA_DIR: dataDir, ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`binary exited early (${proc.exitCode}): ${output()}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {}
    await Bun.sleep(20);
  }
  return {
    url,
    dir,
    dataDir,
    proc,
    output,
    async stop() {
      proc.kill("SIGTERM");
      return await proc.exited;
    },
  };
}
