// A deployment's secrets: environment variables its runs get, sealed with AES-256-GCM under the
// install key (src/security/secret-box.ts, purpose "deployment-secret") and never returned by
// any API or page — only their names. Decrypted only for a run (secretsEnv), in memory.
//
// Names are environment variable names of their own: BROWSERGRID_* and the variables the
// runner sets itself are refused, so a secret can never replace the CDP URL, the params or the
// run token the code is given.
import { and, eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { deploymentSecrets } from "../../db/schema";
import { BadRequest, NotFound } from "../../lib/errors";
import { open, seal } from "../../security/secret-box";

export const SECRET_PURPOSE = "deployment-secret";
export const SECRET_NAME = /^[A-Z_][A-Z0-9_]{0,63}$/;
/** Set by the runner for every run; a secret may not take their place. */
export const RESERVED_SECRET_NAMES = new Set(["BROWSER_WS_ENDPOINT", "PATH", "HOME", "USER", "HOSTNAME", "PWD"]);
export const SECRET_LIMITS = { valueBytes: 32 * 1024, perDeployment: 100 } as const;

export interface SecretName {
  name: string;
  updatedAt: string;
}

export function checkSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) throw new BadRequest(`Secret name "${name.slice(0, 64)}" must be 1-64 uppercase letters, digits or "_", not starting with a digit (like an environment variable).`, "invalid_secret_name");
  if (name.startsWith("BROWSERGRID_") || RESERVED_SECRET_NAMES.has(name))
    throw new BadRequest(`Secret name "${name}" is reserved: BROWSERGRID_* and ${[...RESERVED_SECRET_NAMES].join(", ")} are set by the runner.`, "invalid_secret_name");
}

export function listSecretNames(db: Db, deploymentId: string): SecretName[] {
  return db
    .select({ name: deploymentSecrets.name, updatedAt: deploymentSecrets.updatedAt })
    .from(deploymentSecrets)
    .where(eq(deploymentSecrets.deploymentId, deploymentId))
    .orderBy(deploymentSecrets.name)
    .all()
    .map((s) => ({ name: s.name, updatedAt: new Date(s.updatedAt).toISOString() }));
}

/** Creates or replaces a secret; answers whether it was new. */
export function putSecret(db: Db, installKey: Buffer, deploymentId: string, name: string, value: string, now: number): { created: boolean } {
  checkSecretName(name);
  if (value.length === 0) throw new BadRequest('Field "value": give the secret\'s value (at least one character).', "invalid_secret_value");
  if (Buffer.byteLength(value, "utf8") > SECRET_LIMITS.valueBytes) throw new BadRequest(`Field "value": at most ${SECRET_LIMITS.valueBytes} bytes.`, "invalid_secret_value");
  if (value.includes("\0")) throw new BadRequest('Field "value": an environment variable cannot hold a NUL character.', "invalid_secret_value");
  const sealed = seal(installKey, SECRET_PURPOSE, value);
  return db.transaction((tx) => {
    const where = and(eq(deploymentSecrets.deploymentId, deploymentId), eq(deploymentSecrets.name, name));
    if (tx.select({ name: deploymentSecrets.name }).from(deploymentSecrets).where(where).get()) {
      tx.update(deploymentSecrets).set({ valueEncrypted: sealed, updatedAt: now }).where(where).run();
      return { created: false };
    }
    const count = tx.select({ name: deploymentSecrets.name }).from(deploymentSecrets).where(eq(deploymentSecrets.deploymentId, deploymentId)).all().length;
    if (count >= SECRET_LIMITS.perDeployment) throw new BadRequest(`A deployment has at most ${SECRET_LIMITS.perDeployment} secrets.`, "too_many_secrets");
    tx.insert(deploymentSecrets).values({ deploymentId, name, valueEncrypted: sealed, updatedAt: now }).run();
    return { created: true };
  });
}

export function deleteSecret(db: Db, deploymentId: string, name: string): void {
  const gone = db
    .delete(deploymentSecrets)
    .where(and(eq(deploymentSecrets.deploymentId, deploymentId), eq(deploymentSecrets.name, name)))
    .returning({ name: deploymentSecrets.name })
    .all();
  if (gone.length === 0) throw new NotFound(`Secret "${name.slice(0, 64)}"`);
}

/** The secrets as environment variables, decrypted (for a run's container only). */
export function secretsEnvOf(db: Db, installKey: Buffer, deploymentId: string): Record<string, string> {
  const rows = db.select().from(deploymentSecrets).where(eq(deploymentSecrets.deploymentId, deploymentId)).all();
  return Object.fromEntries(rows.map((r) => [r.name, open(installKey, SECRET_PURPOSE, r.valueEncrypted)]));
}
