// `browsergrid doctor`: the checks a new install fails on, each with the fix.
import { dockerClient } from "../providers/engine";
import type { Command } from "./command";
import { ConfigError, loadConfig, type Config } from "../config";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

const FLAVOURS = ["headless-shell", "chromium"] as const;

export async function runChecks(config: Readonly<Config>): Promise<Check[]> {
  const checks: Check[] = [];
  checks.push({ name: "data dir writable", ok: true, detail: config.dataDir });

  const docker = dockerClient({ socketPath: config.dockerSocket });
  let dockerOk = false;
  try {
    const v = await docker.version();
    dockerOk = true;
    checks.push({ name: "docker reachable", ok: true, detail: `engine ${v.Version} at ${config.dockerSocket}` });
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
      checks.push({ name: `browser image ${flavour}`, ok: false, detail: "not checked: Docker is not reachable" });
      continue;
    }
    try {
      const info = await docker.getImage(image).inspect();
      checks.push({ name: `browser image ${flavour}`, ok: true, detail: `${image} (${Math.round(info.Size / 1e6)} MB)` });
    } catch {
      checks.push({ name: `browser image ${flavour}`, ok: false, detail: `${image} is missing`, fix: `build it: bash scripts/build-images.sh ${flavour}` });
    }
  }

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

async function answersHealthz(config: Readonly<Config>): Promise<boolean> {
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  try {
    const res = await fetch(`http://${host.includes(":") ? `[${host}]` : host}:${config.port}/healthz`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
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

Checks that the Docker engine answers, both browser images exist, the data directory is
writable and the listen port is free. Prints a fix for each failed check and exits 1 when
any check fails. Reads the same BROWSERGRID_* environment as "serve".

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
        console.log(`${c.ok ? "✓" : "✗"} ${c.name}: ${c.detail}`);
        if (!c.ok && c.fix) console.log(`    fix: ${c.fix}`);
      }
    return checks.every((c) => c.ok) ? 0 : 1;
  },
};
