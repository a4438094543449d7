// Stored rule sets: named, versioned lists of interception rules. Every change of the rules makes
// a new version (all versions are kept in rule_set_versions, the current one included), so a
// session's config can say exactly which rules it ran with and a restarted BrowserGrid can load
// them again. Built-in presets live in code, are listed with the stored sets and cannot change.
import { and, desc, eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { ruleSets, ruleSetVersions, SESSION_TERMINAL } from "../../db/schema";
import { BadRequest, Conflict, NotFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { PRESETS, findPreset } from "./rule-sets.presets";
import { validateRules, type Rule } from "./rule-sets.rules";

export const RULE_SET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const MAX_SESSION_RULE_SETS = 20;
const MAX_DESCRIPTION = 1000;

type Row = typeof ruleSets.$inferSelect;

export interface PublicRuleSet {
  id: string;
  name: string;
  description: string;
  builtIn: boolean;
  version: number;
  ruleCount: number;
  rules?: Rule[];
  createdAt: string | null;
  updatedAt: string | null;
}

export type RuleSetWithRules = PublicRuleSet & { rules: Rule[] };

export interface RuleSetInput {
  name?: string;
  description?: string;
  rules?: unknown;
}

/** What a session runs with: one set at one version. */
export interface ResolvedRuleSet {
  id: string;
  name: string;
  version: number;
  rules: Rule[];
}

const iso = (ms: number) => new Date(ms).toISOString();

function toPublic(r: Row, withRules: true, rules?: Rule[], version?: number): RuleSetWithRules;
function toPublic(r: Row, withRules: false): PublicRuleSet;
function toPublic(r: Row, withRules: boolean, rules: Rule[] = r.rules as unknown as Rule[], version = r.version): PublicRuleSet {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    builtIn: false,
    version,
    ruleCount: rules.length,
    ...(withRules ? { rules } : {}),
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}

function presetView(ref: string, withRules: boolean): PublicRuleSet | undefined {
  const p = findPreset(ref);
  if (!p) return undefined;
  return { id: p.id, name: p.name, description: p.description, builtIn: true, version: p.version, ruleCount: p.rules.length, ...(withRules ? { rules: p.rules } : {}), createdAt: null, updatedAt: null };
}

function findRow(db: Db, ref: string): Row | undefined {
  return db.select().from(ruleSets).where(eq(ruleSets.id, ref)).get() ?? db.select().from(ruleSets).where(eq(ruleSets.name, ref)).get();
}

function stored(db: Db, ref: string): Row {
  if (findPreset(ref)) throw new Conflict(`"${ref}" is a built-in rule set and cannot be changed or deleted; create your own set instead.`, "built_in");
  const row = findRow(db, ref);
  if (!row) throw new NotFound(`Rule set "${ref.slice(0, 64)}"`);
  return row;
}

function checkName(name: unknown): string {
  if (typeof name !== "string" || !RULE_SET_NAME.test(name))
    throw new BadRequest(`Rule set name ${JSON.stringify(String(name).slice(0, 70))} must be 1-64 letters, digits, ".", "-" or "_", starting with a letter or digit.`, "invalid_name");
  return name;
}

function checkDescription(d: unknown): string {
  if (typeof d !== "string" || d.length > MAX_DESCRIPTION) throw new BadRequest(`"description" must be a string of at most ${MAX_DESCRIPTION} characters.`);
  return d;
}

export function listRuleSets(db: Db): PublicRuleSet[] {
  const rows = db.select().from(ruleSets).orderBy(ruleSets.name).all();
  return [...PRESETS.map((p) => presetView(p.name, false)!), ...rows.map((r) => toPublic(r, false))];
}

/** One set by id or name, with its rules; `version` picks a kept older version. */
export function getRuleSet(db: Db, ref: string, version?: number): RuleSetWithRules {
  const preset = presetView(ref, true) as RuleSetWithRules | undefined;
  if (preset) {
    if (version !== undefined && version !== preset.version) throw new NotFound(`Version ${version} of "${ref}"`);
    return preset;
  }
  const row = findRow(db, ref);
  if (!row) throw new NotFound(`Rule set "${ref.slice(0, 64)}"`);
  if (version === undefined || version === row.version) return toPublic(row, true);
  const v = db.select().from(ruleSetVersions).where(and(eq(ruleSetVersions.ruleSetId, row.id), eq(ruleSetVersions.version, version))).get();
  if (!v) throw new NotFound(`Version ${version} of rule set "${row.name}"`);
  return toPublic(row, true, v.rules as unknown as Rule[], v.version);
}

export function listVersions(db: Db, ref: string): { version: number; ruleCount: number; createdAt: string | null; current: boolean }[] {
  const preset = findPreset(ref);
  if (preset) return [{ version: preset.version, ruleCount: preset.rules.length, createdAt: null, current: true }];
  const row = findRow(db, ref);
  if (!row) throw new NotFound(`Rule set "${ref.slice(0, 64)}"`);
  return db
    .select({ version: ruleSetVersions.version, rules: ruleSetVersions.rules, createdAt: ruleSetVersions.createdAt })
    .from(ruleSetVersions)
    .where(eq(ruleSetVersions.ruleSetId, row.id))
    .orderBy(desc(ruleSetVersions.version))
    .all()
    .map((v) => ({ version: v.version, ruleCount: v.rules.length, createdAt: iso(v.createdAt), current: v.version === row.version }));
}

export function createRuleSet(db: Db, input: RuleSetInput): RuleSetWithRules {
  const name = checkName(input.name);
  const description = input.description === undefined ? "" : checkDescription(input.description);
  const rules = validateRules(input.rules);
  return db.transaction((tx) => {
    if (tx.select({ id: ruleSets.id }).from(ruleSets).where(eq(ruleSets.name, name)).get()) throw new Conflict(`A rule set named "${name}" exists already.`, "rule_set_exists");
    const now = Date.now();
    const row = tx.insert(ruleSets).values({ id: newId("rs"), name, description, version: 1, rules: rules as never, createdAt: now, updatedAt: now }).returning().get();
    tx.insert(ruleSetVersions).values({ ruleSetId: row.id, version: 1, rules: rules as never, createdAt: now }).run();
    return toPublic(row, true);
  });
}

/**
 * PUT (replace: name and rules required, a missing description becomes empty) or PATCH (only
 * the fields given). A change of the rules makes a new version; name or description alone do not.
 */
export function updateRuleSet(db: Db, ref: string, input: RuleSetInput, mode: "replace" | "merge"): { set: RuleSetWithRules; changedRules: boolean } {
  const before = stored(db, ref);
  if (mode === "replace" && (input.name === undefined || input.rules === undefined)) throw new BadRequest('PUT replaces the whole set: send "name" and "rules" (or use PATCH).');
  const name = input.name === undefined ? before.name : checkName(input.name);
  const description = input.description !== undefined ? checkDescription(input.description) : mode === "replace" ? "" : before.description;
  const rules = input.rules === undefined ? (before.rules as unknown as Rule[]) : validateRules(input.rules);
  const changedRules = JSON.stringify(rules) !== JSON.stringify(before.rules);
  return db.transaction((tx) => {
    if (name !== before.name && tx.select({ id: ruleSets.id }).from(ruleSets).where(eq(ruleSets.name, name)).get()) throw new Conflict(`A rule set named "${name}" exists already.`, "rule_set_exists");
    const now = Date.now();
    const version = changedRules ? before.version + 1 : before.version;
    // The version check makes two racing updates of the same set fail instead of both writing version n+1.
    const row = tx
      .update(ruleSets)
      .set({ name, description, rules: rules as never, version, updatedAt: now })
      .where(and(eq(ruleSets.id, before.id), eq(ruleSets.version, before.version)))
      .returning()
      .get();
    if (!row) throw new Conflict(`Rule set "${before.name}" was changed at the same time; read it again and retry.`, "rule_set_changed");
    if (changedRules) tx.insert(ruleSetVersions).values({ ruleSetId: row.id, version, rules: rules as never, createdAt: now }).run();
    return { set: toPublic(row, true), changedRules };
  });
}

/** Live sessions running some version of this set (their config names it). */
function liveUsers(db: Db, id: string): number {
  const terminal = SESSION_TERMINAL.map((s) => `'${s}'`).join(",");
  return db.$client
    .query<{ n: number }, [string]>(
      `SELECT count(*) AS n FROM sessions WHERE status NOT IN (${terminal}) AND EXISTS (SELECT 1 FROM json_each(sessions.config, '$.ruleSets') WHERE json_extract(value, '$.id') = ?)`,
    )
    .get(id)!.n;
}

/** Deletes a set and its versions; refused while a live session runs it (its rules must stay loadable after a restart). */
export function deleteRuleSet(db: Db, ref: string): PublicRuleSet {
  const row = stored(db, ref);
  const n = liveUsers(db, row.id);
  if (n > 0) throw new Conflict(`Rule set "${row.name}" is used by ${n} live session(s); stop them or apply other rule sets to them first.`, "rule_set_in_use");
  db.delete(ruleSets).where(eq(ruleSets.id, row.id)).run();
  return toPublic(row, false);
}

/** A session's `ruleSets` (names, ids, preset names) → the current version of each; 400 naming an unknown one. */
export function resolveRuleSets(db: Db, refs: unknown): ResolvedRuleSet[] {
  if (!Array.isArray(refs) || refs.length > MAX_SESSION_RULE_SETS || refs.some((r) => typeof r !== "string" || r.length === 0 || r.length > 128))
    throw new BadRequest(`"ruleSets" must be a list of at most ${MAX_SESSION_RULE_SETS} rule set names or ids.`, "invalid_rule_sets");
  const out: ResolvedRuleSet[] = [];
  for (const ref of refs as string[]) {
    const preset = findPreset(ref);
    const row = preset ? undefined : findRow(db, ref);
    const set = preset ?? (row && { id: row.id, name: row.name, version: row.version, rules: row.rules as unknown as Rule[] });
    if (!set) throw new BadRequest(`Unknown rule set "${ref.slice(0, 64)}": use GET /api/v1/rule-sets for the names (built-in ones start with "preset:").`, "unknown_rule_set");
    if (out.some((s) => s.id === set.id)) throw new BadRequest(`Rule set "${set.name}" is listed twice.`, "invalid_rule_sets");
    out.push({ id: set.id, name: set.name, version: set.version, rules: set.rules });
  }
  return out;
}

/** The exact versions a session recorded (after a restart); a version that is gone is skipped and reported. */
export function loadRecordedVersions(db: Db, recorded: { id: string; name: string; version: number }[]): { sets: ResolvedRuleSet[]; missing: string[] } {
  const sets: ResolvedRuleSet[] = [];
  const missing: string[] = [];
  for (const r of recorded) {
    const preset = findPreset(r.id);
    if (preset) {
      sets.push({ id: preset.id, name: preset.name, version: preset.version, rules: preset.rules });
      continue;
    }
    const v = db
      .select({ rules: ruleSetVersions.rules })
      .from(ruleSetVersions)
      .where(and(eq(ruleSetVersions.ruleSetId, r.id), eq(ruleSetVersions.version, r.version)))
      .get();
    if (v) sets.push({ id: r.id, name: r.name, version: r.version, rules: v.rules as unknown as Rule[] });
    else missing.push(`${r.name}@${r.version}`);
  }
  return { sets, missing };
}

