import type { Command } from "./command";
import { parseFlags } from "./command";
import { runOnDatabase } from "./cli-deps";
import { audit } from "../modules/audit/audit.service";
import { createPool, deletePool, listPools, updatePool, type Pool, type PoolInput } from "../modules/pools/pools.service";
import { listWorkers } from "../modules/workers/workers.service";
import { warmCounts } from "../scheduler/warm.store";

const NUMERIC = ["maxSessions", "minWarm", "maxDurationSec", "idleTimeoutSec", "queueTimeoutSec", "warmMaxAgeSec", "storageMb"] as const;

function inputFrom(flags: Record<string, string | true>): PoolInput {
  const input: PoolInput = {};
  for (const k of NUMERIC) {
    const v = flags[k] ?? flags[k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)];
    if (v === undefined) continue;
    if (typeof v !== "string" || !/^\d{1,9}$/.test(v)) throw new Error(`--${k} needs a whole number`);
    input[k] = Number(v);
  }
  if (flags.cpus !== undefined) {
    if (typeof flags.cpus !== "string" || !/^\d{1,2}(\.\d{1,3})?$/.test(flags.cpus)) throw new Error("--cpus needs a number of CPUs like 1 or 1.5");
    input.cpus = Number(flags.cpus);
  }
  if (typeof flags.flavour === "string") {
    if (flags.flavour !== "headless-shell" && flags.flavour !== "chromium") throw new Error("--flavour is headless-shell or chromium");
    input.flavour = flags.flavour;
  }
  if (typeof flags.viewport === "string") {
    const m = /^(\d{3,4})x(\d{3,4})$/.exec(flags.viewport);
    if (!m) throw new Error("--viewport looks like 1280x720");
    input.viewport = { width: Number(m[1]), height: Number(m[2]) };
  }
  if (typeof flags.placement === "string") {
    if (flags.placement !== "spread" && flags.placement !== "pack") throw new Error("--placement is spread or pack");
    input.placement = flags.placement;
  }
  if (typeof flags.state === "string") {
    if (!["active", "paused", "draining"].includes(flags.state)) throw new Error("--state is active, paused or draining");
    input.state = flags.state as Pool["state"];
  }
  return input;
}

export const poolsCommand: Command = {
  name: "pools",
  summary: "List, create, change and delete work pools",
  usage: `browsergrid pools list [--json]
browsergrid pools create <name> [options]
browsergrid pools update <name> [options]
browsergrid pools delete <name>

Options: --maxSessions N  --minWarm N  --maxDurationSec N  --idleTimeoutSec N  --queueTimeoutSec N
         --warmMaxAgeSec N  --flavour headless-shell|chromium  --viewport 1280x720
         --placement spread|pack  --state active|paused|draining
         --cpus N (CPUs per browser, default 1)  --storageMb N (downloads/uploads cap per browser, MiB, default 256)

Works on the database in BROWSERGRID_DATA_DIR directly; a running server applies changes to
new sessions at once and tops up warm browsers within 15 seconds.`,
  async run(args) {
    const { flags, positional } = parseFlags(args);
    const [action, name] = positional;
    return runOnDatabase("pools", this.usage, ["list", "create", "update", "delete"], action, async (deps) => {
      if (action === "list") {
        const rows = listPools(deps.db).map((p) => ({ ...p, workers: listWorkers(deps.db, p.id).length, warm: warmCounts(deps.db, p.id) }));
        if (flags.json) console.log(JSON.stringify(rows, null, 2));
        else
          for (const p of rows)
            console.log(`${p.name.padEnd(16)} ${p.state.padEnd(8)} ${p.flavour.padEnd(14)} ${p.viewportWidth}x${p.viewportHeight}  max ${p.maxSessions}  warm ${p.warm.ready}/${p.minWarm}  queue ${p.queueTimeoutSec}s  ${p.placement}  workers ${p.workers}`);
        return 0;
      }
      if (!name) throw new Error(`${action} needs the pool name`);
      if (action === "create") {
        const p = createPool(deps.db, name, inputFrom(flags));
        audit(deps, { type: "cli" }, "pool.created", p.id, { name }, null);
        console.log(`created pool ${p.name} (${p.id})`);
      } else if (action === "update") {
        const p = updatePool(deps.db, name, inputFrom(flags));
        audit(deps, { type: "cli" }, "pool.updated", p.id, { name, fields: Object.keys(flags) }, null);
        console.log(`updated pool ${p.name}`);
      } else {
        const p = deletePool(deps.db, name);
        audit(deps, { type: "cli" }, "pool.deleted", p.id, { name }, null);
        console.log(`deleted pool ${p.name}`);
      }
      return 0;
    });
  },
};
