// /audit (admins): who did what, to what, when and from where; newest first, 50 a page.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import { authMacro } from "../../http/plugins/auth";
import { html } from "../../../views/html";
import { empty, page, time } from "../../../views/ui";
import { listUsers } from "../users/users.service";
import { listAudit } from "./audit.service";

export function auditPages(deps: AppDeps) {
  return new Elysia({ name: "audit-pages" }).use(authMacro).get(
    "/audit",
    ({ actor, query }) => {
      const { items, nextCursor } = listAudit(deps, { limit: 50, cursor: query.before ? Number(query.before) : undefined });
      const emails = new Map(listUsers(deps).map((u) => [u.id, u.email]));
      return page(
        actor,
        "Audit log",
        "/audit",
        html`<div class="page-head"><h1>Audit log</h1></div>
<section class="card">
${
  items.length
    ? html`<div class="table-wrap"><table><thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">From</th><th scope="col">Detail</th></tr></thead>
<tbody>${items.map(
        (e) => html`<tr><td>${time(Date.parse(e.at))}</td><td>${e.actorId ? (emails.get(e.actorId) ?? e.actorId) : html`<span class="muted">${e.actorType}</span>`}</td>
<td><code>${e.action}</code></td><td>${e.target ? html`<code>${e.target}</code>` : ""}</td><td>${e.ip ?? ""}</td>
<td class="small">${e.detail ? Object.entries(e.detail).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(" · ") : ""}</td></tr>`,
      )}</tbody></table></div>`
    : empty("Nothing recorded yet.")
}
${query.before || nextCursor ? html`<nav class="actions" aria-label="Pages">${query.before ? html`<a class="button secondary" href="/audit">Newest</a>` : ""}${nextCursor ? html`<a class="button secondary" href="/audit?before=${nextCursor}">Older entries</a>` : ""}</nav>` : ""}
</section>`,
      );
    },
    { auth: "admin", query: t.Object({ before: t.Optional(t.String({ pattern: "^[0-9]{1,15}$" })) }, { additionalProperties: false }), detail: { hide: true } },
  );
}
