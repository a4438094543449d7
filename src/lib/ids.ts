// Identifiers and secrets. Ids are random, URL-safe and sortable enough to read in logs;
// secrets come from the OS CSPRNG and are only ever stored as SHA-256 digests.

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** Random lowercase alphanumeric string of `len` characters (~5.17 bits each). */
export function randomId(len = 16): string {
  const bytes = crypto.getRandomValues(new Uint8Array(len));
  let out = "";
  for (const b of bytes) out += ALPHABET[b % 36];
  return out;
}

/** Prefixed entity id: `ses_3f9k…`. */
export function newId(prefix: string): string {
  return `${prefix}_${randomId(20)}`;
}

/** A bearer secret of 32 random bytes in base64url (256 bits). */
export function randomSecret(bytes = 32): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
}

export function sha256Hex(text: string): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

/** Constant-time string comparison for digests. */
export function safeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
