// Schemas of the rule-sets API. Request bodies take `rules` as a list the service checks rule by
// rule (so a refusal names the rule index and says what to fix, which a schema union cannot);
// the response schema spells the rule shape out for the OpenAPI document.
import { t } from "elysia";
import { oneOf, strictObject, wholeNumber } from "../../http/strict-object";
import { RULE_SET_NAME } from "./rule-sets.service";
import { RESOURCE_TYPES, RULE_LIMITS } from "./rule-sets.rules";

export const RULES_DOC = [
  "Interception rules, at most 1000 (a whole set at most 8 MiB as JSON). A rule is `{ match, action }`.",
  "`match` needs at least one of: `urlPattern` — a glob matched against the full request URL like CDP Fetch patterns (`*` any run of characters, `?` one character, `\\` escapes; e.g. `*://*.doubleclick.net/*`; ≤ 2048 characters, no control characters, no regular expressions); `resourceTypes` — CDP Network.ResourceType names (" +
    RESOURCE_TYPES.join(", ") +
    "); `methods` — HTTP methods. All given fields must match.",
  "`action`: `{type: \"block\"}` fails the request (net::ERR_BLOCKED_BY_CLIENT); `{type: \"mock\", status: 100-599, headers?, body? | bodyBase64?}` answers it without the network (body ≤ 1 MiB); `{type: \"modifyRequestHeaders\", set?: {name: value}, remove?: [names]}`; `{type: \"modifyResponseHeaders\", set?, remove?}`; `{type: \"redirect\", url}` answers 307 with Location (http/https only).",
  "Order: the session's rule sets in the order given, each set's rules in order. The first matching block, mock or redirect decides; header rewrites that match before it (or when none matches) all apply, in order.",
].join("\n\n");

const HeaderMap = t.Record(t.String(), t.String(), { description: "Header name → value (names are case-insensitive)" });

export const RuleSchema = t.Object(
  {
    match: t.Object({
      urlPattern: t.Optional(t.String({ maxLength: RULE_LIMITS.urlPattern, description: "Glob against the full URL: * any characters, ? one character, \\ escapes" })),
      resourceTypes: t.Optional(t.Array(oneOf(RESOURCE_TYPES), { description: "CDP Network.ResourceType names" })),
      methods: t.Optional(t.Array(t.String(), { description: "HTTP methods, upper case" })),
    }),
    action: t.Union([
      t.Object({ type: t.Literal("block") }),
      t.Object({ type: t.Literal("mock"), status: t.Integer({ minimum: 100, maximum: 599 }), headers: t.Optional(HeaderMap), body: t.Optional(t.String()), bodyBase64: t.Optional(t.String()) }),
      t.Object({ type: t.Literal("modifyRequestHeaders"), set: t.Optional(HeaderMap), remove: t.Optional(t.Array(t.String())) }),
      t.Object({ type: t.Literal("modifyResponseHeaders"), set: t.Optional(HeaderMap), remove: t.Optional(t.Array(t.String())) }),
      t.Object({ type: t.Literal("redirect"), url: t.String({ description: "http(s) URL; the request is answered 307 with this Location" }) }),
    ]),
  },
  { description: "One interception rule" },
);

const Rules = t.Array(t.Unknown(), { maxItems: RULE_LIMITS.rules, description: RULES_DOC });
const Name = t.String({
  minLength: 1,
  maxLength: 64,
  pattern: RULE_SET_NAME.source,
  error: 'Rule set name must be 1-64 letters, digits, ".", "-" or "_", starting with a letter or digit.',
  description: 'Letters, digits, ".", "-", "_"; starts with a letter or digit',
});
const Description = t.String({ maxLength: 1000 });

export const CreateRuleSetBody = strictObject({ name: Name, description: t.Optional(Description), rules: Rules });
export const UpdateRuleSetBody = strictObject({ name: t.Optional(Name), description: t.Optional(Description), rules: t.Optional(Rules) });

export const RuleSetParams = t.Object({ id: t.String({ minLength: 1, maxLength: 128, description: "Id, name, or a built-in's name (preset:ads)" }) });
export const RuleSetQuery = strictObject({ version: t.Optional(wholeNumber("version", 1, 1e9, { description: "A kept older version (default: current)" })) });

const common = {
  id: t.String(),
  name: t.String(),
  description: t.String(),
  builtIn: t.Boolean({ description: "A preset shipped with BrowserGrid: read-only" }),
  version: t.Number({ description: "Grows by one with every change of the rules" }),
  ruleCount: t.Number(),
  createdAt: t.Nullable(t.String()),
  updatedAt: t.Nullable(t.String()),
};

export const RuleSetSummary = t.Object(common);
export const RuleSetResponse = t.Object({ ...common, rules: t.Array(RuleSchema) });
export const RuleSetVersion = t.Object({ version: t.Number(), ruleCount: t.Number(), createdAt: t.Nullable(t.String()), current: t.Boolean() });

export const SessionRuleSetsBody = strictObject({ ruleSets: t.Array(t.String({ maxLength: 128 }), { maxItems: 20, description: "Rule set names or ids, in order; [] removes them" }) });
export const SessionRuleSetsResponse = t.Object({ ruleSets: t.Array(t.Object({ id: t.String(), name: t.String(), version: t.Number() })) });
