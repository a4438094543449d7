// Hard and idle timeouts, one timer each per running session. The hard timer fires at
// expiresAt; the idle timer runs only while no client is connected.
import type { SessionRow } from "./sessions.store";

type Timer = ReturnType<typeof setTimeout>;

export class SessionTimers {
  private hard = new Map<string, Timer>();
  private idle = new Map<string, Timer>();

  constructor(private on: { onHardTimeout(id: string): void; onIdleTimeout(id: string): void }) {}

  /** A session just became running (or was adopted after a restart): no client yet. */
  arm(row: SessionRow): void {
    this.clear(row.id);
    if (row.expiresAt) {
      const id = row.id;
      this.hard.set(id, setTimeout(() => this.on.onHardTimeout(id), Math.max(0, row.expiresAt - Date.now())));
    }
    this.armIdle(row);
  }

  armIdle(row: SessionRow): void {
    this.clearIdle(row.id);
    const id = row.id;
    this.idle.set(id, setTimeout(() => this.on.onIdleTimeout(id), row.idleTimeoutSec * 1000));
  }

  clearIdle(id: string): void {
    const t = this.idle.get(id);
    if (t) clearTimeout(t);
    this.idle.delete(id);
  }

  clear(id: string): void {
    this.clearIdle(id);
    const t = this.hard.get(id);
    if (t) clearTimeout(t);
    this.hard.delete(id);
  }

  clearAll(): void {
    for (const id of [...this.hard.keys(), ...this.idle.keys()]) this.clear(id);
  }
}
