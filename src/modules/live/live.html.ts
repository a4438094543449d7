// The live view as HTML: the panel on a session's page, the share form and its answer, and
// the page behind a shareable link (no account, no navigation). public/live.js brings it to
// life: frames from the stream URL, input to the input URL when control is allowed.
import { html, type SafeHtml } from "../../../views/html";
import { copyable, select, time } from "../../../views/ui";
import type { SessionRow } from "../sessions/sessions.store";

interface ScreenOpts {
  stream: string;
  input: string | null;
  /** The viewer may take control (mouse, keys, navigation, tabs). */
  control: boolean;
}

function screen(o: ScreenOpts): SafeHtml {
  return html`<div class="live-bar">
<span class="live-state" data-live-state role="status">Connecting…</span>
${
  o.control
    ? html`<button type="button" class="secondary small" data-live-control aria-pressed="false">Take control</button>
<label class="sr-only" for="live-tab">Tab</label><select id="live-tab" class="small" data-live-tabs disabled><option>Tabs…</option></select>
<form class="live-nav" data-live-nav><label class="sr-only" for="live-url">Address</label><input id="live-url" name="url" type="text" inputmode="url" placeholder="https://…" maxlength="2048" autocomplete="off" disabled><button type="submit" class="secondary small" disabled>Go</button></form>`
    : html`<span class="muted small" data-live-tabname></span>`
}
</div>
<div class="live-screen" data-live data-stream="${o.stream}"${o.input ? html` data-input="${o.input}"` : ""} tabindex="0" role="img" aria-label="Live view of the session's browser${o.control ? "; take control to click, scroll and type" : ""}">
<img alt="" data-live-img hidden>
<p class="live-placeholder" data-live-placeholder>Waiting for the first frame…</p>
</div>
<script src="/assets/live.js" defer></script>`;
}

export function livePanel(r: SessionRow, opts: { control: boolean; share: boolean }): SafeHtml {
  return html`<section class="card live" aria-labelledby="live-h">
<h2 id="live-h">Live view</h2>
${screen({ stream: `/sessions/${r.id}/live/stream`, input: opts.control ? `/sessions/${r.id}/live/input` : null, control: opts.control })}
${opts.share ? shareForm(r.id) : ""}
</section>`;
}

export function shareForm(sessionId: string): SafeHtml {
  return html`<details class="share"><summary>Share a live link</summary>
<form method="post" action="/sessions/${sessionId}/share" hx-post="/sessions/${sessionId}/share" hx-target="#share-result" hx-swap="innerHTML" class="share-form">
${select({ name: "mode", label: "Access", value: "view", options: [["view", "Watch only"], ["control", "Watch and control"]] })}
${select({ name: "minutes", label: "Expires after", value: "60", options: [["15", "15 minutes"], ["60", "1 hour"], ["240", "4 hours"], ["1440", "1 day"]] })}
<div class="field"><button type="submit" class="secondary">Create link</button></div>
</form>
<div id="share-result" aria-live="polite"></div>
<p class="hint">Anyone with the link can watch without an account until it expires or the session ends.</p>
</details>`;
}

export function shareResult(url: string, mode: string, exp: number): SafeHtml {
  return html`<p>${mode === "control" ? "Watch-and-control" : "Watch-only"} link, valid until ${time(exp * 1000)}:</p>
${copyable("share-url", url, "live link")}`;
}

export function publicLivePage(r: SessionRow, o: { query: string; mode: "view" | "control"; exp: number }): SafeHtml {
  return html`<section class="card live">
<h1>Live view <span class="muted small"><code>${r.id}</code></span></h1>
<p class="muted">${o.mode === "control" ? "You can watch and control this browser." : "Watch only."} The link works until ${time(o.exp * 1000)} or until the session ends.</p>
${screen({ stream: `/live/${r.id}/stream?${o.query}`, input: o.mode === "control" ? `/live/${r.id}/input?${o.query}` : null, control: o.mode === "control" })}
</section>`;
}

export function liveRefused(message: string): SafeHtml {
  return html`<section class="card narrow"><h1>Live view unavailable</h1><p class="notice bad" role="alert">${message}</p></section>`;
}
