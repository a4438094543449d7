// A "private network" for egress tests, built the honest way (FIELD-NOTES "Testing it
// honestly"): a network namespace behind a veth pair with host routes, so traffic from the
// browser bridges goes through the host's forward hook exactly like traffic to a real LAN.
// Inside: listeners on private, CGNAT, link-local (metadata) and one TEST-NET-3 "public"
// address (TCP 80/443, UDP 443/3478), each logging every connection or packet to its own file;
// a fake DNS answering every name with a private address at TTL 0; and a catch-all reject so no
// test packet can leave the machine. Routes are narrow /32s: the host LAN and resolver stay as
// they are.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const NS = "bgegress";
const VETH_HOST = "bgeg-h";
const VETH_NS = "bgeg-n";
export const HOST_SIDE = "10.250.0.1";
const NS_SIDE = "10.250.0.2";
export const ADDR = {
  ten: "10.250.1.10",
  lan: "192.168.250.10",
  cgnat: "100.64.250.10",
  metadata: "169.254.169.254",
  public: "203.0.113.10",
  dns: "10.250.0.53",
} as const;
const LISTEN = [ADDR.ten, ADDR.lan, ADDR.cgnat, ADDR.metadata, ADDR.public];

function sh(cmd: string[], allowFail = false): string {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0 && !allowFail) throw new Error(`${cmd.join(" ")} failed: ${p.stderr.toString()}`);
  return p.stdout.toString();
}

export interface PrivateNet {
  logDir: string;
  /** Every logged event, by file name (`tcp-10.250.1.10-80.log` → lines). Only files with content. */
  logs(): Record<string, string[]>;
  clearLogs(): void;
  stop(): Promise<void>;
}

