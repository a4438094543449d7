// Bearer secrets: UI session tokens and API keys. Both come from the OS CSPRNG and are only
// ever stored as SHA-256 digests, so a copy of the database lets nobody sign in.
import { randomId, sha256Hex } from "../lib/ids";

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** `len` uniformly random letters and digits (rejection sampling: no modulo bias). */
export function randomAlphanumeric(len: number): string {
  let out = "";
  while (out.length < len) {
    for (const b of crypto.getRandomValues(new Uint8Array(len * 2))) {
      if (b < 248) out += ALNUM[b % 62];
      if (out.length === len) break;
    }
  }
  return out;
}

/** UI session token: 32 random bytes (256 bits), base64url. */
export function newSessionToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
}

export const SESSION_TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

export function hashToken(token: string): string {
  return sha256Hex(token);
}

/** 43 alphanumerics ≈ 256 bits: as strong as 32 random bytes, and safe in any URL or header. */
export const API_KEY_SECRET_LENGTH = 43;
export const API_KEY_ID_LENGTH = 12;

/** The accepted shape: ours (12-char id, 43-char secret) and static keys from the environment (see config.ts). */
const API_KEY_RE = /^bg_([A-Za-z0-9]{8,32})_([A-Za-z0-9]{16,128})$/;

export interface NewApiKey {
  id: string;
  secret: string;
  key: string;
  prefix: string;
}

export function newApiKey(): NewApiKey {
  const id = randomId(API_KEY_ID_LENGTH);
  const secret = randomAlphanumeric(API_KEY_SECRET_LENGTH);
  return { id, secret, key: `bg_${id}_${secret}`, prefix: apiKeyPrefix(id) };
}

/** What the UI and list show: enough to recognise a key, nothing to use it. */
export function apiKeyPrefix(id: string): string {
  return `bg_${id}_`;
}

export function parseApiKey(token: string): { id: string; secret: string } | null {
  if (token.length > 170) return null;
  const m = API_KEY_RE.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : null;
}
