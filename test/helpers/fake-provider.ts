// An in-memory provider for fast unit tests of the control plane. It starts nothing: the
// real Docker provider has its own tests against a real engine and real Chromium.
import type { BrowserProvider, BrowserSpec, OwnedBrowser, ProviderEvent, StartedBrowser } from "../../src/providers/provider";

export class FakeProvider implements BrowserProvider {
  readonly kind = "docker" as const;
  readonly browsers = new Map<string, OwnedBrowser>();
  startDelayMs = 0;
  failNextStart: Error | null = null;
  /** How many browsers start() has started. */
  starts = 0;
  private listeners = new Set<(e: ProviderEvent) => void>();
  private seq = 0;

  constructor(readonly workerId: string) {}

  /** start() never returns (an engine that stopped answering) until its signal aborts. */
  hangStarts = false;

  async start(spec: BrowserSpec, signal?: AbortSignal): Promise<StartedBrowser> {
    if (this.hangStarts) await new Promise((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason), { once: true }));
    if (this.startDelayMs) await Bun.sleep(this.startDelayMs);
    if (this.failNextStart) {
      const e = this.failNextStart;
      this.failNextStart = null;
      throw e;
    }
    const handle = `fake-${++this.seq}-${spec.sessionId}`;
    this.browsers.set(handle, { handle, sessionId: spec.sessionId, workerId: this.workerId, running: true, warm: spec.warm });
    this.starts++;
    return { handle, cdp: { host: "127.0.0.1", port: 9 } };
  }
  async stop(handle: string): Promise<void> {
    this.browsers.delete(handle);
  }
  async inspect(handle: string) {
    const b = this.browsers.get(handle);
    return b ? { running: b.running } : null;
  }
  async listOwned(): Promise<OwnedBrowser[]> {
    return [...this.browsers.values()];
  }
  onEvent(listener: (e: ProviderEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  /** What health() answers (a test turns a worker offline or unhealthy); null: never answers. */
  healthAnswer: { ok: boolean; detail?: string; missedDeadline?: boolean } | null = { ok: true };

  async health() {
    if (!this.healthAnswer) return new Promise<never>(() => {});
    return this.healthAnswer;
  }
  async close() {}

  /** Simulates `docker kill`. */
  kill(handle: string): void {
    const b = this.browsers.get(handle);
    if (!b) return;
    b.running = false;
    for (const l of this.listeners) l({ type: "died", handle, sessionId: b.sessionId, reason: "killed", exitCode: 137 });
  }
  /** Adds a labelled browser that has no session (an orphan). */
  addOrphan(sessionId: string): string {
    const handle = `orphan-${++this.seq}`;
    this.browsers.set(handle, { handle, sessionId, workerId: this.workerId, running: true });
    return handle;
  }
}
