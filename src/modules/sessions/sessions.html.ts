// The sessions pages as HTML: the list (filters, create form, rows that a server-sent event
// stream replaces as sessions change) and one session's detail. Rendering only; the routes
// are in sessions.pages.ts.
import { html, type SafeHtml } from "../../../views/html";
import { badge, checkbox, copyable, duration, empty, formatBytes, input, notice, select, time, type FieldErrors } from "../../../views/ui";
import type { Pool } from "../pools/pools.service";
import type { Worker } from "../workers/workers.service";
import type { SessionEventRow, SessionRow } from "./sessions.store";
import { isEndingOrEnded, isTerminal } from "./sessions.store";

export const STATUSES = ["queued", "starting", "running", "paused", "stopping", "completed", "failed", "timed_out", "crashed"] as const;

export interface ListFilters {
  status?: string;
  pool?: string;
  worker?: string;
}

export interface RowContext {
  poolName(id: string): string;
  workerName(id: string | null): string | null;
  canStop(row: SessionRow): boolean;
  now: number;
}

export function stopForm(row: SessionRow, back: string): SafeHtml {
  return html`<form method="post" action="/sessions/${row.id}/stop" class="inline" data-confirm="Stop session ${row.id}? Its browser is closed for every client.">
<input type="hidden" name="back" value="${back}"><button type="submit" class="danger small">Stop</button></form>`;
}

function row(r: SessionRow, ctx: RowContext, back: string): SafeHtml {
  const worker = ctx.workerName(r.workerId);
  return html`<tr id="row-${r.id}" data-status="${r.status}">
<td><a href="/sessions/${r.id}"><code>${r.id}</code></a></td>
<td>${badge(r.status)}${r.endReason && isTerminal(r.status) ? html`<div class="muted small">${r.endReason}</div>` : ""}</td>
<td>${ctx.poolName(r.poolId)}</td>
<td>${worker ?? html`<span class="muted">—</span>`}</td>
<td>${time(r.createdAt)}</td>
<td>${duration(r.startedAt, r.endedAt ?? (isTerminal(r.status) ? r.startedAt : null), ctx.now)}</td>
<td class="actions-cell">${!isEndingOrEnded(r.status) && ctx.canStop(r) ? stopForm(r, back) : ""}</td>
</tr>`;
}

/** The part the stream replaces: the table or the empty state. */
export function sessionRows(rows: SessionRow[], ctx: RowContext, filtered: boolean, back: string): SafeHtml {
  if (!rows.length)
    return empty(
      filtered ? "No session matches these filters." : "No sessions yet.",
      filtered ? html`<a href="/sessions">Clear the filters</a>` : "Start one with the form above, from the API or with a Playwright or Puppeteer script (see Connect).",
    );
  return html`<div class="table-wrap"><table class="sessions">
<caption class="sr-only">Sessions, newest first</caption>
<thead><tr><th scope="col">Session</th><th scope="col">Status</th><th scope="col">Pool</th><th scope="col">Worker</th><th scope="col">Created</th><th scope="col">Duration</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${rows.map((r) => row(r, ctx, back))}</tbody></table></div>`;
}

export function filterForm(f: ListFilters, pools: Pool[], workers: Worker[]): SafeHtml {
  return html`<form method="get" action="/sessions" class="filters" role="search" aria-label="Filter sessions">
${select({ name: "status", label: "Status", value: f.status, scope: "filter", options: [["", "Any status"], ...STATUSES.map((s) => [s, s.replace("_", " ")] as [string, string])] })}
${select({ name: "pool", label: "Pool", value: f.pool, scope: "filter", options: [["", "Any pool"], ...pools.map((p) => [p.name, p.name] as [string, string])] })}
${select({ name: "worker", label: "Worker", value: f.worker, scope: "filter", options: [["", "Any worker"], ...workers.map((w) => [w.id, w.name] as [string, string])] })}
<div class="field filter-actions"><button type="submit" class="secondary">Filter</button></div>
</form>`;
}

