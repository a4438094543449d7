// /proxies: the stored proxies (members read, admins add, edit and delete). Same service and
// rules as /api/v1/proxies; a refusal is shown next to the field it is about and nothing is
// stored. Password fields are never filled in: on edit, an empty one keeps the stored password.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { DomainError } from "../../lib/errors";
import { html, type SafeHtml } from "../../../views/html";
import { checkbox, empty, input, notice, page, seeOther, time, type FieldErrors } from "../../../views/ui";
import { audit } from "../audit/audit.service";
import { createProxy, deleteProxy, getProxy, listProxies, toPublicProxy, updateProxy, type ProxyInput, type PublicProxy, type RouteInput } from "./proxies.service";

interface FormState {
  values?: Record<string, string | undefined>;
  errors?: FieldErrors;
}

const NAME_HINT = "Letters, digits, dot, dash and underscore; starts with a letter or digit.";
const URL_HINT = "http://host:port, https://host:port or socks5://host:port — credentials here (user:password@host) or in the fields below.";
const ROUTES_HINT = "One route per line, first match wins: domains, then -> and direct or another proxy's name. Example: *.internal.example, example.org -> direct";

function routesText(p: PublicProxy): string {
  return p.routes.map((r) => `${r.domains.join(", ")} -> ${r.via}`).join("\n");
}

/** Textarea lines → routes; a line that is not `domains -> via` gets its message. */
function parseRoutes(text: string): RouteInput[] | string {
  const out: RouteInput[] = [];
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  for (const [i, line] of lines.entries()) {
    const m = /^(.+?)\s*->\s*(\S+)$/.exec(line);
    if (!m) return `Line ${i + 1} must look like "example.com, *.example.com -> direct".`;
    out.push({ domains: m[1]!.split(/[\s,]+/).filter(Boolean), via: m[2]! });
  }
  return out;
}

function fieldOf(e: DomainError): string {
  if (e.code === "invalid_name" || e.code === "proxy_exists") return "name";
  if (e.code === "invalid_proxy_url" || e.code === "unsupported_proxy_scheme" || e.code === "proxy_port_required") return "url";
  if (e.code === "invalid_credentials") return /password/i.test(e.message) && !/user/i.test(e.message) ? "password" : "username";
  if (e.code === "invalid_route" || e.code === "route_loop") return "routes";
  return "form";
}

function textarea(o: { name: string; label: string; value?: string; error?: string; hint?: string }): SafeHtml {
  return html`<div class="field"><label for="f-${o.name}">${o.label}</label>
<textarea id="f-${o.name}" name="${o.name}" rows="4" maxlength="8000"${o.hint ? html` aria-describedby="${o.name}-hint"` : ""}${o.error ? html` aria-invalid="true"` : ""}>${o.value ?? ""}</textarea>
${o.hint ? html`<p class="hint" id="${o.name}-hint">${o.hint}</p>` : ""}${o.error ? html`<p class="error" id="${o.name}-error">${o.error}</p>` : ""}</div>`;
}

function fields(s: FormState, p?: PublicProxy): SafeHtml {
  const v = s.values ?? {};
  const e = s.errors ?? {};
  return html`${notice(e.form, true)}
${input({ name: "name", label: "Name", value: v.name ?? p?.name, error: e.name, hint: NAME_HINT, required: true, attrs: html` maxlength="64" autocomplete="off"` })}
${input({ name: "url", label: "URL", value: v.url ?? p?.url, error: e.url, hint: URL_HINT, required: true, attrs: html` maxlength="2048" autocomplete="off" spellcheck="false"` })}
${input({ name: "username", label: "User name (optional)", value: v.username ?? p?.username ?? undefined, error: e.username, attrs: html` maxlength="255" autocomplete="off"` })}
${input({ name: "password", label: p?.hasPassword ? "New password (empty: keep the stored one)" : "Password (optional)", type: "password", error: e.password, hint: "Stored encrypted; never shown again.", attrs: html` maxlength="255" autocomplete="new-password"` })}
${p?.hasPassword ? checkbox({ name: "clearPassword", label: "Remove the stored password", checked: v.clearPassword === "on" }) : ""}
${textarea({ name: "routes", label: "Routes (optional)", value: v.routes ?? (p ? routesText(p) : ""), error: e.routes, hint: ROUTES_HINT })}`;
}

