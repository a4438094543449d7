// The small bar chart of a schedule's last runs: inline SVG drawn on the server (no script, no
// CDN), oldest on the left, bar height by duration, colour by status; each bar's <title> says
// the run, its status and duration. Unfinished runs are a short grey stub.
import { html, type SafeHtml } from "../../../views/html";
import type { RecentRun } from "./schedules.stats";

const WIDTH = 200;
const HEIGHT = 40;
const GAP = 2;
const SLOTS = 20;

export const STATUS_COLOURS: Record<string, string> = {
  succeeded: "#12805c",
  failed: "#d92d20",
  timed_out: "#dc6803",
  cancelled: "#98a2b3",
  running: "#2e6be6",
  queued: "#d0d5dd",
};

function seconds(ms: number | null): string {
  return ms === null ? "not finished" : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** `runs` newest first (as the stats give them). */
export function runsChart(runs: RecentRun[]): SafeHtml {
  if (!runs.length) return html`<span class="muted small">no runs yet</span>`;
  const shown = runs.slice(0, SLOTS).reverse();
  const longest = Math.max(1, ...shown.map((r) => r.durationMs ?? 0));
  const barWidth = (WIDTH - GAP * (SLOTS - 1)) / SLOTS;
  const bars = shown.map((r, i) => {
    const h = r.durationMs === null ? 3 : Math.max(2, Math.round((r.durationMs / longest) * (HEIGHT - 2)));
    const x = (i * (barWidth + GAP)).toFixed(1);
    return html`<rect x="${x}" y="${HEIGHT - h}" width="${barWidth.toFixed(1)}" height="${h}" fill="${STATUS_COLOURS[r.status] ?? "#98a2b3"}" data-status="${r.status}"><title>${r.id} · ${r.status.replace("_", " ")} · ${seconds(r.durationMs)}</title></rect>`;
  });
  return html`<svg class="runs-chart" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="Durations of the last ${shown.length} runs, oldest first; longest ${seconds(longest)}">${bars}</svg>`;
}
