// /api-keys: your keys (admins: everyone's), a create form whose answer shows the full key
// once — in the page body, never in a URL — and revoke buttons.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { DomainError } from "../../lib/errors";
import { html, type SafeHtml } from "../../../views/html";
import { badge, copyable, empty, input, notice, page, seeOther, select, time, type FieldErrors } from "../../../views/ui";
import { audit } from "../audit/audit.service";
import { listUsers, roleRank, ROLES } from "../users/users.service";
import { createApiKey, listApiKeys, revokeApiKey } from "./api-keys.service";

interface FormState {
  values?: Record<string, string | undefined>;
  errors?: FieldErrors;
  created?: { name: string; key: string };
  message?: string;
}

function keysPage(deps: AppDeps, actor: Actor, s: FormState): SafeHtml {
  const admin = actor.role === "admin";
  const keys = admin ? listApiKeys(deps) : actor.userId ? listApiKeys(deps, actor.userId) : [];
  const emails = admin ? new Map(listUsers(deps).map((u) => [u.id, u.email])) : new Map<string, string>();
  const canCreate = roleRank(actor.role) >= roleRank("member") && !!actor.userId;
  const v = s.values ?? {};
  const e = s.errors ?? {};
  const now = (deps.now ?? Date.now)();
  return html`<div class="page-head"><h1>API keys</h1></div>
${
  s.created
    ? html`<section class="card notice" role="status" aria-labelledby="new-key-h"><h2 id="new-key-h">Key “${s.created.name}” created</h2>
<p><strong>Copy it now: it is shown this once.</strong> BrowserGrid keeps only a hash.</p>
${copyable("new-key", s.created.key, "API key")}
<p class="hint">Use it as <code>Authorization: Bearer …</code>, or see <a href="/quickstart">Connect</a> for Playwright and Puppeteer.</p></section>`
    : ""
}
${notice(s.message, true)}
${
  canCreate
    ? html`<section class="card"><h2>New key</h2>
<form method="post" action="/api-keys" novalidate>
<div class="form-grid">
${input({ name: "name", label: "Name", value: v.name, error: e.name, hint: "What uses it, e.g. “nightly scraper”.", required: true, attrs: html` maxlength="100" autocomplete="off"` })}
${select({ name: "role", label: "Role", value: v.role ?? actor.role, error: e.role, options: ROLES.filter((r) => roleRank(r) <= roleRank(actor.role)).map((r) => [r, r] as [string, string]), hint: "At most your own role." })}
${input({ name: "expires", label: "Expires on (optional)", type: "date", value: v.expires, error: e.expires, hint: "Empty: never expires." })}
</div>
<div class="actions"><button type="submit">Create key</button></div>
</form></section>`
    : ""
}
<section class="card"><h2>${admin ? "All keys" : "Your keys"}</h2>
${
  keys.length
    ? html`<div class="table-wrap"><table><thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Role</th>${admin ? html`<th scope="col">Owner</th>` : ""}<th scope="col">Last used</th><th scope="col">Expires</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${keys.map(
        (k) => html`<tr id="key-${k.id}"><td>${k.name}</td><td><code>${k.prefix}…</code></td><td>${badge(k.role)}</td>${admin ? html`<td>${emails.get(k.userId) ?? k.userId}</td>` : ""}
<td>${k.lastUsedAt ? time(k.lastUsedAt) : html`<span class="muted">never</span>`}</td><td>${k.expiresAt ? html`${time(k.expiresAt)}${k.expiresAt <= now ? html` ${badge("expired")}` : ""}` : html`<span class="muted">never</span>`}</td>
<td class="actions-cell"><form method="post" action="/api-keys/${k.id}/revoke" class="inline" data-confirm="Revoke the key “${k.name}”? Scripts using it stop working at once."><button type="submit" class="danger small" aria-label="Revoke ${k.name}">Revoke</button></form></td></tr>`,
      )}</tbody></table></div>`
    : empty("No API keys.", canCreate ? "Create one above for scripts, the CLI or AI agents." : "")
}
</section>`;
}

/**
 * The new key waits here for the redirect after the POST (Post/Redirect/Get, so a reload never
 * creates a second key) and is handed out once, to the same login session, within a minute.
 */
const FLASH_TTL_MS = 60_000;
type Flashes = Map<string, { name: string; key: string; until: number }>;

