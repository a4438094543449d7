// Which provider serves which worker. Built from the workers table at boot; later modules
// (SSH workers, local processes) add theirs here.
import type { BrowserProvider } from "./provider";

/** What sessions and warm pools read: the provider of a worker, and every provider. */
export interface ProviderRegistry {
  get(workerId: string): BrowserProvider | undefined;
  entries(): [string, BrowserProvider][];
}

export class ProviderRegistryImpl implements ProviderRegistry {
  private map = new Map<string, BrowserProvider>();

  set(workerId: string, provider: BrowserProvider): void {
    this.map.set(workerId, provider);
  }
  delete(workerId: string): void {
    this.map.delete(workerId);
  }
  get(workerId: string): BrowserProvider | undefined {
    return this.map.get(workerId);
  }
  entries(): [string, BrowserProvider][] {
    return [...this.map.entries()];
  }
  async closeAll(): Promise<void> {
    await Promise.all([...this.map.values()].map((p) => p.close().catch(() => {})));
  }
}
