// The benches' view of a test grid (test/helpers/grid.ts): its API with errors thrown, waiting
// for warm browsers, and giving them back before the grid stops (warm browsers outlive a server
// stop, like running sessions).
import type { Grid } from "../../test/helpers/grid";

export type Api = (method: string, path: string, body?: unknown) => Promise<any>;

/** grid.api that returns the body and throws on an answer of 300 or more. */
export function apiOf(grid: Grid): Api {
  return async (method, path, body) => {
    const r = await grid.api(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
}

/** Waits until the pool has `need` warm browsers ready and none starting. */
export async function warmReady(api: Api, pool: string, need: number, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const p = await api("GET", `/api/v1/pools/${pool}`);
    if (p.stats.warm.ready >= need && p.stats.warm.starting === 0) return;
    if (Date.now() > end) throw new Error(`pool ${pool}: warm browsers not ready (${JSON.stringify(p.stats)})`);
    await Bun.sleep(50);
  }
}

/** Sets minWarm to 0 on the pools and waits (up to `waitMs`) until their warm browsers are gone. */
export async function shrinkWarm(api: Api, pools: string[], waitMs = 20_000): Promise<void> {
  for (const pool of pools) await api("PATCH", `/api/v1/pools/${pool}`, { minWarm: 0 }).catch(() => {});
  for (const pool of pools) {
    for (const end = Date.now() + waitMs; Date.now() < end; await Bun.sleep(100)) {
      const w = (await api("GET", `/api/v1/pools/${pool}`).catch(() => null))?.stats.warm;
      if (!w || w.ready + w.starting === 0) break;
    }
  }
}
