// `browsergrid doctor`: the checks a new install fails on, each with the fix; warnings (a Docker
// engine with a known deadlock) say what to do without failing the run.
import { dockerClient } from "../providers/engine";
import { EngineDeadlines, hasNetworkDeadlock, withDeadlines } from "../providers/engine-deadlines";
import { EngineTimeout } from "../lib/errors";
import type { Command } from "./command";
import { ConfigError, loadConfig, type Config } from "../config";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  /** Passes, but needs attention (printed with "!"; the exit code stays 0). */
  warn?: boolean;
}

const UPGRADE = "upgrade to ≥ 26; on Debian 12 the set-up script installs Debian 13's docker.io 26.1.5 (sudo sh scripts/setup-docker.sh)";

/** The engine's version against the known libnetwork deadlock: ok, or a warning with the upgrade. */
export function engineVersionCheck(version: string): Check {
  const deadlock = hasNetworkDeadlock(version);
  if (deadlock === null) return { name: "docker engine version", ok: true, warn: true, detail: `engine version "${version.slice(0, 40)}" not understood; engines before 23 deadlock under container churn`, fix: UPGRADE };
  if (!deadlock) return { name: "docker engine version", ok: true, detail: `engine ${version}` };
  return {
    name: "docker engine version",
    ok: true,
    warn: true,
    detail: `engine ${version} has a known deadlock under container churn (moby/moby#42545): inspect, info, network calls and removals then hang until dockerd restarts; BrowserGrid runs network-changing calls one at a time on it and marks the worker unhealthy if it wedges anyway, but sessions cannot start there then`,
    fix: UPGRADE,
  };
}

const FLAVOURS = ["headless-shell", "chromium"] as const;

export async function runChecks(config: Readonly<Config>): Promise<Check[]> {
  const checks: Check[] = [];
  checks.push({ name: "data dir writable", ok: true, detail: config.dataDir });

  const docker = withDeadlines(dockerClient({ socketPath: config.dockerSocket }), new EngineDeadlines("local", config.engineTimeoutMs));
  let dockerOk = false;
  try {
    await docker.ping();
    let late: EngineTimeout | null = null;
    const v = await docker.version().catch((e) => {
      if (!(e instanceof EngineTimeout)) throw e;
      late = e; // reported by the responsiveness check below
      return null;
    });
    checks.push({ name: "docker reachable", ok: true, detail: v ? `engine ${v.Version} (API ${v.ApiVersion}) at ${config.dockerSocket}` : `answers ping at ${config.dockerSocket}, but not version` });
    if (v) checks.push(engineVersionCheck(v.Version));
    const responsive = await engineResponsiveCheck(docker, late);
    checks.push(responsive);
    dockerOk = responsive.ok;
  } catch (e) {
    checks.push({
      name: "docker reachable",
      ok: false,
      detail: `no Docker engine answers at ${config.dockerSocket}`,
      fix: "install and start Docker (sudo sh scripts/setup-docker.sh, or apt-get install docker.io && systemctl start docker), or set BROWSERGRID_DOCKER_SOCKET",
    });
  }
  for (const flavour of FLAVOURS) {
    const image = `${config.browserImage}:${flavour}`;
    if (!dockerOk) {
      checks.push({ name: `browser image ${flavour}`, ok: false, detail: "not checked: the Docker engine does not answer" });
      continue;
    }
    try {
      const info = await docker.getImage(image).inspect();
      checks.push({ name: `browser image ${flavour}`, ok: true, detail: `${image} (${Math.round(info.Size / 1e6)} MB)` });
    } catch {
      checks.push({ name: `browser image ${flavour}`, ok: false, detail: `${image} is missing`, fix: `build it: bash scripts/build-images.sh ${flavour}` });
    }
  }

  const running = await runningWorkersCheck(config);
  if (running) checks.push(running);

  const portFree = await isPortFree(config.host, config.port);
  checks.push(
    portFree
      ? { name: "port free", ok: true, detail: `${config.host}:${config.port}` }
      : {
          name: "port free",
          ok: false,
          detail: `${config.host}:${config.port} is in use (BrowserGrid may already be running: curl http://${config.host}:${config.port}/healthz)`,
          fix: "stop the other process or set BROWSERGRID_PORT",
        },
  );
  return checks;
}

