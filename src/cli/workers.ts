import { readFileSync } from "node:fs";
import type { Command } from "./command";
import { parseFlags } from "./command";
import { runOnDatabase } from "./cli-deps";
import { audit } from "../modules/audit/audit.service";
import { ensureDefaultPool, findPoolByName } from "../modules/pools/pools.service";
import { drainWorker, findWorkerByEndpoint, getWorker, listWorkers, liveSessionCount, removeDrainedWorkers, requestWorkerRemoval, storeWorker, validateWorkerInput, type AddWorkerInput } from "../modules/workers/workers.service";
import { probeSshWorker } from "../providers/ssh-docker";
import { loadInstallKey } from "../security/install-key";

export const workersCommand: Command = {
  name: "workers",
  summary: "List, add, drain and remove workers (Docker sockets, SSH hosts, local Chromium)",
  usage: `browsergrid workers list [--pool <name>] [--json]
browsergrid workers add <endpoint> [--name <name>] [--pool <name>] [--capacity N]
                        [--ssh-key <file>] [--host-key SHA256:…]
browsergrid workers drain <id>
browsergrid workers remove <id>

Endpoints: unix:///var/run/docker.sock · ssh://user@host[:port] · local (Chromium processes)
An ssh:// worker is contacted first: its host key is pinned (printed; pass --host-key to insist
on a known one) and its Docker engine must answer. The private key is stored encrypted.
Adding a known endpoint prints the existing worker. "remove" drains first: the worker goes
once its last session has ended. Works on the database in BROWSERGRID_DATA_DIR directly; a
running server picks changes up within 5 seconds.`,
  async run(args) {
    const { flags, positional } = parseFlags(args);
    const [action, arg] = positional;
    return runOnDatabase("workers", this.usage, ["list", "add", "drain", "remove"], action, async (deps) => {
      if (action === "list") {
        const pool = typeof flags.pool === "string" ? findPoolByName(deps.db, flags.pool) : undefined;
        if (typeof flags.pool === "string" && !pool) throw new Error(`unknown pool ${flags.pool}`);
        const rows = listWorkers(deps.db, pool?.id).map(({ sshKeyEncrypted: _, ...w }) => w);
        if (flags.json) console.log(JSON.stringify(rows, null, 2));
        else if (rows.length === 0) console.log("no workers");
        else for (const w of rows) console.log(`${w.id}  ${w.name.padEnd(14)} ${w.status.padEnd(9)} cap ${String(w.capacity).padEnd(4)} ${w.endpoint}${w.removeRequestedAt ? "  (removing)" : ""}${w.lastError ? `  — ${w.lastError}` : ""}`);
        return 0;
      }
      if (!arg) throw new Error(`${action} needs ${action === "add" ? "an endpoint" : "a worker id"}`);
      if (action === "add") {
        const pool = typeof flags.pool === "string" ? findPoolByName(deps.db, flags.pool) : ensureDefaultPool(deps.db);
        if (!pool) throw new Error(`unknown pool ${flags.pool}`);
        const capacity = typeof flags.capacity === "string" ? Number(flags.capacity) : undefined;
        const input: AddWorkerInput = {
          endpoint: arg,
          poolId: pool.id,
          name: typeof flags.name === "string" ? flags.name : undefined,
          capacity,
          sshPrivateKey: typeof flags["ssh-key"] === "string" ? readFileSync(flags["ssh-key"], "utf8") : undefined,
          hostKeyFingerprint: typeof flags["host-key"] === "string" ? flags["host-key"] : undefined,
        };
        const checked = validateWorkerInput(input);
        const existing = findWorkerByEndpoint(deps.db, checked.endpoint.canonical);
        if (existing) {
          console.log(`exists: ${existing.id} ${existing.name} ${existing.endpoint}`);
          return 0;
        }
        const fingerprint = checked.endpoint.kind === "ssh" ? (await probeSshWorker({ endpoint: checked.endpoint.canonical, privateKey: input.sshPrivateKey!, hostKeyFingerprint: input.hostKeyFingerprint })).fingerprint : undefined;
        const { worker } = storeWorker(deps.db, loadInstallKey(deps.config.dataDir), input, { ...checked, fingerprint });
        audit(deps, { type: "cli" }, "worker.added", worker.id, { name: worker.name, endpoint: worker.endpoint, hostKeyFingerprint: fingerprint ?? null }, null);
        console.log(`added ${worker.id} ${worker.name} ${worker.endpoint}${fingerprint ? `\nhost key pinned: ${fingerprint}` : ""}`);
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
