// `browsergrid cleanup`: removes everything an install started outside its data dir — browser
// containers (sessions, warm browsers, keep-alive ones, egress helpers), runner containers
// (deployments' scripts), its browser network and
// its egress table — for when no next start will adopt or reconcile them (a server killed with
// SIGKILL, a temporary data dir, an uninstall). It finds them as reconciliation does: by the
// data dir's install id in the `browsergrid.install` label, through each worker's provider.
// Refuses while the server of the data dir runs (server-pid.ts): it would pull the browsers out
// from under live sessions. Safe to run twice: what is already gone is not an error.
import { existsSync } from "node:fs";
import type { Command } from "./command";
import { loadConfigOrReport } from "./command";
import { runningServerPid } from "./server-pid";
import { databasePath, openDatabase, type Db } from "../db/client";
import type { Config } from "../config";
import { log, setLogLevel } from "../lib/logger";
import { getSetting } from "../modules/settings/settings.service";
import { listWorkers } from "../modules/workers/workers.service";
import { buildProvider } from "../modules/workers/worker-providers";
import { EgressGuard } from "../security/egress/guard";
import { guardFleet } from "../modules/workers/guard-fleet";
import { loadInstallKey } from "../security/install-key";
import { removeInstallLeftovers } from "../providers/docker-leftovers";
import type { BrowserProvider } from "../providers/provider";

export interface CleanupReport {
  containers: string[];
  networks: string[];
  tables: string[];
  problems: string[];
}

export async function cleanupInstall(config: Readonly<Config>, db: Db, installId: string): Promise<CleanupReport> {
  const report: CleanupReport = { containers: [], networks: [], tables: [], problems: [] };
  const egress = new EgressGuard({ fleet: guardFleet(db), log, config });
  const ctx = { config, db, log, installId, installKey: loadInstallKey(config.dataDir), egress };
  const providers: BrowserProvider[] = [];
  for (const worker of listWorkers(db)) {
    let provider: BrowserProvider;
    try {
      provider = buildProvider(worker, ctx);
    } catch (err) {
      report.problems.push(`worker ${worker.name}: ${(err as Error).message}`);
      continue;
    }
    providers.push(provider);
    try {
      for (const c of await provider.listOwned()) {
        await provider.stop(c.handle);
        report.containers.push(`${c.handle.slice(0, 12)} (${c.sessionId}, worker ${worker.name})`);
      }
      for (const r of (await provider.listOwnedRunners?.()) ?? []) {
        await provider.stopRunner!(r.handle);
        report.containers.push(`${r.handle.slice(0, 12)} (runner of run ${r.runId}, worker ${worker.name})`);
      }
    } catch (err) {
      report.problems.push(`worker ${worker.name}: ${(err as Error).message}`);
    }
  }

  // The local engine also holds what no worker row names any more: containers of removed
  // workers and egress helper containers. The label is the install's, so nothing else matches.
  const leftovers = await removeInstallLeftovers({ socketPath: config.dockerSocket, installId, engineTimeoutMs: config.engineTimeoutMs });
  report.containers.push(...leftovers.containers);
  report.networks = leftovers.networks;
  report.problems.push(...leftovers.problems);

  const tables = await egress.removeTables();
  report.tables = tables.removed.map((where) => `inet ${config.egressTable} on ${where}`);
  for (const f of tables.failed) report.problems.push(`egress table inet ${config.egressTable} on ${f.where}: ${f.error}`);
  await Promise.all(providers.map((p) => p.close().catch(() => {})));
  return report;
}

export const cleanupCommand: Command = {
  name: "cleanup",
  summary: "Remove every browser, network and egress table an install started (server stopped)",
  usage: `browsergrid cleanup

Removes what the install of BROWSERGRID_DATA_DIR started outside its data dir: every browser
container (sessions, keep-alive sessions, warm browsers, egress helpers) and every runner
container (deployments' scripts, with their output) on every worker, its
Docker browser network and its nftables egress table (BROWSERGRID_EGRESS_TABLE). Containers are
found by the install id in their "browsergrid.install" label, so other installs' are untouched.
The data dir itself (database, profiles, artifacts) is kept; the next start ends the sessions
whose browsers are gone as "crashed".

Use it after the server was killed (SIGKILL, a crash), before deleting a data dir, or when the
install will not start again. Reads the same BROWSERGRID_* environment as "serve".

Refuses (exit 1) while the server of that data dir is running (it writes browsergrid.pid in
the data dir; a file left by a killed server is recognised as stale). Safe to run twice.
Exit 0 when everything found was removed, 1 when something could not be.`,
  async run() {
    const config = loadConfigOrReport({ createDataDir: false });
    if (!config) return 2;
    const dbPath = databasePath(config.dataDir);
    if (!existsSync(dbPath)) {
      console.log(`nothing to clean: no BrowserGrid database in ${config.dataDir}`);
      return 0;
    }
    const pid = runningServerPid(config.dataDir);
    if (pid !== null) {
      console.error(`browsergrid cleanup: the server of ${config.dataDir} is running (pid ${pid}); stop it first (systemctl stop browsergrid, or kill -TERM ${pid})`);
      return 1;
    }
    setLogLevel("error");
    const db = openDatabase(dbPath);
    try {
      const installId = getSetting<string>(db, "install_id");
      if (!installId) {
        console.log(`nothing to clean: ${config.dataDir} has no install id (it never started)`);
        return 0;
      }
      const report = await cleanupInstall(config, db, installId);
      const removed = report.containers.length + report.networks.length + report.tables.length;
      if (!removed && !report.problems.length) console.log(`nothing left to remove for install ${installId}`);
      for (const c of report.containers) console.log(`removed container ${c}`);
      for (const n of report.networks) console.log(`removed network ${n}`);
      for (const t of report.tables) console.log(`removed egress table ${t}`);
      for (const p of report.problems) console.error(`✗ ${p}`);
      return report.problems.length ? 1 : 0;
    } finally {
      db.$client.close();
    }
  },
};
