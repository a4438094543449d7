// Rule sets around a session's life: the "rules" NetworkPart (resolve and validate at create,
// attach the engine before the client gets its URL, re-attach after a restart, close at the end)
// and BrowserGrid.applyRuleSets, which swaps a running session's rule sets. One registry of
// engines per process (`RuleEngines`, built by boot.ts and carried as `deps.rules`), shared by the
// part and the gateway command.
import { eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { sessions as sessionsTable } from "../../db/schema";
import type { Logger } from "../../lib/logger";
import { Conflict, DomainError } from "../../lib/errors";
import { CdpError } from "../../cdp/types";
import type { SessionLinks } from "../../cdp/session-links";
import type { NetworkPart } from "../network/session-network";
import { appendEvent, getSession, type SessionRow } from "../sessions/sessions.store";
import { RuleEngine } from "./rule-engine";
import { loadRecordedVersions, MAX_SESSION_RULE_SETS, resolveRuleSets, type ResolvedRuleSet } from "./rule-sets.service";

type Recorded = { id: string; name: string; version: number };
/** The running rule engines of this process: one per session with rule sets. */
export interface RuleEngines {
  engines: Map<string, RuleEngine>;
  /** One applyRuleSets at a time per session. */
  queue: Map<string, Promise<unknown>>;
}
type Deps = { db: Db; log: Logger; rules: RuleEngines; links: SessionLinks };

export function createRuleEngines(): RuleEngines {
  return { engines: new Map(), queue: new Map() };
}

const recordedOf = (row: SessionRow): Recorded[] => {
  const v = (row.config as { ruleSets?: Recorded[] }).ruleSets;
  return Array.isArray(v) ? v.filter((s) => s && typeof s.id === "string" && typeof s.version === "number") : [];
};
const record = (sets: ResolvedRuleSet[]): Recorded[] => sets.map(({ id, name, version }) => ({ id, name, version }));
const rulesOf = (sets: ResolvedRuleSet[]) => sets.flatMap((s) => s.rules);

async function startEngine(deps: Deps, row: SessionRow, sets: ResolvedRuleSet[]): Promise<RuleEngine> {
  const { engines } = deps.rules;
  engines.get(row.id)?.close();
  const engine = new RuleEngine({
    sessionId: row.id,
    // BrowserGrid's own link to the browser (through provider.reach on SSH workers), never the gateway.
    connect: () => deps.links.link(row.id),
    isLive: () => getSession(deps.db, row.id)?.status === "running",
    log: deps.log,
  });
  engines.set(row.id, engine);
  try {
    await engine.start(rulesOf(sets));
  } catch (err) {
    engine.close();
    if (engines.get(row.id) === engine) engines.delete(row.id);
    throw err;
  }
  return engine;
}

function stopEngine(rules: RuleEngines, sessionId: string): void {
  const { engines } = rules;
  engines.get(sessionId)?.close();
  engines.delete(sessionId);
}

export function ruleSetsNetworkPart(deps: Deps): NetworkPart {
  return {
    name: "rules",
    prepare(_owner, _sessionId, _pool, input) {
      if (input.ruleSets === undefined) return null;
      const sets = resolveRuleSets(deps.db, input.ruleSets);
      if (sets.length === 0) return null;
      return {
        config: { ruleSets: record(sets) },
        // No start flags: a warm browser fits, the engine attaches once it is claimed.
        cold: false,
        async started(row) {
          await startEngine(deps, row, sets);
        },
      };
    },
    async resume(row) {
      const recorded = recordedOf(row);
      if (!recorded.length) return;
      const { sets, missing } = loadRecordedVersions(deps.db, recorded);
      if (missing.length) deps.log.warn("rule set versions of a running session are gone; running without them", { sessionId: row.id, missing });
      await startEngine(deps, row, sets);
      deps.log.info("rule engine re-attached", { sessionId: row.id, ruleSets: record(sets) });
    },
    ended(sessionId) {
      stopEngine(deps.rules, sessionId);
      deps.rules.queue.delete(sessionId);
    },
  };
}

/** The rule sets a running session runs with now (its config). */
export function sessionRuleSets(row: SessionRow): Recorded[] {
  return recordedOf(row);
}

/**
 * Replaces a running session's rule sets (empty: none). Validation errors are DomainErrors
 * (400 unknown_rule_set, …); the engine starts, changes or stops; the config and timeline say so.
 */
export async function replaceSessionRuleSets(deps: Deps, sessionId: string, refs: unknown): Promise<Recorded[]> {
  const sets = resolveRuleSets(deps.db, refs);
  const rt = deps.rules;
  const run = async () => {
    const row = getSession(deps.db, sessionId);
    if (!row || row.status !== "running") throw new Conflict("The session is not running.", "session_not_running");
    const engine = rt.engines.get(sessionId);
    if (sets.length === 0) stopEngine(rt, sessionId);
    else if (engine) await engine.update(rulesOf(sets));
    else await startEngine(deps, row, sets);
    const ruleSets = record(sets);
    const fresh = getSession(deps.db, sessionId) ?? row;
    deps.db
      .update(sessionsTable)
      .set({ config: { ...fresh.config, ruleSets } })
      .where(eq(sessionsTable.id, sessionId))
      .run();
    appendEvent(deps.db, sessionId, "rule_sets_applied", { ruleSets: ruleSets.map(({ name, version }) => ({ name, version })) });
    return ruleSets;
  };
  const prev = rt.queue.get(sessionId) ?? Promise.resolve();
  const next = prev.then(run, run);
  rt.queue.set(
    sessionId,
    next.catch(() => {}),
  );
  return next;
}

/** BrowserGrid.applyRuleSets `{ ruleSets: [names or ids] }` → `{ ruleSets: [{ name, version }] }`. */
export async function applyRuleSetsCommand(deps: Deps, sessionId: string, params: Record<string, unknown>): Promise<unknown> {
  const extra = Object.keys(params).filter((k) => k !== "ruleSets");
  if (extra.length) throw new CdpError(`BrowserGrid.applyRuleSets: unknown parameter "${extra[0]}"; send { ruleSets: [names or ids] }.`, -32602);
  const refs = params.ruleSets;
  if (!Array.isArray(refs) || refs.length > MAX_SESSION_RULE_SETS || refs.some((r) => typeof r !== "string"))
    throw new CdpError(`BrowserGrid.applyRuleSets: \`ruleSets\` must be a list of at most ${MAX_SESSION_RULE_SETS} rule set names or ids ([] removes them).`, -32602);
  try {
    const applied = await replaceSessionRuleSets(deps, sessionId, refs);
    return { ruleSets: applied.map(({ name, version }) => ({ name, version })) };
  } catch (err) {
    if (err instanceof DomainError && err.status === 400) throw new CdpError(`BrowserGrid.applyRuleSets: ${err.message}`, -32602);
    if (err instanceof DomainError) return { error: err.message };
    deps.log.error("BrowserGrid.applyRuleSets failed", { sessionId, err });
    return { error: `The rule sets were not applied: ${(err as Error).message.slice(0, 200)}` };
  }
}
