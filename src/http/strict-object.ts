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
