// The pid file of the server of a data dir: how `browsergrid cleanup` tells that the install it
// would clean is running (removing a live server's browsers and network under it would break
// every session it serves). A file, not a lock: a server killed with SIGKILL cannot remove it,
// so a reader trusts it only while that pid is alive AND is the same process (its start time
// in /proc matches), never a later process that reused the pid.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const PID_FILE = "browsergrid.pid";

interface PidRecord {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot); null where /proc is absent. */
  startTicks: string | null;
}

function startTicksOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may contain spaces: count after it.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}

/** Written by `serve` before anything starts; removed when it stops. */
export function writeServerPid(dataDir: string): () => void {
  const path = join(dataDir, PID_FILE);
  const record: PidRecord = { pid: process.pid, startTicks: startTicksOf(process.pid) };
  writeFileSync(path, JSON.stringify(record) + "\n", { mode: 0o600 });
  return () => {
    if (runningServerPid(dataDir) === process.pid) rmSync(path, { force: true });
  };
}

/** The pid of the live server of this data dir, or null (no file, unreadable, or a dead or reused pid). */
export function runningServerPid(dataDir: string): number | null {
  const path = join(dataDir, PID_FILE);
  if (!existsSync(path)) return null;
  let record: PidRecord;
  try {
    record = JSON.parse(readFileSync(path, "utf8")) as PidRecord;
  } catch {
    return null;
  }
  if (!Number.isInteger(record.pid) || record.pid <= 0 || !isAlive(record.pid)) return null;
  const ticks = startTicksOf(record.pid);
  if (record.startTicks && ticks && ticks !== record.startTicks) return null;
  return record.pid;
}
