// The scheduler's two limits with workers shared by pools: a worker runs at most its capacity
// over every pool it serves, a pool holds at most its maxSessions over every worker; placement
// only picks workers serving the pool; a freed slot goes to the oldest waiter that can use it,
// whichever pool it waits in; the warm filler never takes a slot a waiting request could use.
import { describe, expect, test } from "bun:test";
import { Capacity, type PlacementWorker } from "./capacity";

function capacity(workers: PlacementWorker[], limits: Record<string, number>, placement: "spread" | "pack" = "spread") {
  return new Capacity(
    () => workers,
    (p) => limits[p] ?? 0,
    () => placement,
  );
}

const worker = (id: string, pools: PlacementWorker["pools"], cap: number, online = true): PlacementWorker => ({ id, pools, capacity: cap, online });

describe("capacity with workers serving several pools", () => {
  test("a shared worker's capacity counts every pool's slots", () => {
    const c = capacity([worker("w", "all", 3)], { a: 10, b: 10 });
    expect(c.tryReserve("a")).toBe("w");
    expect(c.tryReserve("a")).toBe("w");
    expect(c.tryReserve("b")).toBe("w");
    expect(c.tryReserve("b")).toBeNull(); // b is far below its own limit, the worker is full
    expect(c.tryReserve("a")).toBeNull();
    expect(c.loadOf("w")).toBe(3);
    expect([c.poolLoadOf("a"), c.poolLoadOf("b")]).toEqual([2, 1]);
  });

  test("a pool's maxSessions counts its slots on every worker, and stops it while shared workers have room", () => {
    const c = capacity([worker("w1", ["a", "b"], 10), worker("w2", "all", 10)], { a: 3, b: 10 });
    const got = [c.tryReserve("a"), c.tryReserve("a"), c.tryReserve("a")];
    expect(new Set(got)).toEqual(new Set(["w1", "w2"])); // spread over both
    expect(c.tryReserve("a")).toBeNull();
    expect(c.tryReserve("b")).not.toBeNull(); // the workers still have room for b
    c.release(got[0]!, "a");
    expect(c.tryReserve("a")).not.toBeNull();
  });

  test("placement picks only workers serving the pool; offline ones never", () => {
    const c = capacity([worker("only-a", ["a"], 5), worker("only-b", ["b"], 5), worker("off", "all", 5, false)], { a: 10, b: 10, c: 10 });
    for (let i = 0; i < 5; i++) expect(c.tryReserve("a")).toBe("only-a");
    expect(c.tryReserve("a")).toBeNull(); // only-b has room but does not serve a
    expect(c.tryReserve("c")).toBeNull(); // only the offline worker serves c
    expect(c.tryReserve("b")).toBe("only-b");
  });

  test("pack fills the busiest serving worker first, spread the least loaded", () => {
    const pack = capacity([worker("w1", "all", 3), worker("w2", "all", 3)], { a: 10 }, "pack");
    expect([pack.tryReserve("a"), pack.tryReserve("a"), pack.tryReserve("a"), pack.tryReserve("a")]).toEqual(["w1", "w1", "w1", "w2"]);
    const spread = capacity([worker("w1", "all", 3), worker("w2", "all", 3)], { a: 10 });
    expect([spread.tryReserve("a"), spread.tryReserve("a")].sort()).toEqual(["w1", "w2"]);
  });

  test("a slot freed on a shared worker goes to the oldest waiter of any pool it serves", async () => {
    const c = capacity([worker("w", "all", 1)], { a: 10, b: 10 });
    expect(c.tryReserve("a")).toBe("w");
    const order: string[] = [];
    const waitB = c.acquire("b", 5_000).then((w) => order.push(`b:${w}`));
    await Bun.sleep(2);
    const waitA = c.acquire("a", 5_000).then((w) => order.push(`a:${w}`));
    c.release("w", "a"); // freed by pool a, but b waited longer
    await waitB;
    expect(order).toEqual(["b:w"]);
    expect(c.queueDepth("a")).toBe(1);
    c.release("w", "b");
    await waitA;
    expect(order).toEqual(["b:w", "a:w"]);
  });

  test("a waiter of a pool at its own limit does not hold up another pool's request for a worker slot", async () => {
    const c = capacity([worker("w", "all", 5)], { a: 1, b: 10 });
    expect(c.tryReserve("a")).toBe("w");
    const waiting = c.acquire("a", 50).catch((e: Error) => e);
    expect(await c.acquire("b", 50)).toBe("w");
    expect(await waiting).toBeInstanceOf(Error); // 429 after the queue timeout: a is full
  });

  test("the warm filler (idleOnly) leaves alone a worker a waiting request of any pool could use", async () => {
    const c = capacity([worker("shared", "all", 2), worker("own-b", ["b"], 2)], { a: 1, b: 10, c: 10 });
    expect(c.tryReserve("a")).toBe("shared");
    const waiter = c.acquire("a", 50).catch(() => "gave up"); // a is at its limit: it waits
    expect(c.tryReserve("c", { idleOnly: true })).toBeNull(); // only "shared" serves c, and a's waiter could use it
    expect(c.tryReserve("b", { idleOnly: true })).toBe("own-b");
    expect(c.tryReserve("c")).toBe("shared"); // a request (not the filler) may take it
    await waiter;
  });

  test("reset rebuilds both counts from held slots", () => {
    const c = capacity([worker("w", "all", 3)], { a: 2, b: 10 });
    c.reset([
      { workerId: "w", poolId: "a" },
      { workerId: "w", poolId: "a" },
    ]);
    expect(c.tryReserve("a")).toBeNull(); // a's limit
    expect(c.tryReserve("b")).toBe("w");
    expect(c.tryReserve("b")).toBeNull(); // the worker's capacity
  });
});
