// Worker endpoints: where a worker's browsers run, in one canonical spelling so that one place
// is one row (the endpoints column is unique). Accepted forms:
//   unix:///var/run/docker.sock   a Docker engine on this host
//   ssh://user@host[:port]        a Docker engine on another host, reached over SSH
//   local                         Chromium processes on this host (no Docker)
// Everything else is refused before anything is stored or contacted.
import { BadRequest } from "../lib/errors";

export type Endpoint =
  | { kind: "docker"; socketPath: string; canonical: string }
  | { kind: "ssh"; user: string; host: string; port: number; canonical: string }
  | { kind: "local"; canonical: string };

const USER = /^[a-z_][a-z0-9_.-]{0,31}$/i;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-f:.]{2,45}$/i;
const SOCKET_PATH = /^\/[A-Za-z0-9._\-/]{1,200}$/;

function bad(endpoint: string, why: string): never {
  throw new BadRequest(
    `Invalid endpoint "${endpoint.slice(0, 100)}": ${why}. Use unix:///var/run/docker.sock, ssh://user@host[:port] or local.`,
    "invalid_endpoint",
  );
}

export function parseEndpoint(endpoint: string): Endpoint {
  const e = endpoint.trim();
  if (e.length === 0 || e.length > 300) bad(endpoint, "length must be 1-300 characters");
  if (e === "local") return { kind: "local", canonical: "local" };
  if (e.startsWith("unix://")) {
    const path = e.slice("unix://".length);
    if (!SOCKET_PATH.test(path) || path.split("/").some((seg) => seg === ".." || seg === ".")) bad(endpoint, "the socket path must be absolute, without . or .. segments");
    return { kind: "docker", socketPath: path.replace(/\/+/g, "/"), canonical: `unix://${path.replace(/\/+/g, "/")}` };
  }
  if (e.startsWith("ssh://")) {
    const m = /^ssh:\/\/([^@/?#]+)@(\[[^\]]+\]|[^:/?#]+)(?::(\d{1,5}))?\/?$/.exec(e);
    if (!m) bad(endpoint, "expected ssh://user@host[:port] (no path, query or password)");
    const [, user, rawHost, rawPort] = m;
    if (!USER.test(user!)) bad(endpoint, "the user name is not a valid Unix user name");
    const host = rawHost!.startsWith("[") ? rawHost!.slice(1, -1).toLowerCase() : rawHost!.toLowerCase();
    if (!(IPV4.test(host) || HOSTNAME.test(host) || (rawHost!.startsWith("[") && IPV6.test(host) && host.includes(":")))) bad(endpoint, "the host is not a host name or IP address");
    const port = rawPort === undefined ? 22 : Number(rawPort);
    if (!Number.isInteger(port) || port < 1 || port > 65535) bad(endpoint, "the port must be 1-65535");
    const hostPart = host.includes(":") ? `[${host}]` : host;
    return { kind: "ssh", user: user!, host, port, canonical: `ssh://${user}@${hostPart}:${port}` };
  }
  bad(endpoint, "unknown scheme");
}
