// A session's artifacts on its page: the list with download links (the API route serves the
// files, as sandboxed attachments) and a "Take screenshot" button for the session's owner or an
// admin while the browser runs. With htmx the button replaces the section in place; without
// JavaScript it is a plain POST that redirects back (route in sessions.pages.ts).
import { html, type SafeHtml } from "../../../views/html";
import { badge, empty, formatBytes, notice, time } from "../../../views/ui";
import type { SessionRow } from "../sessions/sessions.store";
import type { ArtifactRow } from "./artifacts.service";

export function artifactsSection(row: SessionRow, list: ArtifactRow[], canCapture: boolean, message?: { text: string; bad: boolean }): SafeHtml {
  return html`<section class="card" id="session-artifacts" aria-labelledby="artifacts-h">
<div class="page-head"><h2 id="artifacts-h" class="inline-h">Artifacts</h2>
${
  canCapture && row.status === "running"
    ? html`<form method="post" action="/sessions/${row.id}/screenshot" class="inline" hx-post="/sessions/${row.id}/screenshot" hx-target="#session-artifacts" hx-swap="outerHTML">
<button type="submit" class="secondary small">Take screenshot</button><span class="htmx-indicator muted small" aria-hidden="true"> Capturing…</span></form>`
    : ""
}</div>
${message ? notice(message.text, message.bad) : ""}
${
  list.length
    ? html`<div class="table-wrap"><table class="artifacts"><thead><tr><th scope="col">Kind</th><th scope="col">Name</th><th scope="col">Size</th><th scope="col">Created</th><th scope="col"><span class="sr-only">Download</span></th></tr></thead>
<tbody>${list.map(
        (a) => html`<tr id="artifact-${a.id}"><td>${badge(a.kind)}</td><td class="wrap">${a.name}</td><td>${formatBytes(a.size)}</td><td>${time(a.createdAt)}</td>
<td class="actions-cell"><a class="button secondary small" href="/api/v1/sessions/${a.sessionId}/artifacts/${a.id}" download aria-label="Download ${a.name}">Download</a></td></tr>`,
      )}</tbody></table></div>`
    : empty(
        "No artifacts yet.",
        row.status === "running"
          ? "Screenshots taken here or through the API, and files the browser downloads, appear here."
          : "This session produced no screenshots or downloads.",
      )
}
</section>`;
}