function listPage(proxies: PublicProxy[], actor: Actor, s: FormState): SafeHtml {
  const admin = actor.role === "admin";
  return html`<div class="page-head"><h1>Proxies</h1></div>
<section class="card"><h2>Stored proxies</h2>
<p class="muted small">Browsers never see these credentials: they talk to BrowserGrid's proxy relay, which adds them upstream. Use a proxy with <code>"proxy": "&lt;name&gt;"</code> when creating a session, or as a pool's default.</p>
${
  proxies.length
    ? html`<div class="table-wrap"><table class="proxies"><thead><tr><th scope="col">Name</th><th scope="col">URL</th><th scope="col">User</th><th scope="col">Password</th><th scope="col">Routes</th><th scope="col">Pool default of</th><th scope="col">Updated</th></tr></thead>
<tbody>${proxies.map(
        (p) => html`<tr id="proxy-${p.name}"><td><a href="/proxies/${p.id}">${p.name}</a></td><td><code>${p.url}</code></td><td>${p.username ?? html`<span class="muted">—</span>`}</td>
<td>${p.hasPassword ? "stored" : html`<span class="muted">none</span>`}</td><td>${p.routes.length ? html`<span class="small">${p.routes.map((r) => `${r.domains.join(", ")} → ${r.via}`).join("; ")}</span>` : html`<span class="muted">—</span>`}</td>
<td>${p.usedBy.pools.length ? p.usedBy.pools.join(", ") : html`<span class="muted">—</span>`}</td><td>${time(Date.parse(p.updatedAt))}</td></tr>`,
      )}</tbody></table></div>`
    : empty("No proxies yet.", admin ? "Add one below." : "An admin can add them.")
}
</section>
${admin ? html`<section class="card"><h2>Add a proxy</h2><form method="post" action="/proxies" novalidate>${fields(s)}<div class="actions"><button type="submit">Add proxy</button></div></form></section>` : ""}`;
}

function detailPage(p: PublicProxy, actor: Actor, s: FormState, message?: string): SafeHtml {
  const admin = actor.role === "admin";
  return html`<p class="crumbs"><a href="/proxies">Proxies</a> /</p>
<div class="page-head"><h1>Proxy ${p.name}</h1>
${admin ? html`<form method="post" action="/proxies/${p.id}/delete" class="inline" data-confirm="Delete the proxy “${p.name}”?"><button type="submit" class="danger">Delete proxy</button></form>` : ""}</div>
${notice(message, true)}
<section class="card"><dl class="props">
<dt>URL</dt><dd><code>${p.url}</code></dd>
<dt>User name</dt><dd>${p.username ?? html`<span class="muted">none</span>`}</dd>
<dt>Password</dt><dd>${p.hasPassword ? "stored (encrypted)" : html`<span class="muted">none</span>`}</dd>
<dt>Routes</dt><dd>${p.routes.length ? html`<ol>${p.routes.map((r) => html`<li><code>${r.domains.join(", ")}</code> → ${r.via}</li>`)}</ol>` : html`<span class="muted">none: everything goes through this proxy</span>`}</dd>
<dt>Pool default of</dt><dd>${p.usedBy.pools.length ? p.usedBy.pools.join(", ") : html`<span class="muted">no pool</span>`}</dd>
<dt>Created</dt><dd>${time(Date.parse(p.createdAt))}</dd>
<dt>Updated</dt><dd>${time(Date.parse(p.updatedAt))}</dd>
</dl></section>
${admin ? html`<section class="card"><h2>Edit</h2><form method="post" action="/proxies/${p.id}" novalidate>${fields(s, p)}<div class="actions"><button type="submit">Save ${p.name}</button></div></form></section>` : ""}`;
}

const Form = t.Object(
  {
    name: t.Optional(t.String({ maxLength: 200 })),
    url: t.Optional(t.String({ maxLength: 2048 })),
    username: t.Optional(t.String({ maxLength: 255 })),
    password: t.Optional(t.String({ maxLength: 255 })),
    clearPassword: t.Optional(t.String({ maxLength: 8 })),
    routes: t.Optional(t.String({ maxLength: 8000 })),
  },
  { additionalProperties: false },
);
const Params = t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) });

