// A real OpenSSH server on 127.0.0.1 for SSH-worker tests: its own sshd_config, a generated
// host key and user key in a temp dir, a non-default port, stream-local and TCP forwarding on.
// It fronts this machine's Docker engine, so an "ssh://root@127.0.0.1:<port>" worker reaches
// the same engine as the local one, through SSH only.
import { mkdtempSync, readFileSync, writeFileSync, chmodSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./binary";

export interface Sshd {
  port: number;
  endpoint: string;
  /** The user's private key (OpenSSH format) the worker authenticates with. */
  privateKey: string;
  /** SHA256:… of the host key, as ssh-keygen -lf prints it. */
  hostKeyFingerprint: string;
  start(): Promise<void>;
  /** Stops the listener and every connection it serves (SIGKILL to sshd and its children). */
  stop(): Promise<void>;
  /** Replaces the host key (a different server at the same address); takes effect on start(). */
  rotateHostKey(): Promise<void>;
  /** stop(), then removes the temp dir with the keys and config: no start() after it. */
  dispose(): Promise<void>;
}

function run(cmd: string[]): string {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${p.stderr.toString()}`);
  return p.stdout.toString();
}

export function sshdAvailable(): boolean {
  return existsSync("/usr/sbin/sshd") && process.getuid?.() === 0;
}

export async function startSshd(): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), "bg-sshd-"));
  chmodSync(dir, 0o700);
  const port = freePort();
  const hostKey = join(dir, "host_ed25519");
  const userKey = join(dir, "user_ed25519");
  const genHostKey = () => run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
  genHostKey();
  run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", userKey]);
  writeFileSync(join(dir, "authorized_keys"), readFileSync(`${userKey}.pub`), { mode: 0o600 });
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "AllowStreamLocalForwarding yes",
      "AllowTcpForwarding yes",
      "MaxSessions 100",
      "MaxStartups 100",
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );
  let proc: ReturnType<typeof Bun.spawn> | null = null;
  const fingerprint = () => run(["ssh-keygen", "-lf", `${hostKey}.pub`]).split(" ")[1]!;

  const sshd: Sshd = {
    port,
    endpoint: `ssh://root@127.0.0.1:${port}`,
    privateKey: readFileSync(userKey, "utf8"),
    hostKeyFingerprint: fingerprint(),
    async start() {
      if (!existsSync("/run/sshd")) run(["mkdir", "-p", "/run/sshd"]);
      proc = Bun.spawn(["/usr/sbin/sshd", "-D", "-e", "-f", join(dir, "sshd_config")], { stdout: "ignore", stderr: "ignore" });
      const deadline = Date.now() + 5_000;
      for (;;) {
        const ok = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } })
          .then((s) => (s.end(), true))
          .catch(() => false);
        if (ok) return;
        if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`sshd did not start on port ${port}`);
        await Bun.sleep(20);
      }
    },
    async stop() {
      if (!proc) return;
      const main = proc.pid;
      // sshd forks one process per connection: kill those first (they outlive the listener).
      const children = (pid: number): number[] => {
        const p = Bun.spawnSync(["ps", "-o", "pid=", "--ppid", String(pid)], { stdout: "pipe" });
        const direct = p.stdout.toString().split("\n").map((x) => Number(x.trim())).filter(Boolean);
        return direct.flatMap((c) => [c, ...children(c)]);
      };
      for (const pid of children(main)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
      proc.kill("SIGKILL");
      await proc.exited;
      proc = null;
    },
    async rotateHostKey() {
      run(["rm", "-f", hostKey, `${hostKey}.pub`]);
      genHostKey();
      sshd.hostKeyFingerprint = fingerprint();
    },
    async dispose() {
      await sshd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await sshd.start();
  return sshd;
}
