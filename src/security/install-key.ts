// The install's own secret: 32 random bytes in BROWSERGRID_DATA_DIR/secret.key (mode 0600),
// created on first start. Session connect tokens and signed URLs are HMACs under it, so a
// leaked database alone cannot mint or recover them. Losing the file invalidates them all.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function loadInstallKey(dataDir: string): Buffer {
  const path = join(dataDir, "secret.key");
  if (existsSync(path)) {
    const key = Buffer.from(readFileSync(path, "utf8").trim(), "base64");
    if (key.length !== 32) throw new Error(`${path} is damaged (expected 32 bytes, base64); restore it from a backup`);
    return key;
  }
  const key = Buffer.from(crypto.getRandomValues(new Uint8Array(32)));
  writeFileSync(path, key.toString("base64") + "\n", { mode: 0o600, flag: "wx" });
  return key;
}

/** HMAC-SHA256 of `message` under `key`, base64url. */
export function hmac(key: Buffer, message: string): string {
  return new Bun.CryptoHasher("sha256", key).update(message).digest("base64url");
}

// Connect tokens and watch-link signatures are pure functions of (key, message) that every API
// read of a live session recomputes: the most recent ones are remembered (an HMAC ≈ 2–4 µs).
const hmacMemo = new WeakMap<Buffer, Map<string, string>>();
const HMAC_MEMO_MAX = 8192;

/** hmac(), remembered for the most recent messages under each key. */
export function memoHmac(key: Buffer, message: string): string {
  let m = hmacMemo.get(key);
  if (!m) hmacMemo.set(key, (m = new Map()));
  let mac = m.get(message);
  if (mac === undefined) {
    mac = hmac(key, message);
    if (m.size >= HMAC_MEMO_MAX) m.delete(m.keys().next().value!);
    m.set(message, mac);
  }
  return mac;
}
