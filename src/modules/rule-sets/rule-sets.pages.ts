// /rule-sets: stored interception rules — the list (built-in presets first), one set's page
// with its rules as JSON and its versions, and for admins create, edit (rules as a JSON
// textarea) and delete. Same service as /api/v1/rule-sets: a refusal (bad JSON, a bad rule named
// by its index, a taken name) is shown next to the field and nothing is stored.
import { wholeNumber } from "../../http/strict-object";
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { DomainError } from "../../lib/errors";
import { html, type SafeHtml } from "../../../views/html";
import { badge, empty, input, notice, page, seeOther, time, type FieldErrors } from "../../../views/ui";
import { audit } from "../audit/audit.service";
import { createRuleSet, deleteRuleSet, getRuleSet, listRuleSets, listVersions, updateRuleSet, type PublicRuleSet, type RuleSetWithRules } from "./rule-sets.service";

interface FormState {
  values?: Record<string, string | undefined>;
  errors?: FieldErrors;
}

const NAME_HINT = "Letters, digits, dot, dash and underscore; starts with a letter or digit.";
const RULES_HINT =
  'A JSON list of { "match": { "urlPattern"?, "resourceTypes"?, "methods"? }, "action": { "type": "block" | "mock" | "modifyRequestHeaders" | "modifyResponseHeaders" | "redirect", … } }. The first matching block, mock or redirect decides; header rewrites before it also apply.';
const EXAMPLE = JSON.stringify([{ match: { urlPattern: "*://*.doubleclick.net/*" }, action: { type: "block" } }], null, 2);
const isAdmin = (a: Actor) => a.role === "admin";
const when = (v: string | null) => (v ? time(Date.parse(v)) : html`<span class="muted">built in</span>`);

function textarea(o: { name: string; label: string; value?: string; error?: string; hint?: string; rows?: number }): SafeHtml {
  const ids = [o.hint ? `${o.name}-hint` : "", o.error ? `${o.name}-error` : ""].filter(Boolean).join(" ");
  return html`<div class="field"><label for="f-${o.name}">${o.label}</label>
<textarea id="f-${o.name}" name="${o.name}" rows="${o.rows ?? 14}" spellcheck="false" autocomplete="off"${ids ? html` aria-describedby="${ids}"` : ""}${o.error ? html` aria-invalid="true"` : ""}>${o.value ?? ""}</textarea>
${o.hint ? html`<p class="hint" id="${o.name}-hint">${o.hint}</p>` : ""}${o.error ? html`<p class="error" id="${o.name}-error">${o.error}</p>` : ""}</div>`;
}

function setForm(action: string, submit: string, s: FormState, current?: RuleSetWithRules): SafeHtml {
  const v = s.values ?? {};
  const e = s.errors ?? {};
  return html`<form method="post" action="${action}" novalidate>
${notice(e.form, true)}
${input({ name: "name", label: "Name", value: v.name ?? current?.name, error: e.name, hint: NAME_HINT, required: true, attrs: html` maxlength="64" autocomplete="off"` })}
${input({ name: "description", label: "Description (optional)", value: v.description ?? current?.description, error: e.description, attrs: html` maxlength="1000" autocomplete="off"` })}
${textarea({ name: "rules", label: "Rules (JSON)", value: v.rules ?? (current ? JSON.stringify(current.rules, null, 2) : EXAMPLE), error: e.rules, hint: RULES_HINT })}
<div class="actions"><button type="submit">${submit}</button></div>
</form>`;
}

