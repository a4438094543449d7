// What an install left on the local engine that no worker's provider names any more: containers
// of removed workers (browsers and runners), egress helper containers, and the install's
// browser networks. Found only
// by the install's `browsergrid.install` label, so nothing of another install or of the user
// matches (`browsergrid cleanup`, src/cli/cleanup.ts). What is already gone is not an error.
import { dockerClient } from "./engine";
import { EngineDeadlines, withDeadlines } from "./engine-deadlines";

export interface LeftoversRemoved {
  /** "<short id> (<session, run or helper>)" per removed container. */
  containers: string[];
  /** Names of the removed networks. */
  networks: string[];
  problems: string[];
}

export async function removeInstallLeftovers(opts: { socketPath: string; installId: string; engineTimeoutMs: number }): Promise<LeftoversRemoved> {
  const out: LeftoversRemoved = { containers: [], networks: [], problems: [] };
  const docker = withDeadlines(dockerClient({ socketPath: opts.socketPath }), new EngineDeadlines("local", opts.engineTimeoutMs));
  const filters = { label: [`browsergrid.install=${opts.installId}`] };
  try {
    for (const c of await docker.listContainers({ all: true, filters })) {
      await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(ignoreGone);
      out.containers.push(`${c.Id.slice(0, 12)} (${c.Labels["browsergrid.session"] ?? (c.Labels["browsergrid.run"] ? `run ${c.Labels["browsergrid.run"]}` : undefined) ?? c.Labels["browsergrid.helper"] ?? "unlabelled"})`);
    }
    for (const n of await docker.listNetworks({ filters })) {
      try {
        await docker.getNetwork(n.Id).remove();
        out.networks.push(n.Name);
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) continue;
        out.problems.push(`network ${n.Name}: ${(err as Error).message} (a container of another install may still use it)`);
      }
    }
  } catch (err) {
    out.problems.push(`local Docker engine: ${(err as Error).message}`);
  }
  return out;
}

function ignoreGone(err: { statusCode?: number }): void {
  if (err.statusCode !== 404) throw err;
}