export interface CreateFormState {
  values?: Record<string, string | undefined>;
  errors?: FieldErrors;
  notice?: SafeHtml | string;
  bad?: boolean;
}

/** The create form; with htmx it posts in place and the new row arrives through the stream. */
export function createForm(pools: Pool[], s: CreateFormState = {}): SafeHtml {
  const v = s.values ?? {};
  const e = s.errors ?? {};
  return html`<form method="post" action="/sessions" id="create-session" hx-post="/sessions" hx-target="this" hx-swap="outerHTML" novalidate>
${typeof s.notice === "string" ? notice(s.notice, s.bad) : s.notice ? html`<div class="notice" role="status">${s.notice}</div>` : ""}
<div class="form-grid">
${select({ name: "pool", label: "Pool", value: v.pool ?? "default", error: e.pool, options: pools.map((p) => [p.name, `${p.name}${p.state !== "active" ? ` (${p.state})` : ""}`]) })}
${select({ name: "browser", label: "Browser", value: v.browser ?? "", error: e.browser, options: [["", "Pool default"], ["headless-shell", "Headless shell (fast)"], ["chromium", "Chromium (full)"]] })}
${input({ name: "width", label: "Viewport width", type: "number", value: v.width ?? "1280", error: e.width, attrs: html` min="200" max="7680" inputmode="numeric"` })}
${input({ name: "height", label: "Viewport height", type: "number", value: v.height ?? "720", error: e.height, attrs: html` min="200" max="4320" inputmode="numeric"` })}
${input({ name: "timeoutSec", label: "Maximum duration (seconds)", type: "number", value: v.timeoutSec, error: e.timeoutSec, hint: "Empty: the pool's limit.", attrs: html` min="1" inputmode="numeric"` })}
${input({ name: "idleTimeoutSec", label: "Idle timeout (seconds)", type: "number", value: v.idleTimeoutSec, error: e.idleTimeoutSec, hint: "Ends it after this long with no client.", attrs: html` min="1" inputmode="numeric"` })}
${input({ name: "locale", label: "Locale", value: v.locale, error: e.locale, hint: "e.g. en-US", attrs: html` maxlength="35" autocomplete="off"` })}
${input({ name: "timezone", label: "Time zone", value: v.timezone, error: e.timezone, hint: "e.g. Europe/Paris", attrs: html` maxlength="64" autocomplete="off"` })}
</div>
${checkbox({ name: "keepAlive", label: "Keep alive when clients disconnect (until the idle timeout)", checked: v.keepAlive === undefined ? true : v.keepAlive === "on" })}
<div class="actions"><button type="submit">Start session</button><span class="htmx-indicator muted" aria-hidden="true">Starting the browser…</span></div>
</form>`;
}

export function listPage(parts: { filters: SafeHtml; create: SafeHtml | null; rows: SafeHtml; streamUrl: string; count: number }): SafeHtml {
  return html`<div class="page-head"><h1>Sessions</h1><a class="button secondary" href="/quickstart">Connect a script</a></div>
${
  parts.create
    ? html`<details class="card" id="new-session"${parts.count === 0 ? html` open` : ""}><summary><h2 class="inline-h">New session</h2></summary>${parts.create}</details>`
    : ""
}
<section class="card">${parts.filters}</section>
<section aria-live="polite" aria-label="Session list" data-sse="${parts.streamUrl}" data-sse-parts="session-rows">
<div id="session-rows">${parts.rows}</div>
</section>`;
}

// ---- detail ----------------------------------------------------------------------------

