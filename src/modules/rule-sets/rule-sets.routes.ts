// /api/v1/rule-sets — stored interception rules (members read, admins change, every change
// audited) — and /api/v1/sessions/:id/rule-sets, the REST twin of BrowserGrid.applyRuleSets.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { audit } from "../audit/audit.service";
import { ErrorSchema } from "../users/users.schema";
import { visibleSession } from "../sessions/sessions.routes";
import { SessionParams } from "../sessions/sessions.schema";
import {
  CreateRuleSetBody,
  RULES_DOC,
  RuleSetParams,
  RuleSetQuery,
  RuleSetResponse,
  RuleSetSummary,
  RuleSetVersion,
  SessionRuleSetsBody,
  SessionRuleSetsResponse,
  UpdateRuleSetBody,
} from "./rule-sets.schema";
import { createRuleSet, deleteRuleSet, getRuleSet, listRuleSets, listVersions, updateRuleSet } from "./rule-sets.service";
import { replaceSessionRuleSets, sessionRuleSets } from "./session-rules";

const tags = ["rule-sets"];
const Errors = { 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema };

export function ruleSetRoutes(deps: AppDeps) {
  const { db } = deps;
  const updated = (ctx: { actor: Actor }, r: ReturnType<typeof updateRuleSet>) => {
    audit(deps, ctx.actor, "rule_set.updated", r.set.id, { name: r.set.name, version: r.set.version, rulesChanged: r.changedRules }, requestIp(ctx));
    return r.set;
  };
  return new Elysia({ name: "rule-sets", prefix: "/api/v1/rule-sets" })
    .use(authMacro)
    .get("/", () => ({ ruleSets: listRuleSets(db) }), {
      auth: "member",
      response: t.Object({ ruleSets: t.Array(RuleSetSummary) }),
      detail: { tags, summary: "List rule sets, built-in presets first (without their rules)" },
    })
    .get("/:id", ({ params, query }) => getRuleSet(db, params.id, query.version), {
      auth: "member",
      params: RuleSetParams,
      query: RuleSetQuery,
      response: { 200: RuleSetResponse, 404: ErrorSchema },
      detail: { tags, summary: "Get a rule set with its rules (by id or name; ?version=N for an older one)" },
    })
    .get("/:id/versions", ({ params }) => ({ versions: listVersions(db, params.id) }), {
      auth: "member",
      params: RuleSetParams,
      response: { 200: t.Object({ versions: t.Array(RuleSetVersion) }), 404: ErrorSchema },
      detail: { tags, summary: "A rule set's versions, newest first" },
    })
    .post(
      "/",
      (ctx) => {
        const s = createRuleSet(db, ctx.body);
        audit(deps, ctx.actor, "rule_set.created", s.id, { name: s.name, rules: s.ruleCount }, requestIp(ctx));
        ctx.set.status = 201;
        return s;
      },
      {
        auth: "admin",
        body: CreateRuleSetBody,
        response: { 201: RuleSetResponse, ...Errors },
        detail: { tags, summary: "Create a rule set (version 1)", description: `${RULES_DOC}\n\nA refused rule is named by its index (\`Rule 3: …\`); nothing is stored.` },
      },
    )
    .put("/:id", (ctx) => updated(ctx, updateRuleSet(db, ctx.params.id, ctx.body, "replace")), {
      auth: "admin",
      params: RuleSetParams,
      body: CreateRuleSetBody,
      response: { 200: RuleSetResponse, ...Errors },
      detail: { tags, summary: "Replace a rule set (name and rules required)", description: "A change of the rules makes a new version; the old one is kept. Sessions running it keep the version they started with. Built-in presets: 409." },
    })
    .patch("/:id", (ctx) => updated(ctx, updateRuleSet(db, ctx.params.id, ctx.body, "merge")), {
      auth: "admin",
      params: RuleSetParams,
      body: UpdateRuleSetBody,
      response: { 200: RuleSetResponse, ...Errors },
      detail: { tags, summary: "Change a rule set's name, description or rules", description: "A change of the rules makes a new version; the old one is kept. Built-in presets: 409." },
    })
    .delete(
      "/:id",
      (ctx) => {
        const s = deleteRuleSet(db, ctx.params.id);
        audit(deps, ctx.actor, "rule_set.deleted", s.id, { name: s.name }, requestIp(ctx));
        return { deleted: true, name: s.name };
      },
      {
        auth: "admin",
        params: RuleSetParams,
        response: { 200: t.Object({ deleted: t.Boolean(), name: t.String() }), ...Errors },
        detail: { tags, summary: "Delete a rule set and its versions", description: "409 for built-in presets and while a live session runs the set." },
      },
    );
}

export function sessionRuleSetRoutes(deps: AppDeps) {
  const { db } = deps;
  return new Elysia({ name: "session-rule-sets", prefix: "/api/v1/sessions" })
    .use(authMacro)
    .get("/:id/rule-sets", ({ params, actor }) => ({ ruleSets: sessionRuleSets(visibleSession(db, actor, params.id)) }), {
      auth: "viewer",
      params: SessionParams,
      response: { 200: SessionRuleSetsResponse, 404: ErrorSchema },
      detail: { tags, summary: "The rule sets a session runs with (name and version)" },
    })
    .put(
      "/:id/rule-sets",
      async (ctx) => {
        const row = visibleSession(db, ctx.actor, ctx.params.id);
        const ruleSets = await replaceSessionRuleSets(deps, row.id, ctx.body.ruleSets);
        audit(deps, ctx.actor, "session.rule_sets_applied", row.id, { ruleSets: ruleSets.map(({ name, version }) => ({ name, version })) }, requestIp(ctx));
        return { ruleSets };
      },
      {
        auth: "member",
        params: SessionParams,
        body: SessionRuleSetsBody,
        response: { 200: SessionRuleSetsResponse, ...Errors },
        detail: {
          tags,
          summary: "Replace a running session's rule sets (like BrowserGrid.applyRuleSets)",
          description: "Takes effect on the next request of every page, frame and worker. [] removes them. 400 unknown_rule_set names an unknown set; 409 when the session is not running.",
        },
      },
    );
}
