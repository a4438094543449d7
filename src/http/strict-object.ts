// Request bodies reject unknown fields instead of dropping them (a typo like "keepalive"
// must not be silently ignored). Elysia's default normalization strips properties that
// `additionalProperties: false` forbids before validation, so that option alone never
// rejects anything; `additionalProperties: Never` survives normalization and fails
// validation with a 400 that names the field.
import { t } from "elysia";
import type { TLiteral, TUnion } from "@sinclair/typebox";

type ObjectOptions = Parameters<typeof t.Object>[1];

export function strictObject<T extends Parameters<typeof t.Object>[0]>(properties: T, options: ObjectOptions = {}) {
  return t.Object(properties, { ...options, additionalProperties: t.Never() });
}

/**
 * One of a fixed set of strings. Use this, never `t.UnionEnum`: UnionEnum carries
 * `default: <first value>`, which Elysia fills into a missing optional field — an unfiltered
 * list became "status = queued", a role change in a form also disabled the user.
 */
export function oneOf<const T extends readonly string[]>(values: T, options: { description?: string } = {}): TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }> {
  return t.Union(values.map((v) => t.Literal(v)), options) as never;
}

/**
 * A whole number in a query string or path (`?limit=50`, `/versions/3`), from min to max. Use
 * this, never a bare `t.Numeric`: that takes 1.5 (a SQL LIMIT then fails with a 500), and its
 * range error does not name the field, so the error here says both.
 */
export function wholeNumber(field: string, min: number, max: number, options: { description?: string } = {}) {
  return t.Numeric({ ...options, minimum: min, maximum: max, multipleOf: 1, error: `Field "${field}": give a whole number from ${min} to ${max}.` });
}
