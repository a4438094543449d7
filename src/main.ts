#!/usr/bin/env bun
// The `browsergrid` executable: dispatches to a subcommand; `serve` is the default.
import { wantsHelp, type Command } from "./cli/command";
import { serveCommand } from "./cli/serve";
import { versionCommand } from "./cli/version";
import { doctorCommand } from "./cli/doctor";
import { adminCommand } from "./cli/admin";
import { keysCommand } from "./cli/keys";
import { poolsCommand } from "./cli/pools";
import { workersCommand } from "./cli/workers";
import { profilesCommand } from "./cli/profiles";
import { cleanupCommand } from "./cli/cleanup";

const commands: Command[] = [serveCommand, versionCommand, doctorCommand, adminCommand, keysCommand, poolsCommand, workersCommand, profilesCommand, cleanupCommand];

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `browsergrid — self-hosted browser grid

Usage: browsergrid [command] [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Run "browsergrid <command> --help" for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) return serveCommand.run([]);
  if (first === "--help" || first === "-h" || first === "help") {
    console.log(help());
    return 0;
  }
  if (first === "--version" || first === "-v") return versionCommand.run([]);
  const cmd = commands.find((c) => c.name === first);
  if (!cmd) {
    if (first.startsWith("-")) return serveCommand.run(argv);
    console.error(`browsergrid: unknown command "${first}"\n\n${help()}`);
    return 2;
  }
  if (wantsHelp(rest)) {
    console.log(cmd.usage);
    return 0;
  }
  return cmd.run(rest);
}

void main(process.argv.slice(2)).then((code) => process.exit(code));
