// The first-run setup token. On a fresh install /setup creates an admin for whoever comes
// first; on a public VPS that is a race anyone on the internet can win (and DNS rebinding lets
// a web page run it against a server that is not public). As Jenkins and Grafana do, setup
// therefore needs a one-time token that only the operator can read: it is written (mode 0600)
// to BROWSERGRID_DATA_DIR/setup-token, printed by install.sh and shown in the log, compared
// in constant time, and deleted once the first admin exists. The unattended paths
// (BROWSERGRID_ADMIN_EMAIL/PASSWORD, `browsergrid admin create`) run as the operator and need
// no token.
import { chmodSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { timingSafeEqual } from "node:crypto";
import type { Config } from "../../config";
import type { Logger } from "../../lib/logger";
import { logVerbatim } from "../../lib/logger";
import { newSessionToken, SESSION_TOKEN_RE } from "../../security/tokens";
import { sha256Hex } from "../../lib/ids";

export const SETUP_TOKEN_FILE = "setup-token";
/** Longer than any token we issue: a form value past it is refused unread. */
export const SETUP_TOKEN_MAX_LENGTH = 128;

export function setupTokenPath(config: Pick<Config, "dataDir">): string {
  return join(config.dataDir, SETUP_TOKEN_FILE);
}

function readToken(path: string): string | null {
  try {
    const token = readFileSync(path, "utf8").trim();
    return SESSION_TOKEN_RE.test(token) ? token : null;
  } catch {
    return null;
  }
}

/**
 * The setup token, from its file or newly written there; call only while no user exists.
 * `created` says whether it is new (so the caller announces it).
 */
export function ensureSetupToken(config: Pick<Config, "dataDir">): { token: string; path: string; created: boolean } {
  const path = setupTokenPath(config);
  const existing = readToken(path);
  if (existing) {
    chmodSync(path, 0o600); // whatever left it readable, it is the operator's secret
    return { token: existing, path, created: false };
  }
  const token = newSessionToken();
  writeFileSync(path, token + "\n", { mode: 0o600 });
  chmodSync(path, 0o600); // writeFileSync keeps the mode of a file that already existed
  return { token, path, created: true };
}

/** Tells the operator where setup is: the log line carries the link with the token, on purpose. */
export function announceSetupToken(deps: { config: Readonly<Config>; log: Logger }, token: string, path: string): void {
  deps.log.warn("no account exists yet: open setupUrl in a browser to create the first admin (the token is also in tokenFile), or run `browsergrid admin create --email <you>`", {
    setupUrl: logVerbatim(`${deps.config.publicUrl}/setup?token=${token}`),
    tokenFile: path,
  });
}

/** True when `presented` is the current setup token; constant time in its content. */
export function verifySetupToken(config: Pick<Config, "dataDir">, presented: string | undefined): boolean {
  if (!presented || presented.length > SETUP_TOKEN_MAX_LENGTH) return false;
  const expected = ensureSetupToken(config).token;
  // Digests of equal length: timingSafeEqual needs it, and the length of the secret does not leak.
  return timingSafeEqual(Buffer.from(sha256Hex(presented)), Buffer.from(sha256Hex(expected)));
}

/** Deletes the token: once an account exists it must open nothing. */
export function retireSetupToken(config: Pick<Config, "dataDir">): void {
  try {
    unlinkSync(setupTokenPath(config));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}
