// JSON Schema clean-up for the published OpenAPI 3.1 document. Elysia's `t.*` schemas carry
// what its validator needs but a client generator misreads:
// - t.Integer / t.Numeric are `anyOf: [{type: string, format: integer}, {type: integer}]`, so
//   requests may coerce "5"; generated clients then type the field `string | number`. The
//   document states the number only (a query string is text on the wire anyway).
// - `nullable` is OpenAPI 3.0; in 3.1 null is a type (`type: [x, "null"]`), which is kept.
// - `error` (a field's custom validation message) is no JSON Schema keyword.
// - `additionalProperties: {not: {}}` is `false`, written so every reader understands it.

type Schema = Record<string, unknown>;

const isSchema = (v: unknown): v is Schema => !!v && typeof v === "object" && !Array.isArray(v);
const NUMERIC_TEXT_FORMATS = new Set(["integer", "numeric", "number"]);
const isNumericText = (s: Schema) => s.type === "string" && NUMERIC_TEXT_FORMATS.has(String(s.format));
const isNumber = (s: Schema) => s.type === "integer" || s.type === "number";
/** Keywords that belong to Elysia's validator, not to JSON Schema. */
const NON_SCHEMA_KEYWORDS = ["nullable", "error", "errorMessage"];

/** A copy of `schema` (and every schema inside it) in the shape described above. */
export function cleanSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(cleanSchema);
  if (!isSchema(schema)) return schema;
  let out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (NON_SCHEMA_KEYWORDS.includes(key)) continue;
    if (key === "properties" || key === "patternProperties" || key === "$defs") out[key] = isSchema(value) ? mapValues(value, cleanSchema) : value;
    else if (key === "enum" || key === "const" || key === "default" || key === "examples" || key === "example" || key === "required") out[key] = value;
    else out[key] = cleanSchema(value);
  }
  if (isSchema(out.additionalProperties) && isEmptyNot(out.additionalProperties)) out.additionalProperties = false;
  out = collapseNumericText(out);
  if (schema.nullable === true) out = withNull(out);
  return out;
}

function mapValues(o: Schema, fn: (v: unknown) => unknown): Schema {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fn(v)]));
}

function isEmptyNot(s: Schema): boolean {
  return Object.keys(s).length === 1 && isSchema(s.not) && Object.keys(s.not).length === 0;
}

/** `anyOf: [numeric text, number]` (in any order, perhaps with null) becomes the number itself. */
function collapseNumericText(s: Schema): Schema {
  const members = s.anyOf;
  if (!Array.isArray(members) || !members.every(isSchema)) return s;
  const kept = (members as Schema[]).filter((m) => !isNumericText(m));
  if (kept.length === members.length || !kept.some(isNumber)) return s;
  const { anyOf: _, ...outer } = s;
  if (kept.length > 1) return { ...outer, anyOf: kept };
  return { ...outer, ...kept[0] };
}

/** `nullable: true` said in 3.1 words: null joins the type list (or the union). */
function withNull(s: Schema): Schema {
  if (typeof s.type === "string") return { ...s, type: [s.type, "null"] };
  if (Array.isArray(s.type)) return s.type.includes("null") ? s : { ...s, type: [...s.type, "null"] };
  if (Array.isArray(s.anyOf)) return (s.anyOf as Schema[]).some((m) => m.type === "null") ? s : { ...s, anyOf: [...s.anyOf, { type: "null" }] };
  return s;
}
