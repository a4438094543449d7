// Request bodies reject unknown fields instead of dropping them (a typo like "keepalive"
// must not be silently ignored). Elysia's default normalization strips properties that
// `additionalProperties: false` forbids before validation, so that option alone never
// rejects anything; `additionalProperties: Never` survives normalization and fails
// validation with a 400 that names the field.
import { t } from "elysia";

type ObjectOptions = Parameters<typeof t.Object>[1];

export function strictObject<T extends Parameters<typeof t.Object>[0]>(properties: T, options: ObjectOptions = {}) {
  return t.Object(properties, { ...options, additionalProperties: t.Never() });
}