function settingsTable(r: SessionRow, pool: string, worker: string | null): SafeHtml {
  const c = r.config as { browser?: string; viewport?: { width: number; height: number }; userAgent?: string; locale?: string; timezone?: string; proxy?: { name?: string }; ruleSets?: { name: string; version: number }[] };
  const rows: [string, SafeHtml | string][] = [
    ["Pool", pool],
    ["Worker", worker ?? "—"],
    ["Browser", c.browser ?? "—"],
    ["Viewport", c.viewport ? `${c.viewport.width} × ${c.viewport.height}` : "—"],
    ["Maximum duration", `${r.timeoutSec} s`],
    ["Idle timeout", `${r.idleTimeoutSec} s`],
    ["Keep alive", r.keepAlive ? "yes" : "no"],
    ["Locale / time zone", `${c.locale ?? "default"} / ${c.timezone ?? "default"}`],
    ["User agent", c.userAgent ?? "default"],
    ["Proxy", c.proxy?.name ?? "none"],
    ["Rule sets", c.ruleSets?.length ? c.ruleSets.map((s) => `${s.name} (v${s.version})`).join(", ") : "none"],
    ["Traffic through the proxy", c.proxy ? `${formatBytes(r.bytesSent)} sent · ${formatBytes(r.bytesReceived)} received` : "—"],
    ["Created", time(r.createdAt)],
    ["Started", time(r.startedAt)],
    ["Expires", r.endedAt ? "—" : time(r.expiresAt)],
    ["Ended", time(r.endedAt)],
  ];
  const meta = Object.keys(r.metadata ?? {}).length ? JSON.stringify(r.metadata, null, 2) : null;
  return html`<dl class="props">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
${meta ? html`<h3>Metadata</h3><pre>${meta}</pre>` : ""}`;
}

export function eventsTimeline(events: SessionEventRow[]): SafeHtml {
  if (!events.length) return empty("No events yet.");
  return html`<ol class="timeline">${events.map(
    (e) => html`<li><span class="tl-type">${badge(e.type)}</span> ${time(e.at)}${
      e.detail && Object.keys(e.detail).length
        ? html` <span class="muted small">${Object.entries(e.detail)
            .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
            .join(" · ")}</span>`
        : ""
    }</li>`,
  )}</ol>`;
}

/** Status line at the top of the detail page, replaced by the stream. */
export function statusLine(r: SessionRow, canStop: boolean, now: number): SafeHtml {
  return html`<div class="status-line">${badge(r.status)} <span>Duration ${duration(r.startedAt, r.endedAt ?? (isTerminal(r.status) ? r.startedAt : null), now)}</span>
${r.endReason ? html`<span class="muted">${r.endReason}</span>` : ""}
${!isEndingOrEnded(r.status) && canStop ? stopForm(r, `/sessions/${r.id}`) : ""}</div>`;
}

export function detailPage(parts: {
  row: SessionRow;
  pool: string;
  worker: string | null;
  status: SafeHtml;
  /** Present only for a reader who may hold it (the owner or an admin). */
  cdpUrl: string | null;
  /** The session still takes connections. */
  connectable: boolean;
  events: SafeHtml;
  live: SafeHtml;
  artifacts: SafeHtml;
  streamUrl: string;
}): SafeHtml {
  const r = parts.row;
  return html`<p class="crumbs"><a href="/sessions">Sessions</a> /</p>
<h1>Session <code>${r.id}</code></h1>
<div data-sse="${parts.streamUrl}" data-sse-parts="session-status session-events">
<section class="card" aria-live="polite" id="session-status">${parts.status}</section>
<section class="card"><h2>Connect</h2>
${
  parts.cdpUrl
    ? html`<p>Give this CDP URL to Playwright's <code>connectOverCDP</code> or Puppeteer's <code>connect</code>. It works for this session only and dies with it.</p>
${copyable("cdp-url", parts.cdpUrl, "CDP URL")}`
    : parts.connectable
      ? html`<p class="muted">The CDP URL is shown to the session's owner and to admins.</p>`
      : html`<p class="muted">This session has ended: it has no CDP URL any more.</p>`
}
</section>
${parts.live}
${parts.artifacts}
<div class="two-col">
<section class="card"><h2>Settings</h2>${settingsTable(r, parts.pool, parts.worker)}</section>
<section class="card"><h2>Events</h2><div id="session-events">${parts.events}</div></section>
</div>
</div>`;
}
