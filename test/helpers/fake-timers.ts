// Time that moves only when a test says so: `advance(ms)` runs every timer due on the way, in
// order, at its own due time, and awaits what each returns, so a test sees a timer's whole
// effect before it looks.
export class FakeTimers {
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fire: () => void | Promise<void> }>();

  constructor(public t: number) {}

  now = (): number => this.t;

  setTimer = (fire: () => void | Promise<void>, delayMs: number): number => {
    const id = ++this.seq;
    this.pending.set(id, { at: this.t + Math.max(0, delayMs), fire });
    return id;
  };

  clearTimer = (handle: unknown): void => void this.pending.delete(handle as number);

  /** How many timers are set. */
  get size(): number {
    return this.pending.size;
  }

  /** The due times of the timers set, earliest first. */
  dueTimes(): number[] {
    return [...this.pending.values()].map((p) => p.at).sort((a, b) => a - b);
  }

  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.t + ms);
  }

  async advanceTo(target: number): Promise<void> {
    for (;;) {
      let next: [number, { at: number; fire: () => void | Promise<void> }] | undefined;
      for (const e of this.pending) if (e[1].at <= target && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
      if (!next) break;
      this.pending.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      await next[1].fire();
    }
    this.t = Math.max(this.t, target);
  }
}
