// The provider for a worker row: a Docker engine on a local socket, a Docker engine over SSH
// (one pooled connection, loopback CDP tunnels), or Chromium processes on this host. Boot and
// the fleet build one per row; nothing else constructs providers.
import type { Config } from "../../config";
import type { Logger } from "../../lib/logger";
import { DockerProvider } from "../../providers/docker";
import { dockerClient, socketReads } from "../../providers/engine";
import { hostHelper } from "../../providers/host-helper";
import { EngineDeadlines, withDeadlines } from "../../providers/engine-deadlines";
import { parseEndpoint } from "../../providers/endpoint";
import { LocalProcessProvider } from "../../providers/local-process";
import type { BrowserProvider } from "../../providers/provider";
import { SshConnection } from "../../providers/ssh-connection";
import { dockerOverSsh } from "../../providers/ssh-docker";
import { CdpTunnels } from "../../providers/ssh-tunnel";
import { open } from "../../security/secret-box";
import { SSH_KEY_PURPOSE, type Worker } from "./workers.service";
import type { EgressGuard } from "../../security/egress/guard";
import { join } from "node:path";
import type { Db } from "../../db/client";
import { browserLimitsOf, findPoolById } from "../pools/pools.service";

export interface ProviderContext {
  config: Readonly<Config>;
  /** Read when a browser starts: its pool's CPU and storage limits. */
  db: Db;
  installId: string;
  installKey: Buffer;
  log: Logger;
  /** Every Docker worker is registered with the guard, and its provider refuses to start browsers without it. */
  egress: EgressGuard;
}

export function buildProvider(worker: Worker, ctx: ProviderContext): BrowserProvider {
  const endpoint = parseEndpoint(worker.endpoint);
  // One set of deadlines and counters per worker: its browsers' calls and its egress guard's.
  const deadlines = new EngineDeadlines(worker.name, ctx.config.engineTimeoutMs);
  const common = {
    deadlines,
    installId: ctx.installId,
    workerId: worker.id,
    imagePrefix: ctx.config.browserImage,
    network: ctx.config.dockerNetwork,
    dns: ctx.config.browserDns,
    egressGuard: ctx.egress.forWorker(worker.id),
    poolLimits: (poolId: string) => {
      const pool = findPoolById(ctx.db, poolId);
      return pool ? browserLimitsOf(pool) : undefined;
    },
  };
  switch (endpoint.kind) {
    case "docker": {
      ctx.egress.register(worker, { kind: "local", helper: hostHelper(withDeadlines(dockerClient({ socketPath: endpoint.socketPath }), deadlines), ctx.installId), reads: socketReads(endpoint.socketPath, deadlines) });
      return new DockerProvider(endpoint.socketPath, common);
    }
    case "ssh": {
      if (!worker.sshKeyEncrypted || !worker.hostKeyFingerprint) throw new Error(`worker ${worker.name} has no SSH key or pinned host key; add it again`);
      const conn = new SshConnection({ endpoint: worker.endpoint, privateKey: open(ctx.installKey, SSH_KEY_PURPOSE, worker.sshKeyEncrypted), hostKeyFingerprint: worker.hostKeyFingerprint });
      const tunnels = new CdpTunnels(conn);
      const docker = withDeadlines(dockerOverSsh(conn), deadlines);
      ctx.egress.register(worker, { kind: "remote", helper: hostHelper(docker, ctx.installId) });
      const provider = new DockerProvider(docker, {
        ...common,
        kind: "ssh",
        tunnel: tunnels,
        onClose: () => {
          tunnels.closeAll();
          conn.close();
        },
      });
      conn.onDisconnect = (err) => {
        ctx.log.warn("SSH connection to worker lost", { worker: worker.name, err: err?.message });
        provider.notifyUnreachable(err?.message ?? "SSH connection lost");
      };
      return provider;
    }
    case "local":
      ctx.egress.register(worker, { kind: "none", reason: "local-process browsers have no packet filter" });
      return new LocalProcessProvider({ installId: ctx.installId, workerId: worker.id, stateDir: join(ctx.config.dataDir, "local-browsers") });
  }
}
