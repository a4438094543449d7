// /deployments: the deployments list (name, current version, runtime, updated) with an upload
// form, and a deployment's page: its manifest, versions with "Make current", an upload form for
// the next version and its secrets (names only; values are write-only). Same service and rules
// as /api/v1/deployments; a refusal is shown next to the form it is about and nothing is stored.
//
// Slots for other modules: `slots.runs(deployment, actor, state)` renders into the deployment
// page's "Runs" section (the runs module puts its Run button, params form and recent runs
// there), and the section's form posts to /deployments/:name/runs, which `slots.triggerRun`
// answers; its refusal is shown in the section, with the params as typed.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { DomainError } from "../../lib/errors";
import { html, type SafeHtml } from "../../../views/html";
import { badge, checkbox, empty, formatBytes, input, notice, page, seeOther, time, type FieldErrors } from "../../../views/ui";
import { roleRank } from "../users/users.service";
import { audit } from "../audit/audit.service";
import type { PublicDeployment } from "./deployments.service";
import type { Manifest } from "./manifest";
import { PARAM_FIELD_PREFIX } from "./params-form";

/** What the Runs section shows again after a refused Run: the params as typed and why. */
export interface RunsSectionState {
  params?: string;
  /** The generated fields as typed (params-form.ts), shown again after a refusal. */
  fields?: Record<string, string>;
  error?: string;
}

/** What the Run form sent: the JSON text box, and the generated fields by name (params-form.ts). */
export interface RunForm {
  paramsText: string;
  fields: Record<string, string>;
}

/** A deployment's runs at a glance, for the list (filled by the runs module). */
export interface DeploymentListStats {
  last: { id: string; status: string; createdAt: number } | null;
  /** Succeeded / (succeeded + failed + timed out), 0–1; null before any run finished. */
  successRate: number | null;
}

export interface DeploymentPageSlots {
  /** The "Schedules" section of a deployment's page (filled by the schedules module). */
  schedules?: (deployment: PublicDeployment, actor: Actor) => SafeHtml;
  /** Each deployment's last run and success rate, by deployment id (the list's columns). */
  listStats?: () => Map<string, DeploymentListStats>;
  /** The "Runs" section of a deployment's page (Run button, params form, recent runs). */
  runs?: (deployment: PublicDeployment, actor: Actor, state: RunsSectionState) => SafeHtml;
  /**
   * Runs the deployment's current version with the Run form's params (the JSON text box and the
   * fields generated from the params schema, `param.<name>`): the run's id, or a DomainError
   * saying what to fix (nothing stored).
   */
  triggerRun?: (deployment: PublicDeployment, actor: Actor, form: RunForm, ip: string) => Promise<string>;
}

/** The generated params fields of a Run form's body (params-form.ts); other keys are ignored. */
function paramFields(body: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (k.startsWith(PARAM_FIELD_PREFIX) && typeof v === "string") out[k] = v;
  return out;
}

const isMember = (a: Actor) => roleRank(a.role) >= roleRank("member");
const BUNDLE_ACCEPT = html` accept=".tar.gz,.tgz,.tar,.zip,application/gzip,application/zip,application/x-tar"`;
const BUNDLE_HINT = "A .tar.gz or .zip with browsergrid.json at its top (docs/deployments.md).";

function uploadForm(action: string, label: string, errors: FieldErrors = {}): SafeHtml {
  return html`<form method="post" action="${action}" enctype="multipart/form-data" novalidate>
${notice(errors.form, true)}
${input({ name: "bundle", label: "Bundle", type: "file", error: errors.bundle, hint: BUNDLE_HINT, required: true, attrs: BUNDLE_ACCEPT, scope: action.replace(/^\//, "").replace(/\W+/g, "-") })}
${checkbox({ name: "activate", label: "Make it the current version", checked: true })}
<div class="actions"><button type="submit">${label}</button></div>
</form>`;
}

