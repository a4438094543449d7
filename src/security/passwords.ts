// Passwords: argon2id at OWASP's minimum cost (19 MiB, 2 passes, 1 lane) through Bun.password,
// which is built into the runtime and so survives `bun build --compile` (no native addon).
// A login for an unknown email still pays one verification against a dummy hash, so response
// time does not tell an attacker which accounts exist.

export const PASSWORD_MIN_LENGTH = 12;
/** Argon2 takes any length; the cap stops multi-megabyte "passwords" from being hashed. */
export const PASSWORD_MAX_LENGTH = 256;

const ARGON2 = { algorithm: "argon2id", memoryCost: 19456, timeCost: 2 } as const;

export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, ARGON2);
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  try {
    return await Bun.password.verify(password, hash);
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/** Burns the same time as a real verification; always false. */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword(crypto.randomUUID());
  await verifyPassword(password, await dummyHash);
  return false;
}

/**
 * Why a password is refused, or null when it is acceptable. Length is what matters (NIST
 * SP 800-63B): no composition rules, but the obvious non-passwords are turned away.
 */
export function passwordProblem(password: string, email?: string): string | null {
  if (password.length < PASSWORD_MIN_LENGTH) return `Use at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (password.length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
  if (/^(.)\1*$/.test(password)) return "Do not repeat one character.";
  const lower = password.toLowerCase();
  if ("01234567890123456789".includes(lower) || "abcdefghijklmnopqrstuvwxyz".includes(lower) || "qwertyuiopasdfghjklzxcvbnm".includes(lower))
    return "Do not use a run of keys or digits.";
  if (email && (lower === email.toLowerCase() || lower === email.toLowerCase().split("@")[0])) return "Do not use your email address.";
  if (/^(password|passw0rd|letmein|changeme|browsergrid|admin)/i.test(password) && password.length < 16) return "This password is too easy to guess.";
  return null;
}
