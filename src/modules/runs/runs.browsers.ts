// RunBrowsers on top of the session service: each attempt of a run gets a session of its own,
// owned by the run (owner type "run": its connect token works while the run is queued or
// running, sessions.access.ts), never kept alive, created from the manifest's `browser`
// settings exactly as POST /api/v1/sessions would be (a warm browser when the pool has one).
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import type { SessionService, CreateSessionInput } from "../sessions/sessions.service";
import { appendNote } from "../sessions/sessions.store";
import type { RunBrowsers, RunBrowserSettings, RunSession } from "./runs.ports";

/** How long a run's browser outlives the attempt's own timeout (the attempt ends it first). */
const SESSION_MARGIN_SEC = 60;

export function sessionRunBrowsers(deps: { db: Db; log: Logger; sessions: SessionService }): RunBrowsers {
  const { sessions } = deps;
  return {
    async open(req: { runId: string; browser: RunBrowserSettings | undefined; timeoutSec: number }, signal?: AbortSignal): Promise<RunSession> {
      const { runId, browser } = req;
      const timeoutSec = req.timeoutSec + SESSION_MARGIN_SEC;
      const input: CreateSessionInput = {
        ...(browser?.pool ? { pool: browser.pool } : {}),
        ...(browser?.flavour ? { browser: browser.flavour as CreateSessionInput["browser"] } : {}),
        ...(browser?.viewport ? { viewport: browser.viewport } : {}),
        ...(browser?.profile !== undefined ? { profile: typeof browser.profile === "string" ? { name: browser.profile } : browser.profile } : {}),
        ...(browser?.proxy !== undefined ? { proxy: browser.proxy } : {}),
        ...(browser?.ruleSets !== undefined ? { ruleSets: browser.ruleSets } : {}),
        keepAlive: false,
        timeoutSec,
        // The code may take a while before it connects, or connect more than once.
        idleTimeoutSec: timeoutSec,
        metadata: { runId },
      };
      const row = await sessions.create({ type: "run", id: runId }, input, { signal });
      const cdpUrl = sessions.toPublic(row, true).cdpUrl;
      if (!row.workerId || !cdpUrl) {
        await sessions.end(row.id, "failed", "run session without a worker").catch(() => null);
        throw new Error("the run's session started without a worker or connect URL");
      }
      return { id: row.id, workerId: row.workerId, poolId: row.poolId, cdpUrl };
    },
    async close(sessionId: string, reason: string): Promise<void> {
      try {
        await sessions.stop(sessionId, reason);
      } catch (err) {
        deps.log.warn("run session not stopped", { sessionId, err });
      }
    },
    note(sessionId: string, type: string, detail: Record<string, unknown>): void {
      try {
        appendNote(deps.db, sessionId, type, detail);
      } catch (err) {
        deps.log.warn("run note not added to the session timeline", { sessionId, type, err });
      }
    },
  };
}