/** The listeners and the fake DNS; runs inside the namespace (`bun private-net.ts serve <dir>`). */
async function serve(dir: string): Promise<void> {
  const log = (file: string, line: string) => writeFileSync(join(dir, file), line + "\n", { flag: "a" });
  for (const addr of LISTEN) {
    for (const port of [80, 443]) {
      Bun.listen({
        hostname: addr,
        port,
        socket: {
          open(s) {
            log(`tcp-${addr}-${port}.log`, `connection from ${s.remoteAddress}`);
          },
          data(s, data) {
            const first = data.toString("latin1").split("\r\n")[0] ?? "";
            log(`tcp-${addr}-${port}.log`, `data ${first.slice(0, 200)}`);
            if (/^[A-Z]+ \S+ HTTP\/1/.test(first)) {
              const body = `<!doctype html><title>${addr}</title><p id="who">listener ${addr}:${port}</p>`;
              s.end(`HTTP/1.1 200 OK\r\ncontent-type: text/html\r\naccess-control-allow-origin: *\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
            }
          },
        },
      });
    }
    for (const port of [443, 3478])
      await Bun.udpSocket({
        hostname: addr,
        port,
        socket: {
          data(_s, buf, rport, raddr) {
            log(`udp-${addr}-${port}.log`, `packet of ${buf.length} bytes from ${raddr}:${rport}`);
          },
        },
      });
  }
  // Fake DNS: every A query gets a private address at TTL 0; "rebind.*" alternates a public
  // and a private answer; AAAA and others get an empty answer.
  let flip = 0;
  const answerFor = (name: string): string => {
    if (name.startsWith("rebind.")) return flip++ % 2 === 0 ? ADDR.public : ADDR.lan;
    if (name.startsWith("public.")) return ADDR.public;
    if (name.startsWith("ten.")) return ADDR.ten;
    if (name.startsWith("meta.")) return ADDR.metadata;
    if (name.startsWith("cgnat.")) return ADDR.cgnat;
    return ADDR.lan;
  };
  const dns = await Bun.udpSocket({
    hostname: ADDR.dns,
    port: 53,
    socket: {
      data(s, q, port, addr) {
        if (q.length < 17) return;
        let i = 12;
        const labels: string[] = [];
        while (i < q.length && q[i]! > 0) {
          labels.push(q.subarray(i + 1, i + 1 + q[i]!).toString("latin1"));
          i += q[i]! + 1;
        }
        const qEnd = i + 5;
        const qtype = q.readUInt16BE(i + 1);
        const name = labels.join(".").toLowerCase();
        const ip = qtype === 1 ? answerFor(name) : "";
        log("dns.log", `${qtype === 1 ? "A" : qtype} ${name}${qtype === 1 ? ` → ${ip}` : ""}`);
        const header = Buffer.from(q.subarray(0, 12));
        header.writeUInt16BE(0x8180, 2); // response, recursion available, no error
        header.writeUInt16BE(1, 4);
        header.writeUInt16BE(qtype === 1 ? 1 : 0, 6);
        header.writeUInt32BE(0, 8);
        const question = q.subarray(12, qEnd);
        const answer = qtype === 1 ? Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, ...ip.split(".").map(Number)]) : Buffer.alloc(0);
        s.send(Buffer.concat([header, question, answer]), port, addr);
      },
    },
  });
  void dns;
  writeFileSync(join(dir, "ready"), "1");
}

function teardown(): void {
  for (const ip of [ADDR.ten, ADDR.lan, ADDR.cgnat, ADDR.metadata, ADDR.public, ADDR.dns]) sh(["ip", "route", "del", `${ip}/32`, "via", NS_SIDE], true);
  sh(["ip", "link", "del", VETH_HOST], true);
  sh(["ip", "netns", "del", NS], true);
}

export async function startPrivateNet(): Promise<PrivateNet> {
  teardown(); // leftovers of an interrupted run
  const logDir = mkdtempSync(join(tmpdir(), "bg-privnet-"));
  sh(["ip", "netns", "add", NS]);
  sh(["ip", "link", "add", VETH_HOST, "type", "veth", "peer", "name", VETH_NS]);
  sh(["ip", "link", "set", VETH_NS, "netns", NS]);
  sh(["ip", "addr", "add", `${HOST_SIDE}/30`, "dev", VETH_HOST]);
  sh(["ip", "link", "set", VETH_HOST, "up"]);
  sh(["ip", "-n", NS, "addr", "add", `${NS_SIDE}/30`, "dev", VETH_NS]);
  sh(["ip", "-n", NS, "link", "set", VETH_NS, "up"]);
  sh(["ip", "-n", NS, "link", "set", "lo", "up"]);
  for (const ip of [...LISTEN, ADDR.dns]) {
    sh(["ip", "-n", NS, "addr", "add", `${ip}/32`, "dev", "lo"]);
    sh(["ip", "route", "add", `${ip}/32`, "via", NS_SIDE]);
  }
  // Nothing leaves the namespace except answers to the host side (where Docker masquerades
  // browser traffic to): everything else is rejected, so no test packet escapes the machine.
  const guard = `table inet ${NS}_catchall {\n\tchain out {\n\t\ttype filter hook output priority 0; policy accept;\n\t\toifname "lo" accept\n\t\tip daddr ${HOST_SIDE} accept\n\t\treject\n\t}\n}\n`;
  const nft = Bun.spawnSync(["ip", "netns", "exec", NS, "nft", "-f", "-"], { stdin: new TextEncoder().encode(guard), stderr: "pipe" });
  if (nft.exitCode !== 0) throw new Error(`catch-all reject in ${NS} failed: ${nft.stderr.toString()}`);

  const proc = Bun.spawn(["ip", "netns", "exec", NS, process.execPath, import.meta.path, "serve", logDir], { stdout: "inherit", stderr: "inherit" });
  const deadline = Date.now() + 10_000;
  while (!readdirSync(logDir).includes("ready")) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error("the private network's listeners did not start");
    await Bun.sleep(20);
  }
  const net: PrivateNet = {
    logDir,
    logs() {
      const out: Record<string, string[]> = {};
      for (const f of readdirSync(logDir)) {
        if (f === "ready") continue;
        const lines = readFileSync(join(logDir, f), "utf8").split("\n").filter(Boolean);
        if (lines.length) out[f] = lines;
      }
      return out;
    },
    clearLogs() {
      for (const f of readdirSync(logDir)) if (f !== "ready") writeFileSync(join(logDir, f), "");
    },
    async stop() {
      proc.kill("SIGKILL");
      await proc.exited;
      teardown();
    },
  };
  return net;
}

if (import.meta.main && process.argv[2] === "serve") await serve(process.argv[3]!);
