// Secrets kept in the database (SSH private keys, later proxy passwords) are sealed with
// AES-256-GCM under a key derived (HKDF-SHA256) from the install key in the data dir, so a copy
// of the database alone does not reveal them. `purpose` separates keys per kind of secret; the
// authentication tag makes a tampered or foreign value fail loudly instead of decrypting to junk.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

const VERSION = "v1";

function keyFor(installKey: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", installKey, Buffer.alloc(0), `browsergrid:${purpose}`, 32));
}

/** `v1.<iv>.<ciphertext>.<tag>`, base64url parts. */
export function seal(installKey: Buffer, purpose: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keyFor(installKey, purpose), iv);
  cipher.setAAD(Buffer.from(purpose));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return [VERSION, iv.toString("base64url"), body.toString("base64url"), cipher.getAuthTag().toString("base64url")].join(".");
}

export function open(installKey: Buffer, purpose: string, sealed: string): string {
  const [version, iv, body, tag] = sealed.split(".");
  if (version !== VERSION || !iv || body === undefined || !tag) throw new Error("sealed secret has an unknown format");
  const decipher = createDecipheriv("aes-256-gcm", keyFor(installKey, purpose), Buffer.from(iv, "base64url"));
  decipher.setAAD(Buffer.from(purpose));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  try {
    return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    throw new Error("sealed secret does not open with this install key (was secret.key replaced?)");
  }
}
