// The sign-in forms as HTML fragments. Every value is escaped by html``; each error is tied to
// its input with aria-describedby so screen readers announce it.
import { html, type SafeHtml } from "../../../views/html";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../../security/passwords";

export type FieldErrors = Record<string, string | undefined>;

interface FormState {
  values?: Record<string, string | undefined>;
  errors?: FieldErrors;
  notice?: string;
}

function field(name: string, label: string, type: string, autocomplete: string, s: FormState, extra: SafeHtml = html``): SafeHtml {
  const err = s.errors?.[name];
  const max = type === "password" ? PASSWORD_MAX_LENGTH : 254;
  return html`<label for="${name}">${label}</label>
<input id="${name}" name="${name}" type="${type}" autocomplete="${autocomplete}" required maxlength="${max}"${
    type !== "password" && s.values?.[name] ? html` value="${s.values[name]}"` : ""
  }${err ? html` aria-invalid="true" aria-describedby="${name}-error"` : ""}${extra}>
${err ? html`<p class="error" id="${name}-error">${err}</p>` : ""}`;
}

const newPw = html` minlength="${PASSWORD_MIN_LENGTH}"`;
const notice = (s: FormState) => (s.notice ? html`<p class="notice${s.errors ? " bad" : ""}" role="status">${s.notice}</p>` : "");

/**
 * The setup token: hidden when the link from the log brought it, else a field saying where to
 * find it. A token is never shown back after it was refused.
 */
function setupTokenField(s: FormState): SafeHtml {
  const token = s.values?.token;
  const err = s.errors?.token;
  if (token && !err) return html`<input type="hidden" name="token" value="${token}">`;
  return html`<label for="token">Setup token</label>
<input id="token" name="token" type="password" autocomplete="off" required maxlength="128" aria-describedby="token-hint${err ? " token-error" : ""}"${err ? html` aria-invalid="true"` : ""}>
<p class="muted" id="token-hint">Printed by install.sh and in the server's log (the line with /setup?token=…); also in the file <code>setup-token</code> in the data directory.</p>
${err ? html`<p class="error" id="token-error">${err}</p>` : ""}`;
}

export function setupForm(s: FormState): SafeHtml {
  return html`<section class="card narrow">
<h1>Set up BrowserGrid</h1>
<p class="muted">No account exists yet. Create the first administrator.</p>
<form method="post" action="/setup">
${setupTokenField(s)}
${field("email", "Email", "email", "username", s)}
${field("password", `Password (at least ${PASSWORD_MIN_LENGTH} characters)`, "password", "new-password", s, newPw)}
${field("confirm", "Repeat the password", "password", "new-password", s, newPw)}
<div class="actions"><button type="submit">Create admin and sign in</button></div>
</form>
</section>`;
}

export function loginForm(s: FormState & { next: string }): SafeHtml {
  return html`<section class="card narrow">
<h1>Sign in</h1>
${s.notice ? html`<p class="notice bad" role="alert">${s.notice}</p>` : ""}
<form method="post" action="/login">
<input type="hidden" name="next" value="${s.next}">
${field("email", "Email", "email", "username", s)}
${field("password", "Password", "password", "current-password", s)}
<div class="actions"><button type="submit">Sign in</button></div>
</form>
</section>`;
}

export function passwordForm(s: FormState): SafeHtml {
  return html`<section class="card narrow">
<h1>Change password</h1>
${notice(s)}
<form method="post" action="/account/password">
${field("currentPassword", "Current password", "password", "current-password", s)}
${field("newPassword", `New password (at least ${PASSWORD_MIN_LENGTH} characters)`, "password", "new-password", s, newPw)}
${field("confirm", "Repeat the new password", "password", "new-password", s, newPw)}
<div class="actions"><button type="submit">Change password</button></div>
</form>
<p class="muted">Changing it signs you out everywhere else.</p>
</section>`;
}