function listPage(items: PublicDeployment[], actor: Actor, errors: FieldErrors, stats: Map<string, DeploymentListStats> | null): SafeHtml {
  const none = html`<span class="muted">—</span>`;
  const lastRun = (d: PublicDeployment) => {
    const l = stats?.get(d.id)?.last;
    return l ? html`<a href="/runs/${l.id}">${badge(l.status)}</a> ${time(l.createdAt)}` : none;
  };
  const rate = (d: PublicDeployment) => {
    const r = stats?.get(d.id)?.successRate;
    return r === null || r === undefined ? none : `${Math.round(r * 100)} %`;
  };
  return html`<div class="page-head"><h1>Deployments</h1></div>
<section class="card"><h2>Deployments</h2>
${
  items.length
    ? html`<div class="table-wrap"><table class="deployments"><thead><tr><th scope="col">Name</th><th scope="col">Current version</th><th scope="col">Runtime</th><th scope="col">Versions</th>${stats ? html`<th scope="col">Last run</th><th scope="col">Success</th>` : ""}<th scope="col">Updated</th></tr></thead>
<tbody>${items.map(
        (d) => html`<tr id="deployment-${d.name}"><td><a href="/deployments/${d.name}">${d.name}</a></td><td>${d.currentVersion ?? html`<span class="muted">—</span>`}</td>
<td>${d.runtime ?? html`<span class="muted">—</span>`}</td><td>${d.versions}</td>${stats ? html`<td>${lastRun(d)}</td><td>${rate(d)}</td>` : ""}<td>${time(Date.parse(d.updatedAt))}</td></tr>`,
      )}</tbody></table></div>`
    : empty("No deployments yet.", isMember(actor) ? "Upload a bundle below, or use POST /api/v1/deployments." : "A member can upload one.")
}
</section>
${isMember(actor) ? html`<section class="card"><h2>Deploy a bundle</h2><p class="muted small">The manifest's name says which deployment: a new name creates it, an existing one gets its next version.</p>${uploadForm("/deployments", "Deploy", errors)}</section>` : ""}`;
}

function manifestProps(m: Manifest | null): SafeHtml {
  if (!m) return html`<p class="muted">No current version.</p>`;
  const b = m.browser ?? {};
  const profile = typeof b.profile === "string" ? b.profile : b.profile ? `${b.profile.name}${b.profile.persist ? " (persist)" : ""}` : undefined;
  const dash = html`<span class="muted">default</span>`;
  return html`<dl class="props">
<dt>Runtime</dt><dd>${m.runtime}</dd>
<dt>Entry</dt><dd><code>${m.entry}</code></dd>
<dt>Timeout</dt><dd>${m.timeoutSec !== undefined ? `${m.timeoutSec} s` : dash}</dd>
<dt>Retries</dt><dd>${m.retries ? `${m.retries.max}, ${m.retries.backoffSec} s apart` : dash}</dd>
<dt>Concurrency</dt><dd>${m.concurrency ?? dash}</dd>
<dt>Browser</dt><dd>${[b.pool && `pool ${b.pool}`, b.flavour, profile && `profile ${profile}`, b.proxy && `proxy ${b.proxy}`, b.ruleSets?.length && `rule sets ${b.ruleSets.join(", ")}`, b.viewport && `${b.viewport.width}×${b.viewport.height}`].filter(Boolean).join(" · ") || dash}</dd>
</dl>
<details><summary>browsergrid.json</summary><pre><code>${JSON.stringify(m, null, 2)}</code></pre></details>`;
}

interface DetailState {
  message?: { text: string; bad: boolean };
  uploadErrors?: FieldErrors;
  secretErrors?: FieldErrors;
  secretName?: string;
  runs?: RunsSectionState;
}

