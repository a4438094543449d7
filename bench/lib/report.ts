// Writes a benchmark's results as bench/results/<name>-<date>.json and .md.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { MachineInfo } from "./machine";

export interface Report {
  name: string;
  startedAt: string;
  machine: MachineInfo;
  results: Record<string, unknown>;
  /** Markdown body (tables), written after a header with the machine. */
  markdown: string;
}

/** bench/results, or BENCH_RESULTS_DIR (the suite's smoke test writes to a temporary directory). */
export const RESULTS_DIR = process.env.BENCH_RESULTS_DIR ?? join(import.meta.dir, "..", "results");

export function writeReport(r: Report, dir = RESULTS_DIR): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/[:]/g, "-").replace(/\.\d+Z$/, "Z");
  const base = join(dir, `${r.name}-${stamp}`);
  writeFileSync(`${base}.json`, JSON.stringify({ name: r.name, startedAt: r.startedAt, machine: r.machine, results: r.results }, null, 2) + "\n");
  const m = r.machine;
  const head = [
    `# ${r.name} — ${r.startedAt}`,
    "",
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, kernel ${m.kernel}, Bun ${m.bun}` +
      Object.entries(m)
        .filter(([k]) => !["cpuModel", "cores", "memoryGiB", "os", "kernel", "arch", "bun"].includes(k))
        .map(([k, v]) => `, ${k} ${v}`)
        .join(""),
    "",
  ].join("\n");
  writeFileSync(`${base}.md`, head + "\n" + r.markdown.trim() + "\n");
  return { json: `${base}.json`, md: `${base}.md` };
}

export function mdTable(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}
