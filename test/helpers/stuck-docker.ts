// A Docker socket that can get stuck the way a deadlocked Docker 20.10 engine does
// (moby/moby#42545, docs in FIELD-NOTES): a Unix socket server that passes every request to the
// real engine until `wedge()`; from then on it accepts requests and never answers them, except
// `GET /_ping` and the container list (`docker ps`), which a deadlocked engine still answers.
// A request left hanging still reaches the engine, which may carry it out (a container created
// whose id never comes back): only the answer is lost. `unwedge()` ends the requests left
// hanging (as a dockerd restart does) and passes everything again. `wedge({ all: true })`:
// nothing is answered, ping included.
import { rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface StuckDocker {
  /** The socket to point BrowserGrid at (BROWSERGRID_DOCKER_SOCKET). */
  path: string;
  wedge(opts?: { all?: boolean }): void;
  unwedge(): void;
  /** Requests left hanging since the last wedge() (also those their client gave up on), "METHOD /path" each. */
  hung(): string[];
  close(): Promise<void>;
}

const REQUEST_LINE = /^(GET|HEAD|POST|PUT|DELETE|PATCH) (\S+) HTTP\/1\.[01]\r\n/;
/** What a deadlocked engine still answers (the API version prefix is optional). */
const STILL_ANSWERED = [/^GET (\/v[\d.]+)?\/_ping\b/, /^HEAD (\/v[\d.]+)?\/_ping\b/, /^GET (\/v[\d.]+)?\/containers\/json\b/];

export async function startStuckDocker(upstreamPath = "/var/run/docker.sock"): Promise<StuckDocker> {
  const path = join(tmpdir(), `bg-stuck-docker-${process.pid}-${Math.random().toString(36).slice(2, 8)}.sock`);
  let wedged: "no" | "locks" | "all" = "no";
  const hanging = new Set<net.Socket>();
  let hungLog: string[] = [];
  const sockets = new Set<net.Socket>();

  const server = net.createServer((client) => {
    sockets.add(client);
    const upstream = net.connect(upstreamPath);
    sockets.add(upstream);
    let stuck = false;
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      hanging.delete(client);
    };
    client.on("data", (chunk: Buffer) => {
      // Clients here send one request at a time per connection, so a request starts a chunk.
      const line = stuck ? null : REQUEST_LINE.exec(chunk.subarray(0, 2048).toString("latin1"));
      if (line && wedged !== "no" && (wedged === "all" || !STILL_ANSWERED.some((re) => re.test(line[0])))) {
        stuck = true; // from now on this connection's answers are dropped
        hanging.add(client);
        hungLog.push(`${line[1]} ${line[2]!.split("?")[0]}`);
        upstream.unpipe(client);
        upstream.resume();
      }
      if (!upstream.write(chunk)) {
        client.pause();
        upstream.once("drain", () => client.resume());
      }
    });
    upstream.pipe(client, { end: false });
    upstream.on("end", () => {
      if (!stuck) client.end();
    });
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", () => {
      if (!stuck) client.end();
    });
  });
  rmSync(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });

  return {
    path,
    wedge(opts = {}) {
      wedged = opts.all ? "all" : "locks";
      hungLog = [];
    },
    unwedge() {
      wedged = "no";
      for (const s of hanging) s.destroy();
      hanging.clear();
    },
    hung: () => [...hungLog],
    async close() {
      wedged = "no";
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(path, { force: true });
    },
  };
}