function listPage(sets: PublicRuleSet[], actor: Actor, create: FormState): SafeHtml {
  return html`<div class="page-head"><h1>Rule sets</h1></div>
<section class="card"><h2>All rule sets</h2>
<p class="muted small">Apply them to a session with <code>ruleSets: ["name", …]</code> when creating it, or later with <code>BrowserGrid.applyRuleSets</code>.</p>
${
  sets.length
    ? html`<div class="table-wrap"><table class="rule-sets"><thead><tr><th scope="col">Name</th><th scope="col">Description</th><th scope="col">Rules</th><th scope="col">Version</th><th scope="col">Updated</th></tr></thead>
<tbody>${sets.map(
        (r) => html`<tr id="rule-set-${r.name}"><td><a href="/rule-sets/${r.id}">${r.name}</a>${r.builtIn ? html` ${badge("built-in")}` : ""}</td><td class="wrap">${r.description || html`<span class="muted">—</span>`}</td>
<td>${r.ruleCount}</td><td>${r.version}</td><td>${when(r.updatedAt)}</td></tr>`,
      )}</tbody></table></div>`
    : empty("No rule sets.")
}
</section>
${isAdmin(actor) ? html`<section class="card"><h2>New rule set</h2>${setForm("/rule-sets", "Create rule set", create)}</section>` : ""}`;
}

function detailPage(db: AppDeps["db"], set: RuleSetWithRules, actor: Actor, edit: FormState, message?: string): SafeHtml {
  const versions = listVersions(db, set.id);
  const latest = versions.find((v) => v.current)?.version ?? set.version;
  const editable = isAdmin(actor) && !set.builtIn;
  return html`<p class="crumbs"><a href="/rule-sets">Rule sets</a> /</p>
<div class="page-head"><h1>Rule set ${set.name}${set.builtIn ? html` ${badge("built-in")}` : ""}</h1>
${
  editable
    ? html`<div class="actions"><form method="post" action="/rule-sets/${set.id}/delete" class="inline" data-confirm="Delete the rule set “${set.name}” and all its versions?"><button type="submit" class="danger">Delete rule set</button></form></div>`
    : ""
}</div>
${notice(message, true)}
<section class="card"><dl class="props">
<dt>Id</dt><dd><code>${set.id}</code></dd>
<dt>Description</dt><dd>${set.description || html`<span class="muted">—</span>`}</dd>
<dt>Version</dt><dd>${set.version}${set.version !== latest ? html` <span class="muted">(an older version; the current one is ${latest})</span>` : ""}</dd>
<dt>Rules</dt><dd>${set.ruleCount}</dd>
<dt>Updated</dt><dd>${when(set.updatedAt)}</dd>
</dl></section>
<section class="card"><h2>Rules of version ${set.version}</h2>
<pre id="rules-json"><code>${JSON.stringify(set.rules, null, 2)}</code></pre></section>
<section class="card"><h2>Versions</h2>
<div class="table-wrap"><table><thead><tr><th scope="col">Version</th><th scope="col">Saved</th><th scope="col">Rules</th></tr></thead>
<tbody>${versions.map(
    (v) => html`<tr id="version-${v.version}"><td><a href="/rule-sets/${set.id}?version=${v.version}">${v.version}</a>${v.current ? html` ${badge("current")}` : ""}</td><td>${when(v.createdAt)}</td><td>${v.ruleCount}</td></tr>`,
  )}</tbody></table></div></section>
${
  editable
    ? html`<section class="card"><h2>Edit</h2><p class="muted small">Saving changed rules makes version ${latest + 1}; running sessions keep the version they run with.</p>
${setForm(`/rule-sets/${set.id}`, "Save rule set", edit, set.version === latest ? set : getRuleSet(db, set.id))}</section>`
    : set.builtIn
      ? html`<p class="muted">Built-in rule sets cannot be changed; copy the rules into a new set to adapt them.</p>`
      : ""
}`;
}

/** Which field a service refusal is about. */
function fieldOf(e: DomainError): string {
  if (e.code === "invalid_name" || e.code === "rule_set_exists") return "name";
  if (/description/.test(e.message)) return "description";
  if (e.code === "invalid_rule" || e.code === "too_many_rules" || e.code === "rule_set_too_large") return "rules";
  return "form";
}

/** The textarea's JSON, or an error message for it. */
function parseRules(text: string | undefined): { rules?: unknown; error?: string } {
  if (!text?.trim()) return { error: 'Enter the rules as a JSON list (use [] for none).' };
  try {
    return { rules: JSON.parse(text) };
  } catch (err) {
    return { error: `The rules are not valid JSON: ${(err as Error).message}` };
  }
}

