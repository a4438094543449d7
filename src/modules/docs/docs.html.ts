// /api/docs: the OpenAPI document rendered on the server as a readable page (no CDN, no
// client-side renderer), linked to the raw JSON at /api/openapi.json.
import { html, htmlResponse, type SafeHtml } from "../../../views/html";
import { layout } from "../../../views/layout";

interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string }>;
}
interface OpenApiDoc {
  info?: { title?: string; version?: string; description?: string };
  paths?: Record<string, Record<string, Operation>>;
}

function schemaBlock(schema: unknown): SafeHtml {
  if (!schema) return html``;
  return html`<details><summary>Schema</summary><pre>${JSON.stringify(schema, null, 2)}</pre></details>`;
}

export function renderApiDocs(doc: OpenApiDoc): Response {
  const paths = Object.entries(doc.paths ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const body = html`<h1>${doc.info?.title ?? "API"} <span class="muted">v${doc.info?.version ?? ""}</span></h1>
<p>${doc.info?.description ?? ""}</p>
<p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a>. Authenticate with <code>Authorization: Bearer bg_&lt;id&gt;_&lt;secret&gt;</code>.
Errors look like <code>{"error": {"code": "...", "message": "..."}}</code>.</p>
${paths.map(([path, ops]) =>
  Object.entries(ops).map(
    ([method, op]) => html`<section class="card" id="${method}-${path}">
  <h2><span class="badge ${method.toUpperCase()}">${method.toUpperCase()}</span> <code>${path}</code></h2>
  ${op.summary ? html`<p>${op.summary}</p>` : ""}
  ${op.description ? html`<p class="muted">${op.description}</p>` : ""}
  ${
    op.parameters?.length
      ? html`<table><thead><tr><th>Parameter</th><th>In</th><th>Required</th></tr></thead><tbody>${op.parameters.map(
          (p) => html`<tr><td><code>${p.name}</code></td><td>${p.in}</td><td>${p.required ? "yes" : "no"}</td></tr>`,
        )}</tbody></table>`
      : ""
  }
  ${op.requestBody?.content ? schemaBlock(Object.values(op.requestBody.content)[0]?.schema) : ""}
  ${op.responses ? html`<p class="muted">Responses: ${Object.keys(op.responses).join(", ")}</p>` : ""}
</section>`,
  ),
)}`;
  return htmlResponse(layout({ title: "API reference", user: null }, body));
}
