// /settings (admins): the maintenance switch and scheduled maintenance windows. While one is
// active new sessions get 503 with its message and /readyz reports not ready; the rules live in
// maintenance.service.ts, this page only reads and writes through it.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { DomainError } from "../../lib/errors";
import { html, type SafeHtml } from "../../../views/html";
import { checkbox, empty, input, notice, page, seeOther, time, type FieldErrors } from "../../../views/ui";
import { audit } from "../audit/audit.service";
import { activeMaintenance, getMaintenance, setMaintenance, type MaintenanceWindow } from "./maintenance.service";

interface FormState {
  values?: Record<string, string | undefined>;
  errors?: FieldErrors;
}

interface State {
  switch?: FormState;
  window?: FormState;
  message?: { text: string; bad: boolean };
}

function settingsPage(deps: AppDeps, s: State): SafeHtml {
  const m = getMaintenance(deps.db);
  const active = activeMaintenance(deps.db, (deps.now ?? Date.now)());
  const sw = s.switch ?? {};
  const w = s.window ?? {};
  return html`<div class="page-head"><h1>Settings</h1></div>
${s.message ? notice(s.message.text, s.message.bad) : ""}
<section class="card maintenance-state ${active ? "on" : "off"}" id="maintenance-state" role="status" aria-labelledby="maintenance-state-h">
<h2 id="maintenance-state-h">${active ? "Maintenance is ON" : "Maintenance is off"}</h2>
${
  active
    ? html`<p>New sessions are refused with 503 and this message; running sessions finish; <code>/readyz</code> reports not ready.</p>
<blockquote>${active.message}</blockquote><p>${active.until ? html`Until ${time(Date.parse(active.until))} (scheduled window).` : "Until switched off below."}</p>`
    : html`<p>New sessions are accepted.${m.windows.length ? html` Next window starts ${time(Date.parse(m.windows[0]!.start))}.` : ""}</p>`
}
</section>
<div class="two-col">
<section class="card"><h2>Maintenance switch</h2>
<form method="post" action="/settings/maintenance" novalidate>
${checkbox({ name: "enabled", label: "Maintenance mode on (refuse new sessions now)", checked: sw.values ? sw.values.enabled === "on" : m.enabled })}
${input({ name: "message", label: "Message", value: sw.values?.message ?? m.message, error: sw.errors?.message, hint: "Shown to clients refused with 503.", attrs: html` maxlength="500" autocomplete="off"` })}
<div class="actions"><button type="submit">Save maintenance mode</button></div>
</form></section>
<section class="card"><h2>Add a window</h2>
<form method="post" action="/settings/windows" novalidate>
<div class="form-grid">
${input({ name: "start", label: "Start (UTC)", type: "datetime-local", value: w.values?.start, error: w.errors?.start, required: true })}
${input({ name: "end", label: "End (UTC)", type: "datetime-local", value: w.values?.end, error: w.errors?.end, required: true })}
</div>
${input({ name: "windowMessage", label: "Message (optional)", value: w.values?.windowMessage, error: w.errors?.windowMessage, hint: "Empty: the switch's message.", attrs: html` maxlength="500" autocomplete="off"` })}
<div class="actions"><button type="submit">Add window</button></div>
</form></section>
</div>
<section class="card"><h2>Scheduled windows</h2>
${
  m.windows.length
    ? html`<div class="table-wrap"><table class="windows"><thead><tr><th scope="col">Start</th><th scope="col">End</th><th scope="col">Message</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${m.windows.map((x) => windowRow(x))}</tbody></table></div>`
    : empty("No scheduled windows.", "Windows that are over are removed.")
}
</section>`;
}

function windowRow(w: MaintenanceWindow): SafeHtml {
  return html`<tr><td>${time(Date.parse(w.start))}</td><td>${time(Date.parse(w.end))}</td><td class="wrap">${w.message || html`<span class="muted">default</span>`}</td>
<td class="actions-cell"><form method="post" action="/settings/windows/delete" class="inline" data-confirm="Delete this maintenance window?">
<input type="hidden" name="start" value="${w.start}"><input type="hidden" name="end" value="${w.end}">
<button type="submit" class="danger small" aria-label="Delete the window starting ${w.start}">Delete</button></form></td></tr>`;
}

