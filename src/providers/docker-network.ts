// The Docker bridge network browser containers live on. Inter-container communication is off so
// one session's page cannot reach another session's CDP relay; the bridge has a fixed interface
// name so the grid's egress filter (nftables) can match traffic from it.
import type Docker from "dockerode";
import { statusOf } from "./docker-status";
import { dockerClient, dockerodeReads, socketReads, type EngineReads } from "./engine";
import { EngineDeadlines, withDeadlines } from "./engine-deadlines";

export const ICC_OPTION = "com.docker.network.bridge.enable_icc";
export const BRIDGE_NAME_OPTION = "com.docker.network.bridge.name";

/** Linux interface names are at most 15 bytes: `browsergrid-default` → `bg-default`. */
export function bridgeNameFor(network: string): string {
  return ("bg-" + network.replace(/^browsergrid-/, "")).replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 15);
}

/**
 * Creates the network when missing. Refuses (fail closed) a network of that name that lets
 * containers talk to each other, e.g. one created by hand without the ICC option. Resolves
 * with the network as the engine describes it (its gateway is the host's address there).
 */
export async function ensureBrowserNetwork(docker: Docker, name: string, installId: string, reads: Pick<EngineReads, "inspectNetwork"> = dockerodeReads(docker)): Promise<Docker.NetworkInspectInfo> {
  let info: Docker.NetworkInspectInfo | undefined;
  try {
    info = await reads.inspectNetwork(name);
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
  if (!info) {
    try {
      await docker.createNetwork({
        Name: name,
        Driver: "bridge",
        CheckDuplicate: true,
        Options: { [ICC_OPTION]: "false", [BRIDGE_NAME_OPTION]: bridgeNameFor(name) },
        Labels: { "browsergrid.install": installId, "browsergrid.network": name },
      });
      return await reads.inspectNetwork(name); // the engine assigns the subnet
    } catch (err) {
      // Another worker process created it between our inspect and create: check theirs.
      if (statusOf(err) !== 409) throw err;
      info = await reads.inspectNetwork(name);
    }
  }
  if (info?.Driver !== "bridge" || info.Options?.[ICC_OPTION] !== "false") {
    throw new Error(
      `Docker network "${name}" exists but is not a bridge with ${ICC_OPTION}=false; ` +
        `remove it (docker network rm ${name}) and BrowserGrid will recreate it.`,
    );
  }
  return info;
}

/**
 * Where BrowserGrid's own services listen for the browsers of the local engine (the proxy
 * relay): the host's IPv4 address on the browser network (its gateway) and the network's
 * subnet. Creates the network when missing, as ensureBrowserNetwork; every engine call within
 * the quick-call deadline.
 */
export async function browserNetworkGateway(opts: { socketPath: string; network: string; installId: string; engineTimeoutMs?: number }): Promise<{ gateway: string; subnet: string | null }> {
  const deadlines = new EngineDeadlines("local", opts.engineTimeoutMs);
  const docker = withDeadlines(dockerClient({ socketPath: opts.socketPath }), deadlines);
  const info = await ensureBrowserNetwork(docker, opts.network, opts.installId, socketReads(opts.socketPath, deadlines));
  const ipam = (info.IPAM?.Config ?? []).find((c: { Gateway?: string }) => c.Gateway && !c.Gateway.includes(":"));
  if (!ipam?.Gateway) throw new Error(`Docker network ${opts.network} has no IPv4 gateway address`);
  return { gateway: ipam.Gateway, subnet: ipam.Subnet ?? null };
}
