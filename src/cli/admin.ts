import type { Command } from "./command";
import { parseFlags } from "./command";
import { openForCli, readPassword } from "./cli-deps";
import { createUser, findUserByEmail, setPassword } from "../modules/users/users.service";
import { deleteUserSessions } from "../modules/auth/auth-sessions.service";
import { retireSetupToken } from "../modules/auth/setup-token";
import { audit } from "../modules/audit/audit.service";
import { DomainError } from "../lib/errors";
import type { Role } from "../db/schema";

export const adminCommand: Command = {
  name: "admin",
  summary: "Create an account or reset a password, on this machine's database",
  usage: `browsergrid admin create --email <email> [--role admin|member|viewer] [--password-stdin]
browsergrid admin reset-password --email <email> [--password-stdin]

Works on the database in BROWSERGRID_DATA_DIR directly (no server needed), so it also
recovers an install whose admins are locked out.

  create          creates a user (an admin unless --role says otherwise)
  reset-password  sets a new password and signs the user out everywhere

The password is prompted for twice (hidden), or read from stdin with --password-stdin:
  printf '%s' "$PASSWORD" | browsergrid admin create --email me@example.com --password-stdin
Passwords shorter than 12 characters or otherwise easy to guess are refused.`,
  async run(args) {
    const { flags, positional } = parseFlags(args);
    const action = positional[0];
    const email = typeof flags.email === "string" ? flags.email : undefined;
    if ((action !== "create" && action !== "reset-password") || !email) {
      console.error(`browsergrid admin: ${!email && action ? "--email is required" : "say create or reset-password"}\n\n${this.usage}`);
      return 2;
    }
    const role = (typeof flags.role === "string" ? flags.role : "admin") as Role;
    if (!["admin", "member", "viewer"].includes(role)) {
      console.error("browsergrid admin: --role must be admin, member or viewer");
      return 2;
    }
    const deps = openForCli();
    if (!deps) return 2;
    try {
      const existing = findUserByEmail(deps, email);
      if (action === "create" && existing) throw new Error(`a user ${existing.email} already exists (use reset-password)`);
      if (action === "reset-password" && !existing) throw new Error(`no user has the email ${email}`);
      const password = await readPassword({ fromStdin: flags["password-stdin"] === true, confirm: true, label: "Password (at least 12 characters)" });
      if (password === null) return 1;
      if (action === "create") {
        const u = await createUser(deps, { email, password, role });
        retireSetupToken(deps.config); // an account exists: the first-run token must open nothing
        audit(deps, { type: "cli" }, "user.created", u.id, { email: u.email, role: u.role, source: "cli" }, null);
        console.log(`created ${u.role} ${u.email} (${u.id})`);
      } else {
        await setPassword(deps, existing!.id, password);
        deleteUserSessions(deps, existing!.id);
        audit(deps, { type: "cli" }, "auth.password_reset", existing!.id, { source: "cli" }, null);
        console.log(`new password set for ${existing!.email}; their sessions were ended`);
      }
      return 0;
    } catch (e) {
      console.error(`browsergrid admin: ${e instanceof DomainError || e instanceof Error ? e.message : String(e)}`);
      return 1;
    } finally {
      deps.db.$client.close();
    }
  },
};
