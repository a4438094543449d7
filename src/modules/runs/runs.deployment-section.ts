// The "Runs" section of a deployment's page (the deployments pages' slots): for members a Run
// button with the params as a JSON object, then the deployment's latest runs. A Run from the
// page is the API's trigger (same validation, `trigger: "ui"`, audited as run.triggered); a
// refusal — params that are not a JSON object or fail the schema — stores nothing and is shown
// next to the params field.
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { BadRequest } from "../../lib/errors";
import { html, type SafeHtml } from "../../../views/html";
import { roleRank } from "../users/users.service";
import { audit } from "../audit/audit.service";
import type { DeploymentListStats, DeploymentPageSlots, RunsSectionState } from "../deployments/deployments.pages";
import type { PublicDeployment } from "../deployments/deployments.service";
import { formProperties, needsJsonBox, paramsFormFields, paramsFromForm } from "../deployments/params-form";
import type { ParamsSchema } from "../deployments/params-schema";
import { runsOf } from "./runs.routes";
import { MAX_PARAMS_BYTES } from "./runs.schema";
import { deploymentRunStats, listRuns } from "./runs.store";
import { runRows } from "./runs.html";

/** Runs listed on a deployment's page; the Runs page lists them all. */
const SECTION_RUNS = 10;

/** Params typed on the page: a JSON object (empty text is `{}`), else a 400 saying what is wrong. */
export function paramsFromText(text: string): Record<string, unknown> {
  if (!text.trim()) return {};
  if (Buffer.byteLength(text) > MAX_PARAMS_BYTES) throw new BadRequest(`The params are larger than ${MAX_PARAMS_BYTES} bytes; pass less.`, "invalid_params");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new BadRequest(`The params are not valid JSON (${(e as Error).message}); write a JSON object such as {"url": "https://example.com"}.`, "invalid_params");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new BadRequest('The params must be a JSON object, such as {"url": "https://example.com"}.', "invalid_params");
  return parsed as Record<string, unknown>;
}

function section(deps: AppDeps, d: PublicDeployment, actor: Actor, s: RunsSectionState): SafeHtml {
  const member = roleRank(actor.role) >= roleRank("member");
  const rows = listRuns(deps.db, { deploymentId: d.id, limit: SECTION_RUNS });
  const schema = (d.manifest as { params?: ParamsSchema } | null)?.params;
  const jsonBox = needsJsonBox(schema);
  const form =
    member && d.currentVersion !== null
      ? html`<form method="post" action="/deployments/${d.name}/runs" novalidate>
${s.error ? html`<p class="notice bad" role="alert" id="run-params-error">${s.error}</p>` : ""}
${paramsFormFields(schema, s.fields ?? {})}
${
  jsonBox
    ? html`<div class="field"><label for="f-run-params">${formProperties(schema).length ? "More params (JSON object)" : "Params (JSON object)"}</label><textarea id="f-run-params" name="params" rows="3" maxlength="65536" spellcheck="false"${s.error ? html` aria-invalid="true" aria-describedby="run-params-error"` : ""}>${s.params ?? "{}"}</textarea><p class="muted small">Checked against the manifest's params schema; its defaults fill in what is left out.${formProperties(schema).length ? " The fields above win over the same keys here." : ""}</p></div>`
    : ""
}
<div class="actions"><button type="submit">Run</button></div></form>`
      : "";
  return html`${form}<div class="table-wrap"><table><thead><tr><th scope="col">Run</th><th scope="col">Deployment</th><th scope="col">Status</th><th scope="col">Trigger</th><th scope="col">Attempt</th><th scope="col">Created</th><th scope="col">Duration</th></tr></thead>
<tbody>${runRows(rows, () => d.name, false)}</tbody></table></div>
${rows.length ? html`<p class="small"><a href="/runs?deployment=${d.name}">All runs of ${d.name}</a></p>` : ""}`;
}

/** The deployments pages' slots filled by the runs module; none where this process has no runs service. */
export function runsDeploymentSlots(deps: AppDeps): DeploymentPageSlots {
  if (!deps.runs) return {};
  return {
    runs: (d, actor, state) => section(deps, d, actor, state),
    listStats: () => {
      const out = new Map<string, DeploymentListStats>();
      for (const [id, s] of deploymentRunStats(deps.db)) out.set(id, { last: s.last, successRate: s.finished ? s.succeeded / s.finished : null });
      return out;
    },
    async triggerRun(d, actor, form, ip) {
      const schema = (d.manifest as { params?: ParamsSchema } | null)?.params;
      const params = { ...paramsFromText(form.paramsText), ...paramsFromForm(schema, form.fields) };
      const run = await runsOf(deps).trigger({ deploymentName: d.name, params, trigger: "ui", createdBy: actor.userId ?? actor.keyId ?? null });
      audit(deps, actor, "run.triggered", run.id, { deployment: d.name, version: run.version, via: "ui" }, ip);
      return run.id;
    },
  };
}
