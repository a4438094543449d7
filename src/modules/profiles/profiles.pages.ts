// /profiles: persistent browser profiles — the list, a create form, an import form (multipart
// upload of a tar or tar.gz), and one profile's page with its versions (restore), export and
// delete. Same ProfileService and the same visibility as /api/v1/profiles: members see and
// change their own, viewers read all, admins change any. A refusal (bad name, bad archive, a
// profile held by a persisting session) is shown on the page and nothing is stored.
import { wholeNumber } from "../../http/strict-object";
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { DomainError } from "../../lib/errors";
import { html, type SafeHtml } from "../../../views/html";
import { badge, empty, formatBytes, input, notice, page, seeOther, time, type FieldErrors } from "../../../views/ui";
import { audit } from "../audit/audit.service";
import { roleRank } from "../users/users.service";
import { ownerOf } from "../sessions/sessions.model";
import { storageOf } from "./session-storage";
import type { ProfileService, PublicProfile } from "./profiles.service";

interface FormState {
  values?: Record<string, string | undefined>;
  errors?: FieldErrors;
}

interface ListState {
  create?: FormState;
  import?: FormState;
  message?: string;
}

const isMember = (a: Actor) => roleRank(a.role) >= roleRank("member");
const readAll = (a: Actor) => a.role === "admin" || a.role === "viewer";
const NAME_HINT = "Letters, digits, dot, dash and underscore; starts with a letter or digit.";

function heldBy(p: PublicProfile): SafeHtml {
  return p.lockedBy ? html`<a href="/sessions/${p.lockedBy}"><code>${p.lockedBy}</code></a>` : html`<span class="muted">—</span>`;
}

function listPage(profiles: PublicProfile[], actor: Actor, s: ListState): SafeHtml {
  const c = s.create ?? {};
  const im = s.import ?? {};
  return html`<div class="page-head"><h1>Profiles</h1></div>
${notice(s.message, true)}
<section class="card"><h2>${readAll(actor) ? "All profiles" : "Your profiles"}</h2>
${
  profiles.length
    ? html`<div class="table-wrap"><table class="profiles"><thead><tr><th scope="col">Name</th><th scope="col">Description</th><th scope="col">Size</th><th scope="col">Versions</th><th scope="col">Last used</th><th scope="col">Held by</th></tr></thead>
<tbody>${profiles.map(
        (p) => html`<tr id="profile-${p.name}"><td><a href="/profiles/${p.id}">${p.name}</a></td><td class="wrap">${p.description || html`<span class="muted">—</span>`}</td>
<td>${p.currentVersion === null ? html`<span class="muted">empty</span>` : formatBytes(p.size)}</td><td>${p.versions}</td>
<td>${p.lastUsedAt ? time(Date.parse(p.lastUsedAt)) : html`<span class="muted">never</span>`}</td><td>${heldBy(p)}</td></tr>`,
      )}</tbody></table></div>`
    : empty("No profiles yet.", isMember(actor) ? "Create an empty one below and attach it to a session with persist: true, or import an exported archive." : "")
}
</section>
${
  isMember(actor)
    ? html`<div class="two-col">
<section class="card"><h2>New profile</h2>
<form method="post" action="/profiles" novalidate>
${notice(c.errors?.form, true)}
${input({ name: "name", label: "Name", value: c.values?.name, error: c.errors?.name, hint: NAME_HINT, required: true, attrs: html` maxlength="64" autocomplete="off"` })}
${input({ name: "description", label: "Description (optional)", value: c.values?.description, error: c.errors?.description, attrs: html` maxlength="1000" autocomplete="off"` })}
<div class="actions"><button type="submit">Create profile</button></div>
</form></section>
<section class="card"><h2>Import a profile</h2>
<form method="post" action="/profiles/import" enctype="multipart/form-data" novalidate>
${notice(im.errors?.form, true)}
${input({ name: "import-name", label: "Name", value: im.values?.name, error: im.errors?.name, hint: NAME_HINT, required: true, attrs: html` maxlength="64" autocomplete="off"` })}
${input({ name: "import-description", label: "Description (optional)", value: im.values?.description, error: im.errors?.description, attrs: html` maxlength="1000" autocomplete="off"` })}
${input({ name: "archive", label: "Archive", type: "file", error: im.errors?.archive, hint: "A tar or tar.gz of a user-data-dir, as exported.", required: true, attrs: html` accept=".tar,.tar.gz,.tgz,application/gzip,application/x-tar"` })}
<div class="actions"><button type="submit">Import profile</button></div>
</form></section>
</div>`
    : ""
}`;
}

