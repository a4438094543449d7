// One Docker event stream per provider: container `die`/`oom` events of this install. The stream
// is re-opened when it breaks (daemon restart, socket hiccup) with `since` set to the last event
// seen, so a death that happens while disconnected is still delivered, exactly once.
import { log } from "../lib/logger";
import type { EngineReads, EventStream } from "./engine";

export interface ContainerDeath {
  id: string;
  labels: Record<string, string>;
  exitCode?: number;
  oom: boolean;
}

interface DockerEvent {
  Type?: string;
  Action?: string;
  id?: string;
  timeNano?: number | string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

const MAX_RETRY_MS = 5_000;

export class ContainerDeathWatcher {
  private stream?: EventStream;
  private sinceNano = BigInt(Date.now()) * 1_000_000n;
  private readonly seen = new Set<string>();
  private readonly oomKilled = new Set<string>();
  private retryMs = 100;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private closed = false;

  constructor(
    private readonly engine: Pick<EngineReads, "events">,
    private readonly installId: string,
    private readonly onDeath: (death: ContainerDeath) => void,
  ) {
    void this.connect();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.stream?.close();
    this.stream = undefined;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const since = `${this.sinceNano / 1_000_000_000n}.${(this.sinceNano % 1_000_000_000n).toString().padStart(9, "0")}`;
    let stream: EventStream;
    try {
      stream = await this.engine.events({ since, filters: { type: ["container"], event: ["die", "oom"], label: [`browsergrid.install=${this.installId}`] } });
    } catch (err) {
      this.scheduleReconnect(err);
      return;
    }
    if (this.closed) {
      stream.close();
      return;
    }
    this.stream = stream;
    this.retryMs = 100;
    let buffered = "";
    const decoder = new TextDecoder();
    let error: unknown;
    try {
      for await (const chunk of stream.chunks) {
        buffered += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
        for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (!line) continue;
          try {
            this.handle(JSON.parse(line) as DockerEvent);
          } catch (err) {
            log.warn("docker event not understood", { err, line: line.slice(0, 200) });
          }
        }
      }
    } catch (err) {
      error = err;
    }
    if (this.stream === stream) this.stream = undefined;
    this.scheduleReconnect(error ?? new Error("event stream ended"));
  }

  private scheduleReconnect(err: unknown): void {
    if (this.closed) return;
    log.warn("docker event stream lost, reconnecting", { err, retryMs: this.retryMs });
    this.retryTimer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  private handle(event: DockerEvent): void {
    const id = event.Actor?.ID ?? event.id;
    if (event.Type !== "container" || !id || event.timeNano === undefined) return;
    const timeNano = BigInt(event.timeNano);
    const key = `${id}:${event.Action}:${timeNano}`;
    if (this.seen.has(key)) return; // replayed after a reconnect
    this.seen.add(key);
    if (this.seen.size > 2_000) this.seen.delete(this.seen.values().next().value as string);
    if (timeNano > this.sinceNano) this.sinceNano = timeNano;

    if (event.Action === "oom") {
      this.oomKilled.add(id);
      return;
    }
    if (event.Action !== "die") return;
    const attributes = event.Actor?.Attributes ?? {};
    const exitCode = attributes.exitCode === undefined ? undefined : Number(attributes.exitCode);
    const oom = this.oomKilled.delete(id);
    this.onDeath({ id, labels: attributes, exitCode: Number.isFinite(exitCode) ? exitCode : undefined, oom });
  }
}