/**
 * A deadlocked engine still answers ping and version: ask for what takes its locks (info, the
 * network list), each within its deadline.
 */
async function engineResponsiveCheck(docker: ReturnType<typeof dockerClient>, alreadyLate: EngineTimeout | null): Promise<Check> {
  try {
    if (alreadyLate) throw alreadyLate;
    await docker.info();
    await docker.listNetworks({ filters: { name: ["browsergrid"] } });
    return { name: "docker engine responsive", ok: true, detail: "info and the network list answer within their deadlines" };
  } catch (e) {
    const stuck = e instanceof EngineTimeout;
    return {
      name: "docker engine responsive",
      ok: false,
      detail: stuck ? `the engine answers ping but not ${e.call} within ${e.timeoutMs / 1000} s: it is stuck (deadlocked)` : `the engine failed: ${(e as Error).message}`,
      fix: stuck ? `restart it (systemctl restart docker); then ${UPGRADE}` : "see the Docker daemon's log (journalctl -u docker)",
    };
  }
}

function localUrl(config: Readonly<Config>): string {
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.port}`;
}

async function answersHealthz(config: Readonly<Config>): Promise<boolean> {
  try {
    const res = await fetch(`${localUrl(config)}/healthz`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** When a BrowserGrid answers on the configured port: its workers as /readyz reports them (unhealthy ones with the reason). */
async function runningWorkersCheck(config: Readonly<Config>): Promise<Check | null> {
  if (!(await answersHealthz(config))) return null;
  try {
    const res = await fetch(`${localUrl(config)}/readyz`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { checks?: { name: string; ok: boolean; detail?: string }[] };
    const workers = body.checks?.find((c) => c.name === "workers");
    if (!workers) return null;
    const unhealthy = /unhealthy/.test(workers.detail ?? "");
    return {
      name: "workers of the running BrowserGrid",
      ok: workers.ok,
      warn: workers.ok && unhealthy,
      detail: workers.detail ?? (workers.ok ? "reachable" : "none reachable"),
      ...(unhealthy ? { fix: `a worker's Docker engine is stuck: restart it (systemctl restart docker); BrowserGrid takes it back once it answers; ${UPGRADE}` } : {}),
    };
  } catch (e) {
    return { name: "workers of the running BrowserGrid", ok: false, detail: `/readyz did not answer: ${(e as Error).message}` };
  }
}

async function isPortFree(host: string, port: number): Promise<boolean> {
  try {
    const s = Bun.listen({ hostname: host, port, socket: { data() {} } });
    s.stop(true);
    return true;
  } catch {
    return false;
  }
}

export const doctorCommand: Command = {
  name: "doctor",
  summary: "Check this machine: Docker, browser images, data dir, port",
  usage: `browsergrid doctor [--json] [--healthz]

Checks that the Docker engine answers (and is not stuck: info and the network list within
BROWSERGRID_ENGINE_TIMEOUT_MS), its version (engines before 23, such as Debian 12's docker.io
20.10, deadlock under container churn: a warning with the upgrade), both browser images exist,
the data directory is writable and the listen port is free; when BrowserGrid runs on that
port, its workers as /readyz reports them (an unhealthy worker with the reason). Prints a fix
for each failed check and warning, and exits 1 when any check fails. Reads the same
BROWSERGRID_* environment as "serve".

  --json      print the checks as JSON
  --healthz   only ask the running appliance's /healthz (exit 0 when it answers); for
              container health checks

To remove the browsers, network and egress table an install left behind (after a crash, or
before deleting its data dir): browsergrid cleanup.`,
  async run(args) {
    let config;
    try {
      config = loadConfig(process.env, { createDataDir: false });
      if (args.includes("--healthz")) return (await answersHealthz(config)) ? 0 : 1;
    } catch (e) {
      if (e instanceof ConfigError) {
        console.error(`✗ configuration: ${e.message}`);
        return 1;
      }
      throw e;
    }
    const checks = await runChecks(config);
    if (args.includes("--json")) console.log(JSON.stringify(checks, null, 2));
    else
      for (const c of checks) {
        console.log(`${!c.ok ? "✗" : c.warn ? "!" : "✓"} ${c.name}: ${c.detail}`);
        if ((!c.ok || c.warn) && c.fix) console.log(`    fix: ${c.fix}`);
      }
    return checks.every((c) => c.ok) ? 0 : 1;
  },
};