/** Form values → service input; `errors` gets the problems found before the service sees them. */
function inputOf(body: typeof Form.static, editing: PublicProxy | null, errors: FieldErrors): ProxyInput & { name: string; url: string } {
  const name = (body.name ?? "").trim();
  const url = (body.url ?? "").trim();
  const username = (body.username ?? "").trim();
  if (!name) errors.name = "Give the proxy a name.";
  if (!url) errors.url = "Enter the proxy's URL.";
  const routes = parseRoutes(body.routes ?? "");
  if (typeof routes === "string") errors.routes = routes;
  const out: ProxyInput & { name: string; url: string } = { name, url, routes: typeof routes === "string" ? [] : routes };
  if (editing ? username !== (editing.username ?? "") : username) out.username = username || null;
  if (body.clearPassword === "on") out.password = null;
  else if (body.password) out.password = body.password;
  return out;
}

export function proxyPages(deps: AppDeps) {
  const { db, installKey } = deps;
  const publicList = () => listProxies(db).map((p) => toPublicProxy(db, p));
  const renderList = (a: Actor, s: FormState, status = 200) => page(a, "Proxies", "/proxies", listPage(publicList(), a, s), { status });
  const renderDetail = (a: Actor, id: string, s: FormState = {}, status = 200, message?: string) => {
    const p = toPublicProxy(db, getProxy(db, id));
    return page(a, `Proxy ${p.name}`, "/proxies", detailPage(p, a, s, message), { status });
  };
  const refused = (e: unknown): e is DomainError => e instanceof DomainError && e.status < 500 && e.status !== 404;
  const kept = (body: typeof Form.static) => ({ ...body, password: undefined });

  return new Elysia({ name: "proxy-pages" })
    .use(authMacro)
    .get("/proxies", ({ actor }) => renderList(actor, {}), { auth: "member", detail: { hide: true } })
    .post(
      "/proxies",
      (ctx) => {
        const { actor, body } = ctx;
        const errors: FieldErrors = {};
        const input = inputOf(body, null, errors);
        if (Object.values(errors).some(Boolean)) return renderList(actor, { values: kept(body), errors }, 400);
        try {
          const p = createProxy(db, installKey, input);
          audit(deps, actor, "proxy.created", p.id, { name: p.name, url: `${p.scheme}://${p.host}:${p.port}`, via: "ui" }, requestIp(ctx));
          return seeOther(`/proxies#proxy-${p.name}`);
        } catch (e) {
          if (!refused(e)) throw e;
          return renderList(actor, { values: kept(body), errors: { [fieldOf(e)]: e.message } }, e.status);
        }
      },
      { auth: "admin", body: Form, detail: { hide: true } },
    )
    .get("/proxies/:id", ({ actor, params }) => renderDetail(actor, params.id), { auth: "member", params: Params, detail: { hide: true } })
    .post(
      "/proxies/:id",
      (ctx) => {
        const { actor, body, params } = ctx;
        const before = toPublicProxy(db, getProxy(db, params.id));
        const errors: FieldErrors = {};
        const input = inputOf(body, before, errors);
        if (Object.values(errors).some(Boolean)) return renderDetail(actor, before.id, { values: kept(body), errors }, 400);
        // The displayed URL (no credentials) unchanged: keep the stored scheme, host and port as they are.
        if (input.url === before.url) delete (input as ProxyInput).url;
        try {
          const p = updateProxy(db, installKey, before.id, input);
          audit(deps, actor, "proxy.updated", p.id, { name: p.name, via: "ui" }, requestIp(ctx));
          return seeOther(`/proxies/${p.id}`);
        } catch (e) {
          if (!refused(e)) throw e;
          return renderDetail(actor, before.id, { values: kept(body), errors: { [fieldOf(e)]: e.message } }, e.status);
        }
      },
      { auth: "admin", params: Params, body: Form, detail: { hide: true } },
    )
    .post(
      "/proxies/:id/delete",
      (ctx) => {
        const { actor, params } = ctx;
        try {
          const p = deleteProxy(db, params.id);
          audit(deps, actor, "proxy.deleted", p.id, { name: p.name, via: "ui" }, requestIp(ctx));
          return seeOther("/proxies");
        } catch (e) {
          if (!refused(e)) throw e;
          return renderDetail(actor, params.id, {}, e.status, e.message);
        }
      },
      { auth: "admin", params: Params, detail: { hide: true } },
    );
}
