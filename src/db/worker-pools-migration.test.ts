// Migration 0005 (a worker serves a set of pools) on a database with data in it: the local
// Docker engine serves every pool (the contract: unless an admin narrows it, which was not
// possible before) — except where that would silently narrow a pool's egress allow-list (a
// worker serving several pools opens only what all of them allow) —, every other worker keeps
// serving the pool it had, and nothing that pointed at a worker is lost by the rebuild of
// the workers table (sessions, warm browsers), which runs with foreign keys off and is checked
// before the commit.
import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { migrations } from "../../migrations";
import { applyMigrations } from "./migrate";

const BEFORE = migrations.findIndex((m) => m.tag === "0005_worker_pools");

function databaseBefore0005(): Database {
  const db = new Database(":memory:", { strict: true });
  db.exec("PRAGMA foreign_keys = ON");
  expect(BEFORE).toBeGreaterThan(0);
  applyMigrations(db, migrations.slice(0, BEFORE));
  db.exec(`INSERT INTO pools (id, name) VALUES ('pool_d', 'default'), ('pool_x', 'x');
    INSERT INTO workers (id, name, pool_id, endpoint, kind, capacity, status, labels) VALUES
      ('wrk_local', 'local', 'pool_d', 'unix:///var/run/docker.sock', 'docker', 7, 'online', '{"zone":"eu"}'),
      ('wrk_far', 'far', 'pool_x', 'ssh://bg@10.0.0.9:22', 'ssh', 3, 'offline', NULL);
    INSERT INTO sessions (id, pool_id, worker_id, owner_type, status, config, metadata, timeout_sec, idle_timeout_sec)
      VALUES ('ses_1', 'pool_d', 'wrk_local', 'user', 'running', '{}', '{}', 60, 60);
    INSERT INTO warm_browsers (id, pool_id, worker_id, status, config) VALUES ('wrm_1', 'pool_x', 'wrk_far', 'ready', '{}');`);
  return db;
}

test("the local engine serves every pool, every other worker exactly the pool it had; rows, sessions and warm browsers are kept", () => {
  const db = databaseBefore0005();
  expect(applyMigrations(db)).toContain("0005_worker_pools");
  expect(db.query("SELECT worker_id AS w, pool_id AS p FROM worker_pools ORDER BY worker_id").all()).toEqual([
    { w: "wrk_far", p: "pool_x" },
  ]);
  expect(db.query("SELECT id, name, all_pools AS allPools, endpoint, capacity, status, labels FROM workers ORDER BY id").all()).toEqual([
    { id: "wrk_far", name: "far", allPools: 0, endpoint: "ssh://bg@10.0.0.9:22", capacity: 3, status: "offline", labels: null },
    { id: "wrk_local", name: "local", allPools: 1, endpoint: "unix:///var/run/docker.sock", capacity: 7, status: "online", labels: '{"zone":"eu"}' },
  ]);
  expect(db.query("SELECT name FROM pragma_table_info('workers') WHERE name = 'pool_id'").all()).toEqual([]);
  expect(db.query("SELECT worker_id AS w FROM sessions").all()).toEqual([{ w: "wrk_local" }]);
  expect(db.query("SELECT id FROM warm_browsers").all()).toEqual([{ id: "wrm_1" }]); // not cascaded away by the rebuild
  expect(db.query("PRAGMA foreign_keys").get()).toEqual({ foreign_keys: 1 });
  expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
  // The rebuilt table still refuses a second row for one endpoint, and references still hold.
  expect(() => db.exec("INSERT INTO workers (id, name, endpoint, kind) VALUES ('wrk_2', 'again', 'unix:///var/run/docker.sock', 'docker')")).toThrow(/UNIQUE/);
  expect(() => db.exec("INSERT INTO worker_pools (worker_id, pool_id) VALUES ('wrk_local', 'pool_gone')")).toThrow(/FOREIGN KEY/);
  db.exec("DELETE FROM warm_browsers; DELETE FROM pools WHERE id = 'pool_x'");
  expect(db.query("SELECT count(*) AS n FROM worker_pools WHERE pool_id = 'pool_x'").get()).toEqual({ n: 0 });
});

test("a migration that leaves a dangling reference rolls back whole, and foreign keys are on again", () => {
  const db = databaseBefore0005();
  const bad = [...migrations, { tag: "9999_dangling", sql: "INSERT INTO worker_pools (worker_id, pool_id) VALUES ('wrk_nobody', 'pool_d')" }];
  expect(() => applyMigrations(db, bad)).toThrow(/dangling reference/);
  expect(db.query("SELECT tag FROM __migrations WHERE tag = '0005_worker_pools'").get()).toBeNull();
  expect(db.query("SELECT name FROM pragma_table_info('workers') WHERE name = 'pool_id'").all()).toEqual([{ name: "pool_id" }]);
  expect(db.query("PRAGMA foreign_keys").get()).toEqual({ foreign_keys: 1 });
});

test("the local engine keeps its one pool when serving all would narrow a pool's egress allow-list", () => {
  const db = databaseBefore0005();
  db.exec(`UPDATE pools SET egress_allow = '["10.1.0.0/16"]' WHERE id = 'pool_d'`);
  applyMigrations(db);
  expect(db.query("SELECT all_pools AS allPools FROM workers WHERE id = 'wrk_local'").get()).toEqual({ allPools: 0 });
  expect(db.query("SELECT pool_id AS p FROM worker_pools WHERE worker_id = 'wrk_local'").all()).toEqual([{ p: "pool_d" }]);
});