function detailPage(deps: AppDeps, d: PublicDeployment, actor: Actor, s: DetailState, slots: DeploymentPageSlots): SafeHtml {
  const svc = deps.deployments;
  const member = isMember(actor);
  const versions = svc.versions(d.id);
  const secrets = member ? svc.secretNames(d.id) : [];
  return html`<p class="crumbs"><a href="/deployments">Deployments</a> /</p>
<div class="page-head"><h1>Deployment ${d.name}</h1>
${actor.role === "admin" ? html`<form method="post" action="/deployments/${d.name}/delete" class="inline" data-confirm="Delete the deployment “${d.name}” with all its versions and secrets? This cannot be undone."><button type="submit" class="danger">Delete deployment</button></form>` : ""}</div>
${s.message ? notice(s.message.text, s.message.bad) : ""}
<section class="card"><h2>Current version ${d.currentVersion ?? ""}</h2>${manifestProps(d.manifest as Manifest | null)}</section>
<section class="card" id="deployment-runs" data-slot="runs"><h2>Runs</h2>${slots.runs ? slots.runs(d, actor, s.runs ?? {}) : html`<p class="muted">Runs of this deployment appear here.</p>`}</section>
${slots.schedules ? html`<section class="card" id="deployment-schedules"><h2>Schedules</h2>${slots.schedules(d, actor)}</section>` : ""}
<section class="card"><h2>Versions</h2>
<div class="table-wrap"><table class="versions"><thead><tr><th scope="col">Version</th><th scope="col">Deployed</th><th scope="col">Runtime</th><th scope="col">Files</th><th scope="col">Size</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${versions.map(
    (v) => html`<tr id="version-${v.version}"><td>${v.version}${v.current ? html` ${badge("current")}` : ""}</td><td>${time(Date.parse(v.createdAt))}</td><td>${String(v.manifest.runtime)}</td>
<td>${v.files}</td><td>${formatBytes(v.size)} <span class="muted small">(${formatBytes(v.unpackedBytes)} unpacked)</span></td>
<td class="actions-cell">${
      member
        ? html`<a class="button secondary small" href="/api/v1/deployments/${d.name}/versions/${v.version}/bundle" download aria-label="Download version ${v.version}">Download</a>
${v.current ? "" : html`<form method="post" action="/deployments/${d.name}/current" class="inline"><input type="hidden" name="version" value="${v.version}"><button type="submit" class="secondary small" aria-label="Make version ${v.version} current">Make current</button></form>`}`
        : ""
    }</td></tr>`,
  )}</tbody></table></div></section>
${member ? html`<section class="card"><h2>Upload a new version</h2>${uploadForm(`/deployments/${d.name}/versions`, "Upload version", s.uploadErrors)}</section>` : ""}
${
  member
    ? html`<section class="card"><h2>Secrets</h2>
<p class="muted small">Given to runs as environment variables; stored encrypted and never shown again.</p>
${
  secrets.length
    ? html`<ul class="secrets">${secrets.map(
        (x) => html`<li id="secret-${x.name}"><code>${x.name}</code> <span class="muted small">updated ${time(Date.parse(x.updatedAt))}</span>
<form method="post" action="/deployments/${d.name}/secrets/${x.name}/delete" class="inline" data-confirm="Delete the secret ${x.name}?"><button type="submit" class="secondary small" aria-label="Delete secret ${x.name}">Delete</button></form></li>`,
      )}</ul>`
    : html`<p class="muted">No secrets.</p>`
}
<form method="post" action="/deployments/${d.name}/secrets" novalidate>
${notice(s.secretErrors?.form, true)}
${input({ name: "name", label: "Name", value: s.secretName, error: s.secretErrors?.name, hint: "Like an environment variable: API_TOKEN. Setting an existing name replaces its value.", required: true, attrs: html` maxlength="64" autocomplete="off"`, scope: "secret" })}
${input({ name: "value", label: "Value", type: "password", error: s.secretErrors?.value, required: true, attrs: html` maxlength="32768" autocomplete="new-password"`, scope: "secret" })}
<div class="actions"><button type="submit">Set secret</button></div>
</form></section>`
    : ""
}`;
}

