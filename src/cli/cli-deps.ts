// What CLI commands that work on the database directly share: the config, the opened
// database and a deps object for the services (no HTTP server, no browsers).
import { loadConfigOrReport } from "./command";
import { loadInstallKey } from "../security/install-key";
import { databasePath, openDatabase } from "../db/client";
import { log } from "../lib/logger";
import type { AppDeps } from "../http/context";
import { VERSION } from "../version";
import { createAuthState } from "../modules/auth/auth.state";
import { createStorage } from "../modules/profiles/session-storage";

/** Opens the install's database; prints a clear error and returns null when config is bad. */
export function openForCli(): AppDeps | null {
  const config = loadConfigOrReport();
  if (!config) return null;
  const db = openDatabase(databasePath(config.dataDir));
  // The CLI never starts sessions: no command reaches the session service, the scheduler, the
  // rule engines, the live views or the CDP links from here. It builds the two services its
  // commands use (users, profiles).
  const auth = createAuthState(config, Date.now);
  const storage = createStorage(config, db, log);
  return { config, db, log, readinessProbes: [], startedAt: Date.now(), version: VERSION, sessions: undefined as never, scheduler: undefined as never, installKey: loadInstallKey(config.dataDir), auth, storage, rules: undefined as never, live: undefined as never, links: undefined as never, deployments: undefined as never };
}

/** Reads a password: all of stdin with --password-stdin, else a hidden prompt (twice when new). */
export async function readPassword(opts: { fromStdin: boolean; confirm: boolean; label: string }): Promise<string | null> {
  if (opts.fromStdin) return (await Bun.stdin.text()).replace(/\r?\n$/, "");
  if (!process.stdin.isTTY) {
    console.error("browsergrid: no terminal to prompt on; pipe the password with --password-stdin");
    return null;
  }
  const first = await readHidden(`${opts.label}: `);
  if (!opts.confirm) return first;
  if ((await readHidden("Repeat it: ")) !== first) {
    console.error("browsergrid: the two passwords differ");
    return null;
  }
  return first;
}

function readHidden(prompt: string): Promise<string> {
  process.stdout.write(prompt);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  let value = "";
  return new Promise((resolve, reject) => {
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          done();
          process.stdout.write("\n");
          return resolve(value);
        }
        if (ch === "\u0003") {
          done();
          return reject(new Error("cancelled"));
        }
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    const done = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
    };
    stdin.on("data", onData);
  });
}

/**
 * A database subcommand's frame: checks the action word, opens the install's database, turns
 * an error into one line naming the command (exit 1), and always closes the database.
 */
export async function runOnDatabase(
  command: string,
  usage: string,
  actions: string[],
  action: string | undefined,
  body: (deps: AppDeps) => Promise<number | void> | number | void,
): Promise<number> {
  if (!action || !actions.includes(action)) {
    const words = actions.length > 1 ? `${actions.slice(0, -1).join(", ")} or ${actions[actions.length - 1]}` : actions[0];
    console.error(`browsergrid ${command}: say ${words}\n\n${usage}`);
    return 2;
  }
  const deps = openForCli();
  if (!deps) return 2;
  try {
    return (await body(deps)) ?? 0;
  } catch (e) {
    console.error(`browsergrid ${command}: ${(e as Error).message}`);
    return 1;
  } finally {
    deps.db.$client.close();
  }
}
