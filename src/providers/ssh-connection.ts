// One long-lived SSH connection per remote worker, shared by every Docker API request (a
// forwarded stream to the remote /var/run/docker.sock each) and every CDP connection (a
// forwarded TCP channel to the container's address, opened from the remote host).
//
// Threats: a man in the middle or a re-installed host answering at the same address — the host
// key is pinned when the worker is added and any other key fails closed with HostKeyMismatch,
// never a silent re-pin; a flapping host — reconnects back off exponentially (100 ms → 10 s), so
// a dead worker costs one attempt per backoff step, not one per API call.
// ssh2 is loaded on the first SSH connection, not at start-up (its import costs ≈ 17 ms of every
// start, and most installs have no SSH worker).
import type { Client, ClientChannel, ConnectConfig } from "ssh2";
import { createHash } from "node:crypto";
import { parseEndpoint } from "./endpoint";

export class HostKeyMismatch extends Error {
  constructor(endpoint: string, pinned: string, presented: string) {
    super(
      `SSH host key of ${endpoint} changed: pinned ${pinned}, the server presented ${presented}. ` +
        `Refusing to connect. If the host was re-installed on purpose, remove the worker and add it again.`,
    );
  }
}

/** OpenSSH's fingerprint form: SHA256:<unpadded base64 of the SHA-256 of the key blob>. */
export function fingerprintOf(key: Buffer): string {
  return "SHA256:" + createHash("sha256").update(key).digest("base64").replace(/=+$/, "");
}

export interface SshTarget {
  endpoint: string;
  privateKey: string;
  /** The pinned host key fingerprint; null only while adding a worker (trust on first use). */
  hostKeyFingerprint: string | null;
  connectTimeoutMs?: number;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 10_000;

export class SshConnection {
  private client: Client | null = null;
  private connecting: Promise<Client> | null = null;
  private backoffMs = 0;
  private nextAttemptAt = 0;
  private closed = false;
  private lastError: Error | null = null;
  /** The fingerprint the server presented on the last handshake. */
  presentedFingerprint: string | null = null;
  /** Called when an established connection drops (the worker may be gone). */
  onDisconnect: (err: Error | null) => void = () => {};

  constructor(private readonly target: SshTarget) {}

  get connected(): boolean {
    return this.client !== null;
  }

  /** The live client, connecting (or reconnecting, after the backoff) when needed. */
  get(): Promise<Client> {
    if (this.closed) return Promise.reject(new Error("SSH connection closed"));
    if (this.client) return Promise.resolve(this.client);
    if (this.connecting) return this.connecting;
    const wait = this.nextAttemptAt - Date.now();
    if (wait > 0 && this.lastError)
      return Promise.reject(new Error(`${this.lastError.message} (next attempt in ${Math.ceil(wait / 100) / 10} s)`));
    this.connecting = this.connect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async connect(): Promise<Client> {
    const { user, host, port } = parseEndpoint(this.target.endpoint) as { user: string; host: string; port: number };
    const { Client } = await import("ssh2");
    return new Promise<Client>((resolve, reject) => {
      const c = new Client();
      let mismatch: HostKeyMismatch | null = null;
      let ready = false;
      const config: ConnectConfig = {
        host,
        port,
        username: user,
        privateKey: this.target.privateKey,
        readyTimeout: this.target.connectTimeoutMs ?? 5_000,
        keepaliveInterval: 3_000,
        keepaliveCountMax: 2,
        hostVerifier: (key: Buffer) => {
          const presented = fingerprintOf(key);
          this.presentedFingerprint = presented;
          const pinned = this.target.hostKeyFingerprint;
          if (pinned && pinned !== presented) {
            mismatch = new HostKeyMismatch(this.target.endpoint, pinned, presented);
            return false;
          }
          return true;
        },
      };
      c.on("ready", () => {
        ready = true;
        this.client = c;
        this.backoffMs = 0;
        this.lastError = null;
        resolve(c);
      });
      c.on("error", (err) => {
        if (!ready) return fail(mismatch ?? err);
        this.lastError = err;
      });
      c.on("close", () => {
        if (!ready) return fail(mismatch ?? new Error(`SSH connection to ${host}:${port} closed during the handshake`));
        if (this.client === c) this.client = null;
        this.scheduleBackoff(this.lastError ?? new Error(`SSH connection to ${host}:${port} lost`));
        if (!this.closed) this.onDisconnect(this.lastError);
      });
      const fail = (err: Error) => {
        if (ready) return;
        ready = true; // settle once
        this.scheduleBackoff(err);
        c.end();
        reject(err);
      };
      try {
        c.connect(config);
      } catch (err) {
        fail(err as Error);
      }
    });
  }

  private scheduleBackoff(err: Error): void {
    this.lastError = err;
    this.backoffMs = this.backoffMs ? Math.min(this.backoffMs * 2, MAX_BACKOFF_MS) : MIN_BACKOFF_MS;
    this.nextAttemptAt = Date.now() + this.backoffMs;
  }

  /** A stream to a Unix socket on the remote host (the Docker API). */
  async openUnixStream(path: string): Promise<ClientChannel> {
    const c = await this.get();
    return new Promise((resolve, reject) => c.openssh_forwardOutStreamLocal(path, (err, ch) => (err ? reject(err) : resolve(ch))));
  }

  /** A TCP channel from the remote host to host:port (a container's CDP relay). */
  async openTcp(host: string, port: number): Promise<ClientChannel> {
    const c = await this.get();
    return new Promise((resolve, reject) => c.forwardOut("127.0.0.1", 0, host, port, (err, ch) => (err ? reject(err) : resolve(ch))));
  }

  close(): void {
    this.closed = true;
    this.client?.end();
    this.client = null;
  }
}