const Params = t.Object({ name: t.String({ minLength: 1, maxLength: 64 }) });
const UploadForm = t.Object({ bundle: t.Optional(t.File()), activate: t.Optional(t.String({ maxLength: 8 })) }, { additionalProperties: false });

export function deploymentPages(deps: AppDeps, slots: DeploymentPageSlots = {}) {
  const svc = deps.deployments;
  const renderList = (a: Actor, errors: FieldErrors = {}, status = 200) => page(a, "Deployments", "/deployments", listPage(svc.list(), a, errors, slots.listStats?.() ?? null), { status });
  const renderDetail = (a: Actor, name: string, s: DetailState = {}, status = 200) => {
    const d = svc.toPublic(svc.get(name));
    return page(a, `Deployment ${d.name}`, "/deployments", detailPage(deps, d, a, s, slots), { status });
  };
  const refused = (e: unknown): e is DomainError => e instanceof DomainError && e.status < 500 && e.status !== 404;
  const createdBy = (a: Actor) => a.userId ?? a.keyId ?? null;
  const readBundle = async (file: File | undefined, errors: FieldErrors) => {
    if (!file || file.size === 0) errors.bundle = "Choose a .tar.gz or .zip bundle.";
    else if (file.size > deps.config.deploymentBundleMaxBytes) errors.bundle = `The bundle is larger than ${formatBytes(deps.config.deploymentBundleMaxBytes)}.`;
    return errors.bundle ? undefined : new Uint8Array(await file!.arrayBuffer());
  };

  return new Elysia({ name: "deployment-pages" })
    .use(authMacro)
    .get("/deployments", ({ actor }) => renderList(actor), { auth: "viewer", detail: { hide: true } })
    .post(
      "/deployments",
      async (ctx) => {
        const { actor, body } = ctx;
        const errors: FieldErrors = {};
        const bytes = await readBundle(body.bundle, errors);
        if (!bytes) return renderList(actor, errors, 400);
        try {
          const r = await svc.deployArchive(bytes, { activate: body.activate === "on", createdBy: createdBy(actor) });
          audit(deps, actor, r.created ? "deployment.created" : "deployment.version_added", r.deployment.id, { name: r.deployment.name, version: r.version.version, via: "ui" }, requestIp(ctx));
          return seeOther(`/deployments/${r.deployment.name}`);
        } catch (e) {
          if (!refused(e)) throw e;
          return renderList(actor, { bundle: e.message }, e.status);
        }
      },
      { auth: "member", body: UploadForm, detail: { hide: true } },
    )
    .get("/deployments/:name", ({ actor, params }) => renderDetail(actor, params.name), { auth: "viewer", params: Params, detail: { hide: true } })
    .post(
      "/deployments/:name/versions",
      async (ctx) => {
        const { actor, body, params } = ctx;
        const d = svc.get(params.name);
        const errors: FieldErrors = {};
        const bytes = await readBundle(body.bundle, errors);
        if (!bytes) return renderDetail(actor, d.name, { uploadErrors: errors }, 400);
        try {
          const r = await svc.deployArchive(bytes, { activate: body.activate === "on", createdBy: createdBy(actor), expectName: d.name });
          audit(deps, actor, "deployment.version_added", d.id, { name: d.name, version: r.version.version, via: "ui" }, requestIp(ctx));
          return seeOther(`/deployments/${d.name}#version-${r.version.version}`);
        } catch (e) {
          if (!refused(e)) throw e;
          return renderDetail(actor, d.name, { uploadErrors: { bundle: e.message } }, e.status);
        }
      },
      { auth: "member", params: Params, body: UploadForm, detail: { hide: true } },
    )
    .post(
      "/deployments/:name/current",
      (ctx) => {
        const { actor, body, params } = ctx;
        const before = svc.get(params.name);
        try {
          const d = svc.setCurrent(before.id, Number(body.version));
          audit(deps, actor, "deployment.current_changed", d.id, { name: d.name, from: before.currentVersion, to: d.currentVersion, via: "ui" }, requestIp(ctx));
          return seeOther(`/deployments/${d.name}`);
        } catch (e) {
          if (!refused(e)) throw e;
          return renderDetail(actor, before.name, { message: { text: e.message, bad: true } }, e.status);
        }
      },
      { auth: "member", params: Params, body: t.Object({ version: t.String({ pattern: "^[0-9]{1,9}$", maxLength: 9 }) }, { additionalProperties: false }), detail: { hide: true } },
    )
    .post(
      "/deployments/:name/runs",
      async (ctx) => {
        const { actor, body, params } = ctx;
        const d = svc.toPublic(svc.get(params.name));
        if (!slots.triggerRun) return renderDetail(actor, d.name, { message: { text: "Runs are not available on this server.", bad: true } }, 503);
        try {
          return seeOther(`/runs/${await slots.triggerRun(d, actor, { paramsText: body.params ?? "", fields: paramFields(body) }, requestIp(ctx))}`);
        } catch (e) {
          if (!refused(e)) throw e;
          return renderDetail(actor, d.name, { runs: { params: body.params, fields: paramFields(body), error: e.message } }, e.status);
        }
      },
      {
        auth: "member",
        params: Params,
        // The JSON text box, and one field per plain property of the params schema (`param.<name>`).
        body: t.Object({ params: t.Optional(t.String({ maxLength: 70_000 })) }, { additionalProperties: t.String({ maxLength: 10_000 }), maxProperties: 101 }),
        detail: { hide: true },
      },
    )
    .post(
      "/deployments/:name/secrets",
      (ctx) => {
        const { actor, body, params } = ctx;
        const name = (body.name ?? "").trim();
        try {
          const { deployment, created } = svc.putSecret(params.name, name, body.value ?? "");
          audit(deps, actor, created ? "deployment.secret_created" : "deployment.secret_updated", deployment.id, { name: deployment.name, secret: name, via: "ui" }, requestIp(ctx));
          return seeOther(`/deployments/${deployment.name}#secret-${name}`);
        } catch (e) {
          if (!refused(e)) throw e;
          const field = e.code === "invalid_secret_name" ? "name" : e.code === "invalid_secret_value" ? "value" : "form";
          return renderDetail(actor, params.name, { secretErrors: { [field]: e.message }, secretName: name }, e.status);
        }
      },
      { auth: "member", params: Params, body: t.Object({ name: t.Optional(t.String({ maxLength: 200 })), value: t.Optional(t.String({ maxLength: 40_000 })) }, { additionalProperties: false }), detail: { hide: true } },
    )
    .post(
      "/deployments/:name/secrets/:key/delete",
      (ctx) => {
        const { actor, params } = ctx;
        const d = svc.deleteSecret(params.name, params.key);
        audit(deps, actor, "deployment.secret_deleted", d.id, { name: d.name, secret: params.key, via: "ui" }, requestIp(ctx));
        return seeOther(`/deployments/${d.name}`);
      },
      { auth: "member", params: t.Object({ name: t.String({ minLength: 1, maxLength: 64 }), key: t.String({ minLength: 1, maxLength: 64 }) }), detail: { hide: true } },
    )
    .post(
      "/deployments/:name/delete",
      async (ctx) => {
        const { actor, params } = ctx;
        try {
          const d = await svc.delete(params.name);
          audit(deps, actor, "deployment.deleted", d.id, { name: d.name, via: "ui" }, requestIp(ctx));
          return seeOther("/deployments");
        } catch (e) {
          if (!refused(e)) throw e;
          return renderDetail(actor, params.name, { message: { text: e.message, bad: true } }, e.status);
        }
      },
      { auth: "admin", params: Params, detail: { hide: true } },
    );
}
