// A connected subnet of this host that is NOT a private range, the way a VPS sits in a public
// /24 with its neighbours: a veth pair into a network namespace, TEST-NET-2 198.51.100.0/24 on
// the link (host side .1 — one of the host's own addresses; neighbours .10 and .11 in the
// namespace), plus one "public" TEST-NET-3 address routed through the namespace (not on-link,
// so not a connected subnet). The namespace listens on TCP 80 of each address and logs every
// connection to its own file; a catch-all reject keeps every test packet on this machine.
// Names differ from test/helpers/private-net.ts so both can run at once.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const NS = "bgrelaynet";
const VETH_HOST = "bgrl-h";
const VETH_NS = "bgrl-n";
export const SUBNET = {
  cidr: "198.51.100.0/24",
  /** The host's own (non-loopback) address on the link. */
  host: "198.51.100.1",
  /** A neighbour on the host's connected subnet. */
  neighbour: "198.51.100.10",
  /** Another neighbour, which tests put in an egress allow-list. */
  allowed: "198.51.100.11",
  /** A "public" address: routed through the namespace, not on a connected subnet. */
  public: "203.0.113.77",
} as const;
const LISTEN = [SUBNET.neighbour, SUBNET.allowed, SUBNET.public];

function sh(cmd: string[], allowFail = false): void {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0 && !allowFail) throw new Error(`${cmd.join(" ")} failed: ${p.stderr.toString()}`);
}

export interface ConnectedSubnet {
  /** Connections logged per listening address (only addresses that got one). */
  logs(): Record<string, string[]>;
  stop(): Promise<void>;
}

/** Runs inside the namespace (`bun connected-subnet.ts serve <dir>`). */
function serve(dir: string): void {
  for (const addr of LISTEN) {
    Bun.listen({
      hostname: addr,
      port: 80,
      socket: {
        open(s) {
          writeFileSync(join(dir, addr), `connection from ${s.remoteAddress}\n`, { flag: "a" });
        },
        data(s, data) {
          if (!/^[A-Z]+ \S+ HTTP\/1/.test(data.toString("latin1"))) return;
          const body = `<!doctype html><title>${addr}</title><p id="who">listener ${addr}</p>`;
          s.end(`HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
        },
      },
    });
  }
  writeFileSync(join(dir, "ready"), "1");
}

function teardown(): void {
  sh(["ip", "route", "del", `${SUBNET.public}/32`, "via", SUBNET.neighbour], true);
  sh(["ip", "link", "del", VETH_HOST], true);
  sh(["ip", "netns", "del", NS], true);
}

export async function startConnectedSubnet(): Promise<ConnectedSubnet> {
  teardown(); // leftovers of an interrupted run
  const dir = mkdtempSync(join(tmpdir(), "bg-subnet-"));
  sh(["ip", "netns", "add", NS]);
  sh(["ip", "link", "add", VETH_HOST, "type", "veth", "peer", "name", VETH_NS]);
  sh(["ip", "link", "set", VETH_NS, "netns", NS]);
  sh(["ip", "addr", "add", `${SUBNET.host}/24`, "dev", VETH_HOST]);
  sh(["ip", "link", "set", VETH_HOST, "up"]);
  sh(["ip", "-n", NS, "addr", "add", `${SUBNET.neighbour}/24`, "dev", VETH_NS]);
  sh(["ip", "-n", NS, "addr", "add", `${SUBNET.allowed}/24`, "dev", VETH_NS]);
  sh(["ip", "-n", NS, "link", "set", VETH_NS, "up"]);
  sh(["ip", "-n", NS, "link", "set", "lo", "up"]);
  sh(["ip", "-n", NS, "addr", "add", `${SUBNET.public}/32`, "dev", "lo"]);
  sh(["ip", "route", "add", `${SUBNET.public}/32`, "via", SUBNET.neighbour]);
  // Answers go back to the host's side of the link; nothing else leaves the namespace.
  const guard = `table inet ${NS}_catchall {\n\tchain out {\n\t\ttype filter hook output priority 0; policy accept;\n\t\toifname "lo" accept\n\t\tip daddr ${SUBNET.host} accept\n\t\treject\n\t}\n}\n`;
  const nft = Bun.spawnSync(["ip", "netns", "exec", NS, "nft", "-f", "-"], { stdin: new TextEncoder().encode(guard), stderr: "pipe" });
  if (nft.exitCode !== 0) throw new Error(`catch-all reject in ${NS} failed: ${nft.stderr.toString()}`);

  const proc = Bun.spawn(["ip", "netns", "exec", NS, process.execPath, import.meta.path, "serve", dir], { stdout: "inherit", stderr: "inherit" });
  const deadline = Date.now() + 10_000;
  while (!readdirSync(dir).includes("ready")) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error("the connected subnet's listeners did not start");
    await Bun.sleep(20);
  }
  return {
    logs() {
      const out: Record<string, string[]> = {};
      for (const f of readdirSync(dir)) {
        if (f === "ready") continue;
        const lines = readFileSync(join(dir, f), "utf8").split("\n").filter(Boolean);
        if (lines.length) out[f] = lines;
      }
      return out;
    },
    async stop() {
      proc.kill("SIGKILL");
      await proc.exited;
      teardown();
    },
  };
}

if (import.meta.main && process.argv[2] === "serve") serve(process.argv[3]!);