const Params = t.Object({ id: t.String({ minLength: 1, maxLength: 128 }) });
const Form = t.Object(
  { name: t.Optional(t.String({ maxLength: 200 })), description: t.Optional(t.String({ maxLength: 2000 })), rules: t.Optional(t.String({ maxLength: 9 * 1024 * 1024 })) },
  { additionalProperties: false },
);

export function ruleSetPages(deps: AppDeps) {
  const { db } = deps;
  const refused = (e: unknown): e is DomainError => e instanceof DomainError && e.status < 500 && e.status !== 404;
  const renderList = (a: Actor, create: FormState = {}, status = 200) => page(a, "Rule sets", "/rule-sets", listPage(listRuleSets(db), a, create), { status });
  const renderDetail = (a: Actor, id: string, o: { version?: number; edit?: FormState; message?: string; status?: number } = {}) => {
    const set = getRuleSet(db, id, o.version);
    return page(a, `Rule set ${set.name}`, "/rule-sets", detailPage(db, set, a, o.edit ?? {}, o.message), { status: o.status ?? 200 });
  };
  const values = (body: { name?: string; description?: string; rules?: string }) => ({ name: (body.name ?? "").trim(), description: (body.description ?? "").trim(), rules: body.rules ?? "" });

  return new Elysia({ name: "rule-set-pages" })
    .use(authMacro)
    .get("/rule-sets", ({ actor }) => renderList(actor), { auth: "member", detail: { hide: true } })
    .post(
      "/rule-sets",
      (ctx) => {
        const v = values(ctx.body);
        const parsed = parseRules(v.rules);
        const errors: FieldErrors = { rules: parsed.error, name: v.name ? undefined : "Give the rule set a name." };
        if (errors.rules || errors.name) return renderList(ctx.actor, { values: v, errors }, 400);
        try {
          const s = createRuleSet(db, { name: v.name, description: v.description, rules: parsed.rules });
          audit(deps, ctx.actor, "rule_set.created", s.id, { name: s.name, rules: s.ruleCount }, requestIp(ctx));
          return seeOther(`/rule-sets/${s.id}`);
        } catch (e) {
          if (!refused(e)) throw e;
          return renderList(ctx.actor, { values: v, errors: { [fieldOf(e)]: e.message } }, e.status);
        }
      },
      { auth: "admin", body: Form, detail: { hide: true } },
    )
    .get("/rule-sets/:id", ({ actor, params, query }) => renderDetail(actor, params.id, { version: query.version }), {
      auth: "member",
      params: Params,
      query: t.Object({ version: t.Optional(wholeNumber("version", 1, 1e9)) }, { additionalProperties: false }),
      detail: { hide: true },
    })
    .post(
      "/rule-sets/:id",
      (ctx) => {
        const v = values(ctx.body);
        const parsed = parseRules(v.rules);
        if (parsed.error) return renderDetail(ctx.actor, ctx.params.id, { edit: { values: v, errors: { rules: parsed.error } }, status: 400 });
        try {
          const r = updateRuleSet(db, ctx.params.id, { name: v.name, description: v.description, rules: parsed.rules }, "replace");
          audit(deps, ctx.actor, "rule_set.updated", r.set.id, { name: r.set.name, version: r.set.version, rulesChanged: r.changedRules }, requestIp(ctx));
          return seeOther(`/rule-sets/${r.set.id}`);
        } catch (e) {
          if (!refused(e)) throw e;
          return renderDetail(ctx.actor, ctx.params.id, { edit: { values: v, errors: { [fieldOf(e)]: e.message } }, status: e.status });
        }
      },
      { auth: "admin", params: Params, body: Form, detail: { hide: true } },
    )
    .post(
      "/rule-sets/:id/delete",
      (ctx) => {
        try {
          const s = deleteRuleSet(db, ctx.params.id);
          audit(deps, ctx.actor, "rule_set.deleted", s.id, { name: s.name }, requestIp(ctx));
          return seeOther("/rule-sets");
        } catch (e) {
          if (!refused(e)) throw e;
          return renderDetail(ctx.actor, ctx.params.id, { message: e.message, status: e.status });
        }
      },
      { auth: "admin", params: Params, detail: { hide: true } },
    );
}
