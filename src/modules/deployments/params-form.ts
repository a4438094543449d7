// The Run form's fields, generated from a deployment's params schema: one field per top-level
// property whose type is a plain string, number, integer or boolean (an enum becomes a select),
// named `param.<property>`. Properties of other types (objects, arrays) stay in the JSON text
// box beside them. The form's values are turned back into params by the schema's types
// (paramsFromForm); the run's own validation (validateParamsAgainst) then decides, so a value
// the form cannot read as its type is passed on as text and refused there with the field named.
import { html, type SafeHtml } from "../../../views/html";
import type { ParamsSchema } from "./params-schema";

export const PARAM_FIELD_PREFIX = "param.";

type Simple = "string" | "number" | "integer" | "boolean";

/** The property's one plain type (a type list may add "null"), or null when it is not a plain field. */
function simpleType(s: ParamsSchema): Simple | null {
  const types = (Array.isArray(s.type) ? s.type : s.type ? [s.type] : []).filter((t) => t !== "null");
  if (types.length !== 1) return null;
  const t = types[0]!;
  return t === "string" || t === "number" || t === "integer" || t === "boolean" ? t : null;
}

/** The top-level properties the form shows as fields, in the schema's order. */
export function formProperties(schema: ParamsSchema | undefined): [string, ParamsSchema, Simple][] {
  const out: [string, ParamsSchema, Simple][] = [];
  for (const [key, prop] of Object.entries(schema?.properties ?? {})) {
    const t = simpleType(prop);
    if (t) out.push([key, prop, t]);
  }
  return out;
}

/** Whether params may go beyond the plain fields (other property types, or extra properties): the JSON text box is shown then. */
export function needsJsonBox(schema: ParamsSchema | undefined): boolean {
  return Object.keys(schema?.properties ?? {}).length > formProperties(schema).length || schema?.additionalProperties !== false;
}

const shown = (v: unknown) => (v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v));

/** The fields, filled with `values` (what was typed, after a refusal) or the schema's defaults. */
export function paramsFormFields(schema: ParamsSchema | undefined, values: Record<string, string> = {}, scope = "run"): SafeHtml {
  const required = new Set(schema?.required ?? []);
  return html`${formProperties(schema).map(([key, prop, type], i) => {
    const id = `${scope}-p${i}`;
    const name = PARAM_FIELD_PREFIX + key;
    const value = values[name] ?? shown(prop.default);
    const label = html`${prop.title ?? key}${required.has(key) ? "" : html` <span class="muted small">(optional)</span>`}`;
    const hint = prop.description ? html`<p class="hint" id="f-${id}-hint">${prop.description}</p>` : "";
    const described = prop.description ? html` aria-describedby="f-${id}-hint"` : "";
    let control: SafeHtml;
    if (prop.enum || type === "boolean") {
      // A select starts on "default" (the empty value: the schema's default applies), not on the
      // default's own option, so leaving it alone sends nothing.
      const options = prop.enum ? prop.enum.map((v) => shown(v)) : ["true", "false"];
      const chosen = values[name] ?? "";
      control = html`<select id="f-${id}" name="${name}"${described}><option value=""${chosen === "" ? html` selected` : ""}>${prop.default !== undefined ? `default (${shown(prop.default)})` : "—"}</option>${options.map(
        (o) => html`<option value="${o}"${chosen === o ? html` selected` : ""}>${o}</option>`,
      )}</select>`;
    } else {
      const attrs = type === "string" ? html` type="text"${prop.maxLength ? html` maxlength="${prop.maxLength}"` : ""}` : html` type="number"${type === "integer" ? html` step="1"` : html` step="any"`}`;
      control = html`<input id="f-${id}" name="${name}"${attrs} value="${value}"${described}>`;
    }
    return html`<div class="field"><label for="f-${id}">${label}</label>${control}${hint}</div>`;
  })}`;
}

/**
 * The params the form's fields say, by the schema's types: an empty field is left out (its
 * default applies), a number field that is not a number and a boolean that is not true/false are
 * passed on as text for validation to refuse by name. Keys not in the schema's plain properties
 * are ignored.
 */
export function paramsFromForm(schema: ParamsSchema | undefined, fields: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, prop, type] of formProperties(schema)) {
    const raw = fields[PARAM_FIELD_PREFIX + key];
    if (raw === undefined || raw === "") continue;
    if (prop.enum) {
      const hit = prop.enum.find((v) => shown(v) === raw);
      out[key] = hit !== undefined ? hit : raw;
    } else if (type === "number" || type === "integer") out[key] = raw.trim() !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
    else if (type === "boolean") out[key] = raw === "true" ? true : raw === "false" ? false : raw;
    else out[key] = raw;
  }
  return out;
}
