// A Docker engine on another host, reached through the worker's one SSH connection: dockerode
// gets an HTTP agent whose every connection is a stream forwarded to the remote Docker socket
// (`direct-streamlocal@openssh.com`), so a Docker API call costs a channel open on a live
// connection (a few ms) instead of a new SSH handshake (dockerode's own ssh:// mode, ≈ 190 ms).
// The client has no deadlines of its own: its users put it behind the worker's (engine-deadlines.ts).
import type http from "node:http";
import type Docker from "dockerode";
import { dockerClient } from "./engine";
import { EngineDeadlines, withDeadlines } from "./engine-deadlines";
import { SshConnection } from "./ssh-connection";

export const REMOTE_DOCKER_SOCKET = "/var/run/docker.sock";

export function dockerOverSsh(conn: SshConnection, socketPath = REMOTE_DOCKER_SOCKET): Docker {
  // node:http is loaded here, not at start (engine.ts says why).
  const { Agent } = require("node:http") as typeof http;
  const agent = new Agent({ keepAlive: false });
  // Node's Agent accepts an asynchronous createConnection(options, callback).
  (agent as unknown as { createConnection: unknown }).createConnection = (_opts: unknown, cb: (err: Error | null, stream?: unknown) => void) => {
    conn.openUnixStream(socketPath).then(
      (ch) => cb(null, ch),
      (err: Error) => cb(err),
    );
  };
  return dockerClient({ protocol: "http", host: "docker", port: 80, agent } as Docker.DockerOptions);
}

/** How long a would-be SSH worker's engine has to tell its version. */
const PROBE_TIMEOUT_MS = 5_000;

/**
 * Connects once to a would-be SSH worker: learns (or checks) its host key and asks its Docker
 * engine for its version. Used when a worker is added, before anything is stored.
 */
export async function probeSshWorker(input: { endpoint: string; privateKey: string; hostKeyFingerprint?: string | null }): Promise<{ fingerprint: string; dockerVersion: string }> {
  const conn = new SshConnection({ endpoint: input.endpoint, privateKey: input.privateKey, hostKeyFingerprint: input.hostKeyFingerprint ?? null, connectTimeoutMs: 8_000 });
  try {
    await conn.get();
    const docker = withDeadlines(dockerOverSsh(conn), new EngineDeadlines(input.endpoint, PROBE_TIMEOUT_MS));
    const version = await docker.version();
    return { fingerprint: conn.presentedFingerprint!, dockerVersion: version.Version };
  } finally {
    conn.close();
  }
}
