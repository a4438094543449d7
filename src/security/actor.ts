// Who is calling: the authenticated caller every service decision (ownership, role, audit) is
// made for. Set by the auth plugin (src/http/plugins/auth.ts); services take it as a value and
// know nothing of HTTP, so it lives here and not in the request context.
import type { Role } from "../db/schema";

/** Who is making a request, resolved once by the auth plugin. */
export interface Actor {
  type: "user" | "api_key" | "static_key" | "proxy" | "run";
  /** The user behind the request; null only for static keys from the environment. */
  userId: string | null;
  email?: string;
  role: Role;
  keyId?: string;
  via: "cookie" | "bearer" | "query" | "proxy" | "static";
  /** The UI login session (cookie auth only). */
  authSessionId?: string;
  /** A run's own token (BROWSERGRID_RUN_TOKEN): the run it belongs to; its rights are runs.access.ts. */
  runId?: string;
}
