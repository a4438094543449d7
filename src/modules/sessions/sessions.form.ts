// The create-session form → the same input as POST /api/v1/sessions, with one message per
// field in words a person can act on. Nothing is created unless every field is valid.
import type { FieldErrors } from "../../../views/ui";
import type { CreateSessionInput } from "./sessions.contracts";

export type CreateFormValues = Record<string, string | undefined>;

function int(v: string | undefined, min: number, max: number, label: string, errors: FieldErrors, key: string): number | undefined {
  const s = (v ?? "").trim();
  if (s === "") return undefined;
  if (!/^\d{1,9}$/.test(s) || Number(s) < min || Number(s) > max) {
    errors[key] = `${label} must be a whole number from ${min} to ${max}.`;
    return undefined;
  }
  return Number(s);
}

export function parseCreateForm(v: CreateFormValues): { input: CreateSessionInput; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const input: CreateSessionInput = {};
  const pool = (v.pool ?? "").trim();
  if (pool) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(pool)) errors.pool = "Choose a pool from the list.";
    else input.pool = pool;
  }
  if (v.browser) {
    if (v.browser !== "headless-shell" && v.browser !== "chromium") errors.browser = "Choose a browser from the list.";
    else input.browser = v.browser;
  }
  const width = int(v.width, 200, 7680, "Width", errors, "width");
  const height = int(v.height, 200, 4320, "Height", errors, "height");
  if (width !== undefined && height !== undefined) input.viewport = { width, height };
  else if (!errors.width && !errors.height && (width !== undefined) !== (height !== undefined))
    errors[width === undefined ? "width" : "height"] = "Give both the width and the height, or neither.";
  input.timeoutSec = int(v.timeoutSec, 1, 7 * 24 * 3600, "Maximum duration", errors, "timeoutSec");
  input.idleTimeoutSec = int(v.idleTimeoutSec, 1, 24 * 3600, "Idle timeout", errors, "idleTimeoutSec");
  const locale = (v.locale ?? "").trim();
  if (locale) {
    if (!/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(locale) || locale.length > 35) errors.locale = "Use a language tag such as en-US or de.";
    else input.locale = locale;
  }
  const timezone = (v.timezone ?? "").trim();
  if (timezone) {
    if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(timezone) || timezone.length > 64) errors.timezone = "Use an IANA zone such as Europe/Paris.";
    else input.timezone = timezone;
  }
  input.keepAlive = v.keepAlive === "on";
  for (const k of Object.keys(input) as (keyof CreateSessionInput)[]) if (input[k] === undefined) delete input[k];
  return { input, errors };
}
