// Pool and worker names for the public session shape. A list of 50 sessions asks for the same
// one or two names 100 times; each SQLite statement costs ≈ 3–10 µs on the WAL file database
// (more than the rest of the row's mapping), so names are memoised for the current synchronous
// run only: the memo is dropped at the next microtask, before any other request's code (or any
// write made by it) can run, so a rename is never served stale.
import type { Db } from "../../db/client";

type Memo = { pools: Map<string, string | null>; workers: Map<string, string | null> };
const memos = new WeakMap<Db, Memo>();

function memo(db: Db): Memo {
  let m = memos.get(db);
  if (!m) {
    m = { pools: new Map(), workers: new Map() };
    memos.set(db, m);
    queueMicrotask(() => memos.delete(db));
  }
  return m;
}

export function poolName(db: Db, id: string): string | null {
  const m = memo(db);
  let n = m.pools.get(id);
  if (n === undefined) {
    n = db.$client.query<{ name: string }, [string]>("SELECT name FROM pools WHERE id = ?").get(id)?.name ?? null;
    m.pools.set(id, n);
  }
  return n;
}

export function workerName(db: Db, id: string): string | null {
  const m = memo(db);
  let n = m.workers.get(id);
  if (n === undefined) {
    n = db.$client.query<{ name: string }, [string]>("SELECT name FROM workers WHERE id = ?").get(id)?.name ?? null;
    m.workers.set(id, n);
  }
  return n;
}
