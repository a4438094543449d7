// Run-scoped API tokens: `bgr_<runId>_<secret>`, given to a run's code as BROWSERGRID_RUN_TOKEN.
// Only the SHA-256 is stored (runs.token_hash); a token is valid while its run is not terminal,
// so a token leaked from a finished run (a log, an artifact) opens nothing. What it may do is
// runs.access.ts.
import type { Db } from "../../db/client";
import { randomSecret, safeEqual, sha256Hex } from "../../lib/ids";
import { getRun, isRunTerminal, type RunRow } from "./runs.store";

const TOKEN = /^bgr_(run_[a-z0-9]{20})_([A-Za-z0-9_-]{43})$/;

export function isRunToken(token: string): boolean {
  return token.startsWith("bgr_");
}

export function mintRunToken(runId: string): { token: string; hash: string } {
  const token = `bgr_${runId}_${randomSecret(32)}`;
  return { token, hash: sha256Hex(token) };
}

/** The live run the token belongs to, or undefined (malformed, unknown, wrong secret, run over). */
export function runOfToken(db: Db, token: string): RunRow | undefined {
  const m = TOKEN.exec(token);
  if (!m) return undefined;
  const run = getRun(db, m[1]!);
  if (!run || run.tokenHash === null || isRunTerminal(run.status)) return undefined;
  return safeEqual(run.tokenHash, sha256Hex(token)) ? run : undefined;
}