function detailPage(profiles: ProfileService, p: PublicProfile, canWrite: boolean, message?: { text: string; bad: boolean }): SafeHtml {
  const row = profiles.find(p.id)!;
  const versions = profiles.versions(row);
  return html`<p class="crumbs"><a href="/profiles">Profiles</a> /</p>
<div class="page-head"><h1>Profile ${p.name}</h1>
${
  canWrite
    ? html`<div class="actions">${p.currentVersion !== null ? html`<a class="button secondary" href="/api/v1/profiles/${p.id}/export" download>Export current version</a>` : ""}
<form method="post" action="/profiles/${p.id}/delete" class="inline" data-confirm="Delete the profile “${p.name}” and all its versions? This cannot be undone."><button type="submit" class="danger">Delete profile</button></form></div>`
    : ""
}</div>
${message ? notice(message.text, message.bad) : ""}
<section class="card"><dl class="props">
<dt>Description</dt><dd>${p.description || html`<span class="muted">—</span>`}</dd>
<dt>Current version</dt><dd>${p.currentVersion ?? html`<span class="muted">none yet: use it in a session with persist: true</span>`}</dd>
<dt>Size</dt><dd>${formatBytes(p.size)} stored · ${formatBytes(p.contentBytes)} of files</dd>
<dt>Held by</dt><dd>${heldBy(p)}${p.lockedBy ? html` <span class="muted small">(a persisting session: delete and restore are refused until it ends)</span>` : ""}</dd>
<dt>Last used</dt><dd>${p.lastUsedAt ? time(Date.parse(p.lastUsedAt)) : html`<span class="muted">never</span>`}</dd>
<dt>Created</dt><dd>${time(Date.parse(p.createdAt))}</dd>
<dt>Updated</dt><dd>${time(Date.parse(p.updatedAt))}</dd>
</dl></section>
<section class="card"><h2>Versions</h2>
${
  versions.length
    ? html`<div class="table-wrap"><table><thead><tr><th scope="col">Version</th><th scope="col">Saved</th><th scope="col">Source</th><th scope="col">Size</th><th scope="col">Files</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${versions.map(
        (v) => html`<tr id="version-${v.version}"><td>${v.version}${v.current ? html` ${badge("current")}` : ""}</td><td>${time(Date.parse(v.createdAt))}</td>
<td>${v.source}${v.sessionId ? html` <a href="/sessions/${v.sessionId}" class="small"><code>${v.sessionId}</code></a>` : ""}</td><td>${formatBytes(v.size)}</td><td>${v.files}</td>
<td class="actions-cell">${
          canWrite
            ? html`<a class="button secondary small" href="/api/v1/profiles/${p.id}/export?version=${v.version}" download aria-label="Export version ${v.version}">Export</a>
${v.current ? "" : html`<form method="post" action="/profiles/${p.id}/versions/${v.version}/restore" class="inline" data-confirm="Make version ${v.version} current again? It is saved as a new version."><button type="submit" class="secondary small" aria-label="Restore version ${v.version}">Restore</button></form>`}`
            : ""
        }</td></tr>`,
      )}</tbody></table></div>`
    : empty("No versions yet.", "A version is saved when a session that attached this profile with persist: true ends, or by an import.")
}
</section>`;
}

const Params = t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) });
const CreateForm = t.Object({ name: t.Optional(t.String({ maxLength: 200 })), description: t.Optional(t.String({ maxLength: 2000 })) }, { additionalProperties: false });
const ImportForm = t.Object(
  { "import-name": t.Optional(t.String({ maxLength: 200 })), "import-description": t.Optional(t.String({ maxLength: 2000 })), archive: t.Optional(t.File()) },
  { additionalProperties: false },
);

/** Which field a service refusal is about. */
function fieldOf(e: DomainError): string {
  if (e.code === "invalid_name" || e.code === "profile_exists") return "name";
  if (e.code?.startsWith("archive")) return "archive";
  return "form";
}

