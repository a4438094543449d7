// The machine a benchmark ran on, recorded beside its numbers.
import { cpus, totalmem, release, platform, arch, loadavg } from "node:os";
import { readFileSync } from "node:fs";

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  kernel: string;
  arch: string;
  bun: string;
  [extra: string]: string | number;
}

function osName(): string {
  try {
    const m = /PRETTY_NAME="([^"]+)"/.exec(readFileSync("/etc/os-release", "utf8"));
    if (m) return m[1]!;
  } catch {}
  return platform();
}

export function machineInfo(extra: Record<string, string | number> = {}): MachineInfo {
  const c = cpus();
  return {
    cpuModel: c[0]?.model.trim() ?? "unknown",
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: osName(),
    kernel: release(),
    arch: arch(),
    bun: Bun.version,
    // 1/5/15-minute load average when the report is written: a busy machine moves every number.
    loadavg: loadavg().map((x) => x.toFixed(2)).join(" "),
    ...extra,
  };
}
