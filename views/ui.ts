// Small building blocks shared by the admin pages: the signed-in page wrapper, labelled form
// fields with their error next to them, status badges, times and live durations. Every value
// goes through html`` and is escaped.
import type { Actor } from "../src/security/actor";
import { html, htmlResponse, type SafeHtml } from "./html";
import { layout } from "./layout";

export type FieldErrors = Record<string, string | undefined>;

export function actorLabel(actor: Actor): string {
  return actor.email ?? (actor.type === "static_key" ? `static key ${actor.keyId}` : actor.type);
}

/** A full signed-in page. `active` is the nav entry to highlight. */
export function page(actor: Actor, title: string, active: string, body: SafeHtml, init: ResponseInit = {}): Response {
  return htmlResponse(layout({ title, user: { email: actorLabel(actor), role: actor.role }, active }, body), init);
}

/** 303 See Other: the answer to a form POST that worked. */
export function seeOther(location: string): Response {
  return new Response(null, { status: 303, headers: { location } });
}

interface FieldOpts {
  name: string;
  label: string;
  type?: string;
  value?: string | number | null;
  error?: string;
  hint?: string;
  required?: boolean;
  attrs?: SafeHtml;
  /** The form this field belongs to, on pages with several forms: keeps element ids unique. */
  scope?: string;
}

/** The id base of a field: unique on the page when its form is named. */
const fieldId = (o: FieldOpts) => (o.scope ? `${o.scope}-${o.name}` : o.name);

function described(name: string, error?: string, hint?: string): SafeHtml {
  const ids = [hint ? `${name}-hint` : "", error ? `${name}-error` : ""].filter(Boolean).join(" ");
  return html`${ids ? html` aria-describedby="${ids}"` : ""}${error ? html` aria-invalid="true"` : ""}`;
}

function below(name: string, error?: string, hint?: string): SafeHtml {
  return html`${hint ? html`<p class="hint" id="${name}-hint">${hint}</p>` : ""}${error ? html`<p class="error" id="${name}-error">${error}</p>` : ""}`;
}

export function input(o: FieldOpts): SafeHtml {
  const id = fieldId(o);
  return html`<div class="field"><label for="f-${id}">${o.label}</label>
<input id="f-${id}" name="${o.name}" type="${o.type ?? "text"}"${o.value !== undefined && o.value !== null && o.type !== "password" ? html` value="${o.value}"` : ""}${
    o.required ? html` required` : ""
  }${described(id, o.error, o.hint)}${o.attrs ?? ""}>
${below(id, o.error, o.hint)}</div>`;
}

export function select(o: FieldOpts & { options: [string, string][] }): SafeHtml {
  const id = fieldId(o);
  return html`<div class="field"><label for="f-${id}">${o.label}</label>
<select id="f-${id}" name="${o.name}"${described(id, o.error, o.hint)}${o.attrs ?? ""}>${o.options.map(
    ([v, l]) => html`<option value="${v}"${String(o.value ?? "") === v ? html` selected` : ""}>${l}</option>`,
  )}</select>
${below(id, o.error, o.hint)}</div>`;
}

export function checkbox(o: { name: string; label: string; checked: boolean; hint?: string }): SafeHtml {
  return html`<div class="field check"><input id="f-${o.name}" name="${o.name}" type="checkbox" value="on"${o.checked ? html` checked` : ""}${described(o.name, undefined, o.hint)}>
<label for="f-${o.name}">${o.label}</label>${below(o.name, undefined, o.hint)}</div>`;
}

/** A form-level message: role=alert for errors so screen readers announce it. */
export function notice(text: string | undefined, bad = false): SafeHtml {
  if (!text) return html``;
  return html`<p class="notice${bad ? " bad" : ""}" role="${bad ? "alert" : "status"}">${text}</p>`;
}

export function badge(status: string): SafeHtml {
  return html`<span class="badge ${status}">${status.replace("_", " ")}</span>`;
}

export function empty(title: string, detail: SafeHtml | string = ""): SafeHtml {
  return html`<div class="empty"><p class="empty-title">${title}</p>${detail ? html`<p>${detail}</p>` : ""}</div>`;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** 1:02:03 / 2:03 — the same format app.js ticks in. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/**
 * A duration that app.js keeps ticking while `endedAt` is unset. The server renders the value
 * at render time so the page reads right without JavaScript.
 */
export function duration(startedAt: number | null, endedAt: number | null, now = Date.now()): SafeHtml {
  if (!startedAt) return html`<span class="muted">—</span>`;
  const end = endedAt ?? now;
  return html`<span class="duration" data-started-at="${startedAt}" data-ms="${end - startedAt}"${endedAt ? html` data-ended-at="${endedAt}"` : ""}>${formatDuration(end - startedAt)}</span>`;
}

/** A timestamp in UTC; app.js rewrites it in the reader's local time. */
export function time(ms: number | null | undefined): SafeHtml {
  if (!ms) return html`<span class="muted">—</span>`;
  const d = new Date(ms);
  return html`<time datetime="${d.toISOString()}">${d.toISOString().replace("T", " ").slice(0, 19)} UTC</time>`;
}

/** A read-only value with a copy button (app.js; the text stays selectable without JS). */
export function copyable(id: string, value: string, label: string): SafeHtml {
  return html`<div class="copy-row"><code id="${id}" class="copy-value">${value}</code><button type="button" class="secondary small" data-copy="${id}" aria-label="Copy ${label}">Copy</button></div>`;
}

/** 1.4 MB / 812 B — sizes in the units people read (powers of 1024). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
