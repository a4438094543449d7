// A CLI subcommand: its name, one-line summary, --help text and what it does. `main.ts`
// answers --help for every command from its usage text.
import { ConfigError, loadConfig, type Config } from "../config";
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

export function wantsHelp(args: string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}

/** Parses `--name value` and `--name=value` flags; positional arguments are kept in order. */
export function parseFlags(args: string[]): { flags: Record<string, string | true>; positional: string[] } {
  const flags: Record<string, string | true> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
      else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith("--")) flags[a.slice(2)] = args[++i]!;
      else flags[a.slice(2)] = true;
    } else positional.push(a);
  }
  return { flags, positional };
}

/** Loads the configuration, or prints the one-line error naming the variable and returns null. */
export function loadConfigOrReport(opts: { createDataDir?: boolean } = {}): Readonly<Config> | null {
  try {
    return loadConfig(process.env, opts);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`browsergrid: invalid configuration: ${e.message}`);
      return null;
    }
    throw e;
  }
}