/** A datetime-local value (no zone) is read as UTC; a full ISO 8601 time is taken as given. */
function toIso(raw: string | undefined): string | undefined {
  const s = (raw ?? "").trim();
  if (!s) return undefined;
  const ms = Date.parse(/(Z|[+-]\d\d:\d\d)$/.test(s) ? s : `${s}Z`);
  return Number.isNaN(ms) ? s : new Date(ms).toISOString();
}

const Field = t.Optional(t.String({ maxLength: 600 }));

export function settingsPages(deps: AppDeps) {
  const render = (actor: Actor, s: State, status = 200) => page(actor, "Settings", "/settings", settingsPage(deps, s), { status, headers: { "cache-control": "no-store" } });
  const refused = (e: unknown): e is DomainError => e instanceof DomainError && e.status < 500;

  return new Elysia({ name: "settings-pages" })
    .use(authMacro)
    .get("/settings", ({ actor }) => render(actor, {}), { auth: "admin", detail: { hide: true } })
    .post(
      "/settings/maintenance",
      (ctx) => {
        const { actor, body } = ctx;
        const values = { enabled: body.enabled, message: (body.message ?? "").trim() };
        if (!values.message) return render(actor, { switch: { values, errors: { message: "Write the message refused clients will see." } } }, 400);
        if (values.message.length > 500) return render(actor, { switch: { values, errors: { message: "Use at most 500 characters." } } }, 400);
        const input = { enabled: body.enabled === "on", message: values.message };
        setMaintenance(deps.db, input);
        audit(deps, actor, "maintenance.updated", null, input, requestIp(ctx));
        return seeOther("/settings");
      },
      { auth: "admin", body: t.Object({ enabled: Field, message: Field }, { additionalProperties: false }), detail: { hide: true } },
    )
    .post(
      "/settings/windows",
      (ctx) => {
        const { actor, body } = ctx;
        const values = { start: body.start, end: body.end, windowMessage: body.windowMessage };
        const errors: FieldErrors = {};
        const start = toIso(body.start);
        const end = toIso(body.end);
        const message = (body.windowMessage ?? "").trim();
        if (!start) errors.start = "Choose when the window starts.";
        if (!end) errors.end = "Choose when the window ends.";
        if (message.length > 500) errors.windowMessage = "Use at most 500 characters.";
        if (Object.values(errors).some(Boolean)) return render(actor, { window: { values, errors } }, 400);
        const before = getMaintenance(deps.db).windows;
        const added: MaintenanceWindow = { start: start!, end: end!, ...(message ? { message } : {}) };
        try {
          const after = setMaintenance(deps.db, { windows: [...before, added] });
          audit(deps, actor, "maintenance.updated", null, { windows: after.windows }, requestIp(ctx));
          // The service drops windows that are already over: say so rather than pretend.
          if (!after.windows.some((x) => x.start === added.start && x.end === added.end))
            return render(actor, { window: { values, errors: { end: "That window is already over; nothing was added." } } }, 400);
          return seeOther("/settings");
        } catch (e) {
          if (!refused(e)) throw e;
          return render(actor, { window: { values, errors: { [/end after/.test(e.message) ? "end" : "start"]: e.message } } }, e.status);
        }
      },
      { auth: "admin", body: t.Object({ start: Field, end: Field, windowMessage: Field }, { additionalProperties: false }), detail: { hide: true } },
    )
    .post(
      "/settings/windows/delete",
      (ctx) => {
        const { actor, body } = ctx;
        const windows = getMaintenance(deps.db).windows.filter((w) => !(w.start === body.start && w.end === body.end));
        const after = setMaintenance(deps.db, { windows });
        audit(deps, actor, "maintenance.updated", null, { windows: after.windows }, requestIp(ctx));
        return seeOther("/settings");
      },
      { auth: "admin", body: t.Object({ start: t.String({ maxLength: 40 }), end: t.String({ maxLength: 40 }) }, { additionalProperties: false }), detail: { hide: true } },
    );
}
