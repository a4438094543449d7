import { readFileSync } from "node:fs";
import type { Command } from "./command";
import { parseFlags } from "./command";
import { runOnDatabase } from "./cli-deps";
import { audit } from "../modules/audit/audit.service";
import { ensureDefaultPool, findPoolByName } from "../modules/pools/pools.service";
import { drainWorker, findWorkerByEndpoint, getWorker, listWorkers, liveSessionCount, removeDrainedWorkers, requestWorkerRemoval, storeWorker, updateWorker, validateWorkerInput, type AddWorkerInput } from "../modules/workers/workers.service";
import { poolNamesOfWorker, resolvePoolNames } from "../modules/workers/worker-pools";
import { probeSshWorker } from "../providers/ssh-docker";
import { loadInstallKey } from "../security/install-key";

export const workersCommand: Command = {
  name: "workers",
  summary: "List, add, change, drain and remove workers (Docker sockets, SSH hosts, local Chromium)",
  usage: `browsergrid workers list [--pool <name>] [--json]
browsergrid workers add <endpoint> [--name <name>] [--pools all|<pool>,<pool>…] [--capacity N]
                        [--ssh-key <file>] [--host-key SHA256:…]
browsergrid workers update <id> [--pools all|<pool>,<pool>…] [--capacity N] [--name <name>]
browsergrid workers drain <id>
browsergrid workers remove <id>

Endpoints: unix:///var/run/docker.sock · ssh://user@host[:port] · local (Chromium processes)
Pools: a worker serves "all" pools (pools created later too) or a list of pool names; its
capacity is shared by them. Default: all for a unix:// Docker engine, "default" otherwise.
A worker serves at least one pool: to stop sending it sessions, drain it. "list --pool P"
shows the workers serving P. (--pool <name> still works as --pools <name>.)
An ssh:// worker is contacted first: its host key is pinned (printed; pass --host-key to insist
on a known one) and its Docker engine must answer. The private key is stored encrypted.
Adding a known endpoint prints the existing worker. "remove" drains first: the worker goes
once its last session has ended. Works on the database in BROWSERGRID_DATA_DIR directly; a
running server picks changes up within 5 seconds.`,
  async run(args) {
    const { flags, positional } = parseFlags(args);
    const [action, arg] = positional;
    return runOnDatabase("workers", this.usage, ["list", "add", "update", "drain", "remove"], action, async (deps) => {
      if (action === "list") {
        const pool = typeof flags.pool === "string" ? findPoolByName(deps.db, flags.pool) : undefined;
        if (typeof flags.pool === "string" && !pool) throw new Error(`unknown pool ${flags.pool}`);
        const rows = listWorkers(deps.db, pool?.id).map(({ sshKeyEncrypted: _, allPools: __, ...w }) => ({ ...w, pools: poolNamesOfWorker(deps.db, { id: w.id, allPools: __ }) }));
        const served = (p: "all" | string[]) => (p === "all" ? "all pools" : p.join(","));
        if (flags.json) console.log(JSON.stringify(rows, null, 2));
        else if (rows.length === 0) console.log("no workers");
        else
          for (const w of rows)
            console.log(`${w.id}  ${w.name.padEnd(14)} ${w.status.padEnd(9)} cap ${String(w.capacity).padEnd(4)} ${w.endpoint}  pools: ${served(w.pools)}${w.removeRequestedAt ? "  (removing)" : ""}${w.lastError ? `  — ${w.lastError}` : ""}`);
        return 0;
      }
      if (!arg) throw new Error(`${action} needs ${action === "add" ? "an endpoint" : "a worker id"}`);
      const pools = poolsFlag(flags);
      const capacity = capacityFlag(flags);
      if (action === "add") {
        const input: AddWorkerInput = {
          endpoint: arg,
          pools: "all",
          name: typeof flags.name === "string" ? flags.name : undefined,
          capacity,
          sshPrivateKey: typeof flags["ssh-key"] === "string" ? readFileSync(flags["ssh-key"], "utf8") : undefined,
          hostKeyFingerprint: typeof flags["host-key"] === "string" ? flags["host-key"] : undefined,
        };
        const checked = validateWorkerInput(input);
        ensureDefaultPool(deps.db); // the server creates it at start; the CLI may run before it ever did
        input.pools = resolvePoolNames(deps.db, pools ?? (checked.endpoint.kind === "docker" ? "all" : ["default"]));
        const existing = findWorkerByEndpoint(deps.db, checked.endpoint.canonical);
        if (existing) {
          console.log(`exists: ${existing.id} ${existing.name} ${existing.endpoint}`);
          return 0;
        }
        const fingerprint = checked.endpoint.kind === "ssh" ? (await probeSshWorker({ endpoint: checked.endpoint.canonical, privateKey: input.sshPrivateKey!, hostKeyFingerprint: input.hostKeyFingerprint })).fingerprint : undefined;
        const { worker } = storeWorker(deps.db, loadInstallKey(deps.config.dataDir), input, { ...checked, fingerprint });
        audit(deps, { type: "cli" }, "worker.added", worker.id, { name: worker.name, endpoint: worker.endpoint, hostKeyFingerprint: fingerprint ?? null }, null);
        console.log(`added ${worker.id} ${worker.name} ${worker.endpoint}${fingerprint ? `\nhost key pinned: ${fingerprint}` : ""}`);
      } else if (action === "update") {
        if (pools === undefined && capacity === undefined && typeof flags.name !== "string") throw new Error("update needs --pools, --capacity or --name");
        const w = updateWorker(deps.db, arg, { ...(pools !== undefined ? { pools: resolvePoolNames(deps.db, pools) } : {}), capacity, ...(typeof flags.name === "string" ? { name: flags.name } : {}) });
        audit(deps, { type: "cli" }, "worker.updated", w.id, { fields: [pools !== undefined && "pools", capacity !== undefined && "capacity", typeof flags.name === "string" && "name"].filter(Boolean), ...(pools !== undefined ? { pools } : {}) }, null);
        const served = poolNamesOfWorker(deps.db, w);
        console.log(`updated ${w.id} ${w.name}: capacity ${w.capacity}, pools ${served === "all" ? "all" : served.join(",")}`);
      } else if (action === "drain") {
        const w = drainWorker(deps.db, arg);
        audit(deps, { type: "cli" }, "worker.drained", w.id, { name: w.name }, null);
        console.log(`draining ${w.id} ${w.name}: no new sessions; running ones finish`);
      } else {
        const w = requestWorkerRemoval(deps.db, arg);
        audit(deps, { type: "cli" }, "worker.removal_requested", w.id, { name: w.name, endpoint: w.endpoint }, null);
        const removed = removeDrainedWorkers(deps.db).some((r) => r.id === w.id);
        console.log(removed ? `removed ${w.id} ${w.name}` : `draining ${w.id} ${w.name}: removed once its ${liveSessionCount(deps.db, w.id)} live session(s) end`);
        if (!removed) getWorker(deps.db, w.id);
      }
      return 0;
    });
  },
};

/** `--pools all|a,b` (or the older `--pool a`): pool names, undefined when not given. */
function poolsFlag(flags: Record<string, string | true>): "all" | string[] | undefined {
  if (flags.pools !== undefined && flags.pool !== undefined) throw new Error("give --pools or --pool, not both");
  const v = flags.pools ?? flags.pool;
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.trim() === "") throw new Error('--pools needs "all" or pool names separated by commas');
  if (v.trim() === "all") return "all";
  return v.split(",").map((x) => x.trim()).filter(Boolean);
}

function capacityFlag(flags: Record<string, string | true>): number | undefined {
  if (flags.capacity === undefined) return undefined;
  if (typeof flags.capacity !== "string" || !/^\d{1,3}$/.test(flags.capacity)) throw new Error("--capacity needs a whole number from 1 to 500");
  return Number(flags.capacity);
}
