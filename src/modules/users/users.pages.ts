// /users (admins): accounts and roles — create, change role, disable or enable, delete. The
// service refuses to lose the last enabled admin; that refusal is shown next to the user.
import { Elysia, t } from "elysia";
import { oneOf } from "../../http/strict-object";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { DomainError } from "../../lib/errors";
import { html, type SafeHtml } from "../../../views/html";
import { badge, input, notice, page, seeOther, select, time, type FieldErrors } from "../../../views/ui";
import { PASSWORD_MIN_LENGTH } from "../../security/passwords";
import { audit } from "../audit/audit.service";
import { createUser, deleteUser, listUsers, ROLES, updateUser } from "./users.service";
import type { Role } from "../../db/schema";

interface State {
  values?: Record<string, string | undefined>;
  errors?: FieldErrors;
  rowError?: { id: string; message: string };
  message?: string;
}

const roleOptions = ROLES.map((r) => [r, r] as [string, string]);

function usersPage(deps: AppDeps, actor: Actor, s: State): SafeHtml {
  const users = listUsers(deps);
  const v = s.values ?? {};
  const e = s.errors ?? {};
  return html`<div class="page-head"><h1>Users</h1></div>
${notice(s.message)}
<section class="card"><h2>Accounts</h2>
<div class="table-wrap"><table><thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">State</th><th scope="col">Created</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${users.map(
    (u) => html`<tr id="user-${u.id}"><td>${u.email}${u.id === actor.userId ? html` <span class="muted small">(you)</span>` : ""}${
      s.rowError?.id === u.id ? html`<p class="error" role="alert">${s.rowError.message}</p>` : ""
    }</td>
<td><form method="post" action="/users/${u.id}" class="inline-form"><label class="sr-only" for="role-${u.id}">Role of ${u.email}</label>
<select id="role-${u.id}" name="role" class="small">${ROLES.map((r) => html`<option value="${r}"${u.role === r ? html` selected` : ""}>${r}</option>`)}</select>
<button type="submit" class="secondary small">Save</button></form></td>
<td>${u.disabledAt ? badge("disabled") : badge("active")}</td><td>${time(u.createdAt)}</td>
<td class="actions-cell"><form method="post" action="/users/${u.id}" class="inline"><input type="hidden" name="disabled" value="${u.disabledAt ? "false" : "true"}"><button type="submit" class="secondary small">${u.disabledAt ? "Enable" : "Disable"}</button></form>
<form method="post" action="/users/${u.id}/delete" class="inline" data-confirm="Delete ${u.email}? Their API keys go with them and their browser sessions end."><button type="submit" class="danger small" aria-label="Delete ${u.email}">Delete</button></form></td></tr>`,
  )}</tbody></table></div></section>
<section class="card"><h2>New user</h2>
<form method="post" action="/users" novalidate>
<div class="form-grid">
${input({ name: "email", label: "Email", type: "email", value: v.email, error: e.email, required: true, attrs: html` maxlength="254" autocomplete="off"` })}
${input({ name: "password", label: `Password (at least ${PASSWORD_MIN_LENGTH} characters)`, type: "password", error: e.password, required: true, attrs: html` autocomplete="new-password"` })}
${select({ name: "role", label: "Role", value: v.role ?? "member", error: e.role, options: roleOptions, hint: "viewer: read only · member: sessions and own keys · admin: everything" })}
</div>
<div class="actions"><button type="submit">Create user</button></div>
</form></section>`;
}

const Id = t.Object({ id: t.String({ minLength: 1, maxLength: 64, pattern: "^[a-z0-9_]+$" }) });

export function userPages(deps: AppDeps) {
  const render = (actor: Actor, s: State, status = 200) => page(actor, "Users", "/users", usersPage(deps, actor, s), { status });
  return new Elysia({ name: "user-pages" })
    .use(authMacro)
    .get("/users", ({ actor }) => render(actor, {}), { auth: "admin", detail: { hide: true } })
    .post(
      "/users",
      async (ctx) => {
        const { actor, body } = ctx;
        const values = { email: body.email, role: body.role };
        if (!ROLES.includes(body.role as Role)) return render(actor, { values, errors: { role: "Choose a role from the list." } }, 400);
        try {
          const u = await createUser(deps, { email: body.email, password: body.password, role: body.role as Role });
          audit(deps, actor, "user.created", u.id, { email: u.email, role: u.role }, requestIp(ctx));
          return render(actor, { message: `User ${u.email} created.` });
        } catch (e) {
          if (!(e instanceof DomainError) || e.status >= 500) throw e;
          const field = e.code === "weak_password" ? "password" : "email";
          return render(actor, { values, errors: { [field]: e.message } }, e.status);
        }
      },
      { auth: "admin", body: t.Object({ email: t.String({ maxLength: 300 }), password: t.String({ maxLength: 1024 }), role: t.String({ maxLength: 16 }) }, { additionalProperties: false }), detail: { hide: true } },
    )
    .post(
      "/users/:id",
      async (ctx) => {
        const { actor, params, body } = ctx;
        const patch: { role?: Role; disabled?: boolean } = {};
        if (body.role !== undefined) {
          if (!ROLES.includes(body.role as Role)) return render(actor, { rowError: { id: params.id, message: "Choose a role from the list." } }, 400);
          patch.role = body.role as Role;
        }
        if (body.disabled !== undefined) patch.disabled = body.disabled === "true";
        try {
          const u = await updateUser(deps, params.id, patch);
          audit(deps, actor, "user.updated", u.id, patch, requestIp(ctx));
          return seeOther("/users");
        } catch (e) {
          if (!(e instanceof DomainError) || e.status >= 500) throw e;
          return render(actor, { rowError: { id: params.id, message: e.message } }, e.status);
        }
      },
      { auth: "admin", params: Id, body: t.Object({ role: t.Optional(t.String({ maxLength: 16 })), disabled: t.Optional(oneOf(["true", "false"])) }, { additionalProperties: false }), detail: { hide: true } },
    )
    .post(
      "/users/:id/delete",
      async (ctx) => {
        const { actor, params } = ctx;
        try {
          const u = await deleteUser(deps, params.id);
          audit(deps, actor, "user.deleted", u.id, { email: u.email }, requestIp(ctx));
          return seeOther("/users");
        } catch (e) {
          if (!(e instanceof DomainError) || e.status >= 500) throw e;
          return render(actor, { rowError: { id: params.id, message: e.message } }, e.status);
        }
      },
      { auth: "admin", params: Id, detail: { hide: true } },
    );
}
