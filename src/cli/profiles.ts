import type { Command } from "./command";
import { parseFlags } from "./command";
import { runOnDatabase } from "./cli-deps";
import { audit } from "../modules/audit/audit.service";
import { storageOf } from "../modules/profiles/session-storage";

export const profilesCommand: Command = {
  name: "profiles",
  summary: "List, export, import and delete browser profiles on this machine's data dir",
  usage: `browsergrid profiles list [--json]
browsergrid profiles export <name or id> [--out <file>] [--version <n>]
browsergrid profiles import <file> --name <name> [--description <text>]
browsergrid profiles delete <name or id>

Works on BROWSERGRID_DATA_DIR directly (database and storage/). "export" writes the current
version (or --version n) as a tar.gz — it holds the profile's cookies, keep it like a password;
without --out it goes to <name>-v<n>.tar.gz in the current directory, "-" writes to stdout.
"import" takes a tar or tar.gz of a user-data-dir's contents (as exported); archives with
entries outside the directory, links, devices or files over the size limit are refused and
leave nothing behind. "delete" refuses a profile that a persisting session holds.`,
  async run(args) {
    const { flags, positional } = parseFlags(args);
    const action = positional[0];
    return runOnDatabase("profiles", this.usage, ["list", "export", "import", "delete"], action, async (deps) => {
      const { profiles } = storageOf(deps);
      if (action === "list") {
        const rows = profiles.list().map((p) => profiles.toPublic(p));
        if (flags.json) console.log(JSON.stringify(rows, null, 2));
        else if (rows.length === 0) console.log("no profiles");
        else
          for (const p of rows)
            console.log(
              `${p.id}  ${p.name}  v${p.currentVersion ?? "-"} (${p.versions} kept)  ${p.size} bytes  last used ${p.lastUsedAt ?? "never"}${p.lockedBy ? `  held by ${p.lockedBy}` : ""}${p.description ? `  "${p.description}"` : ""}`,
            );
      } else if (action === "export") {
        const p = profiles.find(positional[1] ?? "");
        if (!p) throw new Error(`no profile "${positional[1] ?? ""}" (see profiles list)`);
        const version = typeof flags.version === "string" ? Number(flags.version) : undefined;
        if (version !== undefined && !(Number.isInteger(version) && version > 0)) throw new Error("--version must be a version number");
        const { stream, version: n, size } = profiles.exportArchive(p, version);
        const out = typeof flags.out === "string" ? flags.out : `${p.name}-v${n}.tar.gz`;
        if (out === "-") for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) process.stdout.write(chunk);
        else await Bun.write(out, new Response(stream));
        audit(deps, { type: "cli" }, "profile.exported", p.id, { name: p.name, version: n }, null);
        console.error(`exported ${p.name} version ${n} (${size} bytes)${out === "-" ? "" : ` to ${out}`}`);
      } else if (action === "import") {
        const file = positional[1];
        const name = typeof flags.name === "string" ? flags.name : "";
        if (!file || !name) throw new Error("import needs <file> and --name <name>");
        const f = Bun.file(file);
        if (!(await f.exists())) throw new Error(`${file} does not exist`);
        if (f.size > profiles.limits.maxTotalBytes) throw new Error(`${file} is larger than ${profiles.limits.maxTotalBytes} bytes`);
        const p = await profiles.importArchive({ type: "cli", id: null }, { name, description: typeof flags.description === "string" ? flags.description : undefined }, f.stream());
        audit(deps, { type: "cli" }, "profile.imported", p.id, { name: p.name }, null);
        console.log(`imported ${p.name} (${p.id}) as version ${p.currentVersion}`);
      } else {
        const p = profiles.find(positional[1] ?? "");
        if (!p) throw new Error(`no profile "${positional[1] ?? ""}" (see profiles list)`);
        await profiles.delete(p);
        audit(deps, { type: "cli" }, "profile.deleted", p.id, { name: p.name }, null);
        console.log(`deleted ${p.name} (${p.id})`);
      }
      return 0;
    });
  },
};
