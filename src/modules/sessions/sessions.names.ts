// Pool and worker names for the public session shape, and pool ids by name for the list's
// filter. A list of 50 sessions asks for the same one or two names 100 times; each SQLite
// statement costs ≈ 3–10 µs on the WAL file database (more than the rest of the row's
// mapping), so names are remembered until the database changes (dataGeneration, as the
// session reads in sessions.store.ts): a rename is never served stale. Take the Names once per
// request: asking for the generation costs ≈ 0.5 µs.
import type { Db } from "../../db/client";
import { dataGeneration } from "../../db/fast-rows";

export interface Names {
  /** The pool's name, or its id when the pool is gone. */
  pool(id: string): string;
  worker(id: string | null): string | null;
  /** The id of the pool of that name (a list's `?pool=` filter), or undefined. */
  poolId(name: string): string | undefined;
}

type Memo = Names & { generation: string };
const memos = new WeakMap<Db, Memo>();

function lookup(db: Db, sql: string, cache: Map<string, string | null>, key: string): string | null {
  let n = cache.get(key);
  if (n === undefined) {
    n = db.$client.query<{ v: string }, [string]>(sql).get(key)?.v ?? null;
    cache.set(key, n);
  }
  return n;
}

/** Names as of the database's current state. */
export function namesOf(db: Db): Names {
  const generation = dataGeneration(db.$client);
  let m = memos.get(db);
  if (!m || m.generation !== generation || db.$client.inTransaction) {
    const pools = new Map<string, string | null>();
    const workers = new Map<string, string | null>();
    const poolIds = new Map<string, string | null>();
    m = {
      generation,
      pool: (id) => lookup(db, "SELECT name AS v FROM pools WHERE id = ?", pools, id) ?? id,
      worker: (id) => (id ? lookup(db, "SELECT name AS v FROM workers WHERE id = ?", workers, id) : null),
      poolId: (name) => lookup(db, "SELECT id AS v FROM pools WHERE name = ?", poolIds, name) ?? undefined,
    };
    // A read inside a transaction may see writes that are rolled back: never remember it.
    if (!db.$client.inTransaction) memos.set(db, m);
  }
  return m;
}