const flashId = (actor: Actor, keyId: string) => `${actor.authSessionId ?? actor.userId}:${keyId}`;

function takeFlash(box: Flashes, actor: Actor, keyId: string | undefined, now: number): { name: string; key: string } | undefined {
  if (!keyId) return undefined;
  for (const [k, v] of box) if (v.until <= now) box.delete(k);
  const f = box.get(flashId(actor, keyId));
  box.delete(flashId(actor, keyId));
  return f && { name: f.name, key: f.key };
}

/** A date from the form → end of that day, UTC. */
function parseExpiry(raw: string | undefined, now: number): { ms: number | null; error?: string } {
  const s = (raw ?? "").trim();
  if (!s) return { ms: null };
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s) || Number.isNaN(Date.parse(`${s}T23:59:59Z`))) return { ms: null, error: "Use a date such as 2030-01-31." };
  const ms = Date.parse(`${s}T23:59:59Z`);
  if (ms <= now) return { ms: null, error: "Choose a date in the future." };
  return { ms };
}

export function apiKeyPages(deps: AppDeps) {
  // Built with the page (once per app, by createApp in boot.ts): new keys waiting for their redirect.
  const flashes: Flashes = new Map();
  const now = () => (deps.now ?? Date.now)();
  return new Elysia({ name: "api-key-pages" })
    .use(authMacro)
    .get(
      "/api-keys",
      ({ actor, query }) => {
        const created = takeFlash(flashes, actor, query.created, now());
        return page(actor, "API keys", "/api-keys", keysPage(deps, actor, { created }), { headers: { "cache-control": "no-store" } });
      },
      { auth: "viewer", query: t.Object({ created: t.Optional(t.String({ maxLength: 32 })) }, { additionalProperties: false }), detail: { hide: true } },
    )
    .post(
      "/api-keys",
      (ctx) => {
        const { actor, body } = ctx;
        const values = body as Record<string, string | undefined>;
        const errors: FieldErrors = {};
        if (!actor.userId) return page(actor, "API keys", "/api-keys", keysPage(deps, actor, { message: "Static keys cannot own API keys." }), { status: 403 });
        const name = (body.name ?? "").trim();
        if (!name) errors.name = "Give the key a name.";
        else if (name.length > 100) errors.name = "Use at most 100 characters.";
        const role = body.role as (typeof ROLES)[number] | undefined;
        if (role && (!ROLES.includes(role) || roleRank(role) > roleRank(actor.role))) errors.role = "Choose a role up to your own.";
        const exp = parseExpiry(body.expires, now());
        if (exp.error) errors.expires = exp.error;
        if (Object.values(errors).some(Boolean)) return page(actor, "API keys", "/api-keys", keysPage(deps, actor, { values, errors }), { status: 400 });
        try {
          const { row, key } = createApiKey(deps, { userId: actor.userId, role: actor.role }, { name, role, expiresAt: exp.ms });
          audit(deps, actor, "api_key.created", row.id, { name: row.name, role: row.role }, requestIp(ctx));
          flashes.set(flashId(actor, row.id), { name: row.name, key, until: now() + FLASH_TTL_MS });
          return seeOther(`/api-keys?created=${row.id}`);
        } catch (e) {
          if (!(e instanceof DomainError) || e.status >= 500) throw e;
          return page(actor, "API keys", "/api-keys", keysPage(deps, actor, { values, errors: { name: e.message } }), { status: e.status });
        }
      },
      {
        auth: "member",
        body: t.Object({ name: t.Optional(t.String({ maxLength: 200 })), role: t.Optional(t.String({ maxLength: 16 })), expires: t.Optional(t.String({ maxLength: 20 })) }, { additionalProperties: false }),
        detail: { hide: true },
      },
    )
    .post(
      "/api-keys/:id/revoke",
      (ctx) => {
        const { actor, params } = ctx;
        const k = revokeApiKey(deps, params.id, actor.role === "admin" ? undefined : (actor.userId ?? ""));
        audit(deps, actor, "api_key.revoked", k.id, { name: k.name }, requestIp(ctx));
        return seeOther("/api-keys");
      },
      { auth: "member", params: t.Object({ id: t.String({ minLength: 1, maxLength: 32, pattern: "^[A-Za-z0-9]+$" }) }), detail: { hide: true } },
    );
}
