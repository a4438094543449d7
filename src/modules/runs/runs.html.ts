// The runs pages' markup: the list's rows, a run's status line, timeline, log tail, result and
// output files. Every value goes through html`` and is escaped (a log line is the run's code's
// output: untrusted text).
import { html, type SafeHtml } from "../../../views/html";
import { badge, duration, empty, formatBytes, time } from "../../../views/ui";
import type { ArtifactRow } from "../artifacts/artifacts.service";
import { isRunTerminal, type RunEventRow, type RunRow } from "./runs.store";

/** Lines of the log shown on a run's page (the API serves all of it). */
export const LOG_TAIL_LINES = 200;

export function runRows(rows: RunRow[], nameOf: (deploymentId: string) => string, filtered: boolean): SafeHtml {
  if (!rows.length) return html`<tr><td colspan="7">${empty(filtered ? "No run matches these filters." : "No runs yet.", filtered ? "" : "Runs appear here when a deployment is run through the API, the CLI, a schedule or its page.")}</td></tr>`;
  return html`${rows.map(
    (r) => html`<tr id="run-${r.id}"><td><a href="/runs/${r.id}"><code>${r.id}</code></a></td><td>${nameOf(r.deploymentId)} <span class="muted small">v${r.version}</span></td><td>${badge(r.status)}</td>
<td>${r.trigger}</td><td>${r.attempt}/${r.maxAttempts}</td><td>${time(r.createdAt)}</td><td>${duration(r.startedAt, r.endedAt)}</td></tr>`,
  )}`;
}

export function runStatusLine(r: RunRow, opts: { canAct: boolean; sessionLink: boolean }): SafeHtml {
  const over = isRunTerminal(r.status);
  return html`<p>${badge(r.status)} attempt ${r.attempt} of ${r.maxAttempts}${r.exitCode !== null ? html` · exit code <code>${r.exitCode}</code>` : ""} · ${duration(r.startedAt, r.endedAt)}${
    r.status === "queued" && r.notBefore ? html` · next attempt ${time(r.notBefore)}` : ""
  }</p>
${r.error ? html`<pre class="log error-tail" aria-label="Error">${r.error}</pre>` : ""}
<div class="actions">${
    opts.sessionLink && r.status === "running" && r.sessionId ? html`<a class="button secondary small" href="/sessions/${r.sessionId}">Live view of its browser</a>` : ""
  }${
    opts.canAct && !over
      ? html`<form method="post" action="/runs/${r.id}/cancel" class="inline" data-confirm="Cancel run ${r.id}? Its code is killed and its browser closed."><button type="submit" class="danger small">Cancel</button></form>`
      : ""
  }${opts.canAct ? html`<form method="post" action="/runs/${r.id}/rerun" class="inline"><button type="submit" class="secondary small">Re-run</button></form>` : ""}</div>`;
}

export function runEventsTimeline(events: RunEventRow[]): SafeHtml {
  if (!events.length) return empty("No events yet.");
  return html`<ol class="timeline">${events.map(
    (e) => html`<li><span class="tl-type">${badge(e.type)}</span> ${time(e.at)}${
      e.detail && Object.keys(e.detail).length
        ? html` <span class="muted small">${Object.entries(e.detail)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
            .join(" · ")}</span>`
        : ""
    }</li>`,
  )}</ol>`;
}

export function logTail(text: string, runId: string): SafeHtml {
  if (!text) return empty("No output yet.");
  const lines = text.replace(/\n$/, "").split("\n");
  const cut = lines.length > LOG_TAIL_LINES;
  return html`${cut ? html`<p class="muted small">The last ${LOG_TAIL_LINES} of ${lines.length} lines; <a href="/api/v1/runs/${runId}/logs">the whole log</a>.</p>` : ""}<pre class="log">${lines.slice(-LOG_TAIL_LINES).join("\n")}</pre>`;
}

export function runOutput(r: RunRow, files: ArtifactRow[]): SafeHtml {
  return html`<h3>Result</h3>${r.result !== null && r.result !== undefined ? html`<pre class="log">${JSON.stringify(r.result, null, 2)}</pre>` : html`<p class="muted">No result.json${isRunTerminal(r.status) ? "" : " yet"}.</p>`}
<h3>Files</h3>${
    files.length
      ? html`<ul>${files.map((a) => html`<li><a href="/api/v1/runs/${r.id}/artifacts/${a.id}" download>${a.name}</a> <span class="muted small">${formatBytes(a.size)}</span></li>`)}</ul>`
      : html`<p class="muted">No files in the output dir${isRunTerminal(r.status) ? "" : " yet"}.</p>`
  }`;
}
