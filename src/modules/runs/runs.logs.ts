// The logs of the runs this process knows: in memory (RunLog) while a run is under way, then
// written once to the blob store (runs/<id>/log) when it ends. Readers get the in-memory log
// until the blob is in place, so nothing is missed between the two.
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import type { BlobStore } from "../../storage/blob-store";
import { RunLog } from "./runs.log";
import { isRunTerminal, type RunRow } from "./runs.store";

export class RunLogs {
  private readonly live = new Map<string, RunLog>();
  private readonly storing = new Set<string>();

  constructor(private readonly deps: { db: Db; log: Logger; blobs: BlobStore }) {}

  /** The run's in-memory log, created for its first attempt. */
  of(runId: string): RunLog {
    let log = this.live.get(runId);
    if (!log) this.live.set(runId, (log = new RunLog()));
    return log;
  }

  /** The in-memory log, if the run has one now. */
  find(runId: string): RunLog | undefined {
    return this.live.get(runId);
  }

  /** The run's log so far: live for a run under way, else the stored one ("" when none). */
  async text(run: RunRow): Promise<string> {
    const live = this.live.get(run.id);
    if (live) return live.text();
    if (!run.logKey) return "";
    return new TextDecoder().decode(await this.deps.blobs.read(run.logKey).catch(() => new Uint8Array()));
  }

  /** The in-memory log's text, or null. */
  liveText(runId: string): string | null {
    return this.live.get(runId)?.text() ?? null;
  }

  /** The in-memory log's size in chunks (0 when none): moves with every new line. */
  liveSize(runId: string): number {
    return this.live.get(runId)?.size() ?? 0;
  }

  /**
   * Everything so far, then each new chunk, then null once the run ends (a queued run's follower
   * waits for its first attempt). Returns an unsubscribe function.
   */
  async follow(run: RunRow, listener: (chunk: string | null) => void): Promise<() => void> {
    const live = this.live.get(run.id) ?? (isRunTerminal(run.status) ? undefined : this.of(run.id));
    if (live) return live.follow(listener);
    const text = await this.text(run);
    if (text) listener(text);
    listener(null);
    return () => {};
  }

  /** The run has ended: followers are told, the log goes to the blob store and then leaves memory. */
  ended(runId: string): void {
    const log = this.live.get(runId);
    if (!log) return;
    log.end();
    this.storing.add(runId);
    void this.store(runId, log).finally(() => {
      this.storing.delete(runId);
      this.live.delete(runId);
    });
  }

  private async store(runId: string, log: RunLog): Promise<void> {
    const key = `runs/${runId}/log`;
    try {
      await this.deps.blobs.put(key, new TextEncoder().encode(log.text()));
      this.deps.db.$client.query("UPDATE runs SET log_key = ? WHERE id = ?").run(key, runId);
    } catch (err) {
      this.deps.log.warn("run log not stored", { runId, err });
    }
  }

  /** Resolves once ended runs' logs are stored (tests, shutdown). */
  async stored(): Promise<void> {
    while (this.storing.size) await Bun.sleep(5);
  }
}
