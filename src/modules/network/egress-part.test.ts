// The egress guard's first install as /readyz sees it (egressProbe), with the guard reading a
// real workers and pools table through guardFleet. Needs root and nft (skipped otherwise).
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomId } from "../../lib/ids";
import { EgressGuard, type GuardTarget } from "../../security/egress/guard";
import { egressProbe } from "./egress-part";
import { guardFleet } from "../workers/guard-fleet";
import { openMemoryDatabase } from "../../db/client";
import { ensureDefaultPool } from "../pools/pools.service";
import { workers } from "../../db/schema";
import { loadConfig } from "../../config";

const log = { debug() {}, info() {}, warn() {}, error() {}, child() { return log; } } as unknown as import("../../lib/logger").Logger;

const root = process.getuid?.() === 0 && Bun.which("nft") !== null;

/** A guard with its own nft table, and one online worker registered with it. */
function guardOfOnlineWorker(id: string, name: string, target: GuardTarget) {
  const db = openMemoryDatabase();
  ensureDefaultPool(db);
  db.insert(workers).values({ id, name, allPools: true, endpoint: `unix:///tmp/${id}.sock`, kind: "docker", status: "online" }).run();
  const table = `bgunit_${randomId(6).toLowerCase().replace(/[^a-z0-9]/g, "x")}`;
  const guard = new EgressGuard({ fleet: guardFleet(db), log, config: loadConfig({ BROWSERGRID_DATA_DIR: mkdtempSync(join(tmpdir(), "bg-egress-unit-")), BROWSERGRID_EGRESS_TABLE: table }) });
  guard.register({ id, name }, target);
  return { db, guard, table };
}

test.skipIf(!root)("at start the install counts from installAll on: a verification meanwhile waits for it (never a table left from before), and /readyz counts it as ready", async () => {
  const { db, guard, table } = guardOfOnlineWorker("w-first", "local", { kind: "local" });
  const probe = egressProbe(db, guard);
  try {
    // A table of that name from an earlier run: it must not pass for this run's guard.
    expect(Bun.spawnSync(["nft", "add", "table", "inet", table]).exitCode).toBe(0);
    const relay = Promise.withResolvers<void>();
    const all = guard.installAll(relay.promise);
    expect(guard.installingFirst("w-first")).toBe(true);
    expect(await probe()).toMatchObject({ ok: true, detail: "being installed on local" });
    let verified: unknown;
    const check = guard.verify("w-first").then((s) => (verified = s));
    await Bun.sleep(100);
    expect(verified).toBeUndefined(); // waits for the install, which waits for the relay
    relay.resolve();
    await all;
    await check;
    expect(verified).toMatchObject({ state: "ok", reason: null });
    expect(guard.installingFirst("w-first")).toBe(false);
    expect(await probe()).toMatchObject({ ok: true, detail: undefined });
    expect(Bun.spawnSync(["nft", "list", "table", "inet", table]).stdout.toString()).toContain("browsergrid: reject the rest");
  } finally {
    Bun.spawnSync(["nft", "delete", "table", "inet", table]);
  }
}, 30_000);

test.skipIf(!root)("a first install that fails makes /readyz not ready, with the reason", async () => {
  const { db, guard, table } = guardOfOnlineWorker("w-fail", "rootless", { kind: "local", reads: { info: async () => ({ SecurityOptions: ["name=rootless"] }) } });
  try {
    await guard.installAll();
    expect(guard.installingFirst("w-fail")).toBe(false);
    expect(await egressProbe(db, guard)()).toMatchObject({ ok: false, detail: expect.stringContaining("rootless Docker") });
    // The table was written (alongside asking the engine) but filters nothing there: a
    // verification must not pass it, before a browser starts or a session is accepted.
    await expect(guard.assertReady("w-fail")).rejects.toMatchObject({ code: "egress_guard_missing" });
    expect(guard.status("w-fail")).toMatchObject({ state: "missing", reason: expect.stringContaining("rootless Docker") });
  } finally {
    Bun.spawnSync(["nft", "delete", "table", "inet", table]);
  }
});