export function profilePages(deps: AppDeps) {
  const { profiles } = storageOf(deps);
  const visibleFor = (a: Actor, id: string, write: boolean) => profiles.visible(id, { ownerId: ownerOf(a).id, seeAll: write ? a.role === "admin" : readAll(a) });
  const canWrite = (a: Actor, p: PublicProfile) => {
    if (!isMember(a)) return false;
    try {
      visibleFor(a, p.id, true);
      return true;
    } catch {
      return false;
    }
  };
  const list = (a: Actor) => profiles.list(readAll(a) ? undefined : (ownerOf(a).id ?? "")).map((p) => profiles.toPublic(p));
  const renderList = (a: Actor, s: ListState, status = 200) => page(a, "Profiles", "/profiles", listPage(list(a), a, s), { status });
  const renderDetail = (a: Actor, id: string, message?: { text: string; bad: boolean }, status = 200) => {
    const p = profiles.toPublic(visibleFor(a, id, false));
    return page(a, `Profile ${p.name}`, "/profiles", detailPage(profiles, p, canWrite(a, p), message), { status });
  };
  const refused = (e: unknown): e is DomainError => e instanceof DomainError && e.status < 500;

  return new Elysia({ name: "profile-pages" })
    .use(authMacro)
    .get("/profiles", ({ actor }) => renderList(actor, {}), { auth: "viewer", detail: { hide: true } })
    .post(
      "/profiles",
      (ctx) => {
        const { actor, body } = ctx;
        const values = { name: (body.name ?? "").trim(), description: (body.description ?? "").trim() };
        const errors: FieldErrors = {};
        if (!values.name) errors.name = "Give the profile a name.";
        if (values.description.length > 1000) errors.description = "Use at most 1000 characters.";
        if (Object.values(errors).some(Boolean)) return renderList(actor, { create: { values, errors } }, 400);
        try {
          const p = profiles.create(ownerOf(actor), values);
          audit(deps, actor, "profile.created", p.id, { name: p.name }, requestIp(ctx));
          return seeOther(`/profiles#profile-${p.name}`);
        } catch (e) {
          if (!refused(e)) throw e;
          return renderList(actor, { create: { values, errors: { [fieldOf(e)]: e.message } } }, e.status);
        }
      },
      { auth: "member", body: CreateForm, detail: { hide: true } },
    )
    .post(
      "/profiles/import",
      async (ctx) => {
        const { actor, body } = ctx;
        const values = { name: (body["import-name"] ?? "").trim(), description: (body["import-description"] ?? "").trim() };
        const errors: FieldErrors = {};
        const file = body.archive;
        const max = profiles.limits.maxTotalBytes;
        if (!values.name) errors.name = "Give the profile a name.";
        if (values.description.length > 1000) errors.description = "Use at most 1000 characters.";
        if (!file || file.size === 0) errors.archive = "Choose a tar or tar.gz archive.";
        else if (file.size > max) errors.archive = `The archive is larger than ${formatBytes(max)}.`;
        if (Object.values(errors).some(Boolean)) return renderList(actor, { import: { values, errors } }, 400);
        try {
          const p = await profiles.importArchive(ownerOf(actor), values, file!.stream());
          audit(deps, actor, "profile.imported", p.id, { name: p.name, bytes: file!.size }, requestIp(ctx));
          return seeOther(`/profiles/${p.id}`);
        } catch (e) {
          if (!refused(e)) throw e;
          return renderList(actor, { import: { values, errors: { [fieldOf(e)]: e.message } } }, e.status);
        }
      },
      { auth: "member", body: ImportForm, detail: { hide: true } },
    )
    .get("/profiles/:id", ({ actor, params }) => renderDetail(actor, params.id), { auth: "viewer", params: Params, detail: { hide: true } })
    .post(
      "/profiles/:id/delete",
      async (ctx) => {
        const { actor, params } = ctx;
        const p = visibleFor(actor, params.id, true);
        try {
          await profiles.delete(p);
        } catch (e) {
          if (!refused(e)) throw e;
          return renderDetail(actor, p.id, { text: e.message, bad: true }, e.status);
        }
        audit(deps, actor, "profile.deleted", p.id, { name: p.name }, requestIp(ctx));
        return seeOther("/profiles");
      },
      { auth: "member", params: Params, detail: { hide: true } },
    )
    .post(
      "/profiles/:id/versions/:version/restore",
      async (ctx) => {
        const { actor, params } = ctx;
        const p = visibleFor(actor, params.id, true);
        try {
          const v = await profiles.restore(p, params.version);
          audit(deps, actor, "profile.restored", p.id, { name: p.name, from: params.version, version: v.version }, requestIp(ctx));
          return seeOther(`/profiles/${p.id}#version-${v.version}`);
        } catch (e) {
          if (!refused(e)) throw e;
          return renderDetail(actor, p.id, { text: e.message, bad: true }, e.status);
        }
      },
      { auth: "member", params: t.Object({ id: t.String({ minLength: 1, maxLength: 64 }), version: wholeNumber("version", 1, 1e9) }), detail: { hide: true } },
    );
}
