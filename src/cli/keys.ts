import type { Command } from "./command";
import { parseFlags } from "./command";
import { runOnDatabase } from "./cli-deps";
import { findUserByEmail, listUsers } from "../modules/users/users.service";
import { createApiKey, listApiKeys, revokeApiKey } from "../modules/api-keys/api-keys.service";
import { audit } from "../modules/audit/audit.service";
import type { Role } from "../db/schema";

export const keysCommand: Command = {
  name: "keys",
  summary: "Create, list and revoke API keys on this machine's database",
  usage: `browsergrid keys create --email <owner> --name <name> [--role admin|member|viewer] [--expires <ISO date>]
browsergrid keys list [--email <owner>] [--json]
browsergrid keys revoke <key id>

Works on the database in BROWSERGRID_DATA_DIR directly. A key acts with its owner's role or
the lower --role given here. "create" prints the full key once: store it now, it cannot be
shown again (only its hash is kept). A running server notices a revocation within 5 seconds.`,
  async run(args) {
    const { flags, positional } = parseFlags(args);
    const action = positional[0];
    return runOnDatabase("keys", this.usage, ["create", "list", "revoke"], action, async (deps) => {
      const owner = typeof flags.email === "string" ? findUserByEmail(deps, flags.email) : undefined;
      if (typeof flags.email === "string" && !owner) throw new Error(`no user has the email ${flags.email}`);
      if (action === "create") {
        const name = typeof flags.name === "string" ? flags.name : "";
        if (!owner || !name || name.length > 100) throw new Error("create needs --email <owner> and --name <1-100 characters>");
        const expiresAt = typeof flags.expires === "string" ? Date.parse(flags.expires) : null;
        if (Number.isNaN(expiresAt)) throw new Error("--expires must be an ISO date such as 2030-01-31");
        const { row, key } = createApiKey(deps, { userId: owner.id, role: owner.role }, { name, role: typeof flags.role === "string" ? (flags.role as Role) : undefined, expiresAt });
        audit(deps, { type: "cli" }, "api_key.created", row.id, { name: row.name, role: row.role, owner: owner.email }, null);
        console.error(`created key ${row.id} (${row.role}) for ${owner.email}; it is shown only now:`);
        console.log(key);
      } else if (action === "list") {
        const emails = new Map(listUsers(deps).map((u) => [u.id, u.email]));
        const keys = listApiKeys(deps, owner?.id).map((k) => ({
          id: k.id,
          name: k.name,
          prefix: k.prefix,
          role: k.role,
          owner: emails.get(k.userId) ?? k.userId,
          createdAt: new Date(k.createdAt).toISOString(),
          lastUsedAt: k.lastUsedAt ? new Date(k.lastUsedAt).toISOString() : null,
          expiresAt: k.expiresAt ? new Date(k.expiresAt).toISOString() : null,
        }));
        if (flags.json) console.log(JSON.stringify(keys, null, 2));
        else if (keys.length === 0) console.log("no API keys");
        else for (const k of keys) console.log(`${k.id}  ${k.role.padEnd(6)}  ${k.owner}  "${k.name}"  created ${k.createdAt}  last used ${k.lastUsedAt ?? "never"}${k.expiresAt ? `  expires ${k.expiresAt}` : ""}`);
      } else {
        const id = positional[1];
        if (!id || !/^[A-Za-z0-9]{1,32}$/.test(id)) throw new Error("revoke needs the key id (see keys list)");
        const k = revokeApiKey(deps, id);
        audit(deps, { type: "cli" }, "api_key.revoked", k.id, { name: k.name }, null);
        console.log(`revoked ${k.id} "${k.name}"`);
      }
      return 0;
    });
  },
};
