// The rule-sets API through the real app: CRUD with versions, roles and audit, read-only
// presets, bad input that names the rule and stores nothing, session create with rule sets,
// and the admin page. The engine itself runs against real Chromium in
// test/e2e/rule-sets.e2e.test.ts.
import { beforeAll, describe, expect, test } from "bun:test";
import { makeTestApp, type TestApp } from "../../../test/helpers/app";
import { FakeProvider } from "../../../test/helpers/fake-provider";
import { ruleSets, ruleSetVersions, sessions as sessionsTable, auditLog } from "../../db/schema";
import { ProviderRegistryImpl } from "../../providers/registry";
import { ensureDefaultPool } from "../pools/pools.service";
import { insertSession, listEvents } from "../sessions/sessions.store";
import { registerWorker, setWorkerStatus } from "../workers/workers.service";
import { ruleSetsNetworkPart } from "./session-rules";

const block = (urlPattern: string) => ({ match: { urlPattern }, action: { type: "block" } });

function stored(t: TestApp) {
  return { sets: t.deps.db.select().from(ruleSets).all().length, versions: t.deps.db.select().from(ruleSetVersions).all().length };
}

describe("rule sets API", () => {
  test("create, read by id and name, versions on every change of rules, delete; members read, admins change, audited", async () => {
    const t = await makeTestApp();
    const created = await t.call("POST", "/api/v1/rule-sets", { auth: t.adminKey, body: { name: "no-ads", description: "first", rules: [block("*://*.ads.test/*")] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "no-ads", description: "first", version: 1, builtIn: false, ruleCount: 1, rules: [block("*://*.ads.test/*")] });
    const id = created.body.id as string;
    expect(id).toStartWith("rs_");

    expect((await t.call("POST", "/api/v1/rule-sets", { auth: t.memberKey, body: { name: "nope", rules: [] } })).status).toBe(403);
    expect((await t.call("GET", "/api/v1/rule-sets", { auth: t.viewerKey })).status).toBe(403);
    const list = await t.call("GET", "/api/v1/rule-sets", { auth: t.memberKey });
    expect(list.status).toBe(200);
    expect(list.body.ruleSets.find((s: { name: string }) => s.name === "no-ads")).toMatchObject({ id, version: 1, ruleCount: 1, builtIn: false });
    expect(list.body.ruleSets[0].rules).toBeUndefined();
    expect((await t.call("GET", `/api/v1/rule-sets/no-ads`, { auth: t.memberKey })).body.id).toBe(id);

    // PUT with new rules → version 2; PATCH of the description alone keeps the version.
    const put = await t.call("PUT", `/api/v1/rule-sets/${id}`, { auth: t.adminKey, body: { name: "no-ads", rules: [block("*://*.ads.test/*"), block("*.gif")] } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ version: 2, ruleCount: 2, description: "" });
    const patch = await t.call("PATCH", `/api/v1/rule-sets/${id}`, { auth: t.adminKey, body: { description: "second" } });
    expect(patch.body).toMatchObject({ version: 2, description: "second" });
    const patchRules = await t.call("PATCH", `/api/v1/rule-sets/no-ads`, { auth: t.adminKey, body: { rules: [block("*.gif")] } });
    expect(patchRules.body).toMatchObject({ version: 3, ruleCount: 1 });

    const versions = await t.call("GET", `/api/v1/rule-sets/${id}/versions`, { auth: t.memberKey });
    expect(versions.body.versions.map((v: { version: number; current: boolean }) => [v.version, v.current])).toEqual([
      [3, true],
      [2, false],
      [1, false],
    ]);
    const v1 = await t.call("GET", `/api/v1/rule-sets/${id}?version=1`, { auth: t.memberKey });
    expect(v1.body).toMatchObject({ version: 1, rules: [block("*://*.ads.test/*")] });
    expect((await t.call("GET", `/api/v1/rule-sets/${id}?version=9`, { auth: t.memberKey })).status).toBe(404);

    expect((await t.call("PUT", `/api/v1/rule-sets/${id}`, { auth: t.adminKey, body: { rules: [] } })).status).toBe(400);
    await t.call("POST", "/api/v1/rule-sets", { auth: t.adminKey, body: { name: "other", rules: [] } });
    const clash = await t.call("PATCH", `/api/v1/rule-sets/${id}`, { auth: t.adminKey, body: { name: "other" } });
    expect(clash.status).toBe(409);
    expect(clash.body.error.code).toBe("rule_set_exists");

    const actions = t.deps.db.select().from(auditLog).all().map((a) => a.action).filter((a) => a.startsWith("rule_set."));
    expect(actions).toEqual(["rule_set.created", "rule_set.updated", "rule_set.updated", "rule_set.updated", "rule_set.created"]);

    expect((await t.call("DELETE", `/api/v1/rule-sets/${id}`, { auth: t.memberKey })).status).toBe(403);
    const del = await t.call("DELETE", `/api/v1/rule-sets/${id}`, { auth: t.adminKey });
    expect(del.body).toEqual({ deleted: true, name: "no-ads" });
    expect((await t.call("GET", `/api/v1/rule-sets/${id}`, { auth: t.adminKey })).status).toBe(404);
    expect(t.deps.db.select().from(ruleSetVersions).all().every((v) => v.ruleSetId !== id)).toBe(true);
  });

  test("presets are listed as built-in, readable, and cannot be changed or deleted", async () => {
    const t = await makeTestApp();
    const list = (await t.call("GET", "/api/v1/rule-sets", { auth: t.memberKey })).body.ruleSets;
    const names = list.filter((s: { builtIn: boolean }) => s.builtIn).map((s: { name: string }) => s.name);
    expect(names).toEqual(expect.arrayContaining(["preset:ads", "preset:bandwidth", "preset:images", "preset:media", "preset:fonts"]));
    const bw = await t.call("GET", "/api/v1/rule-sets/preset:bandwidth", { auth: t.memberKey });
    expect(bw.body).toMatchObject({ builtIn: true, rules: [{ match: { resourceTypes: ["Image", "Media", "Font"] }, action: { type: "block" } }] });
    const ads = await t.call("GET", "/api/v1/rule-sets/preset:ads", { auth: t.memberKey });
    expect(ads.body.rules).toContainEqual(block("*://*.doubleclick.net/*"));
    for (const [method, body] of [["PUT", { name: "x", rules: [] }], ["PATCH", { description: "mine" }], ["DELETE", undefined]] as const) {
      const res = await t.call(method, "/api/v1/rule-sets/preset:ads", { auth: t.adminKey, body });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe("built_in");
    }
    const named = await t.call("POST", "/api/v1/rule-sets", { auth: t.adminKey, body: { name: "preset:mine", rules: [] } });
    expect(named.status).toBe(400);
    expect(stored(t)).toEqual({ sets: 0, versions: 0 });
  });

  const MiB = 1024 * 1024;
  const bad: [string, unknown[], RegExp, number?][] = [
    ["invalid pattern (control character)", [block("*"), block("http://a/\u0007")], /^Rule 1: match\.urlPattern contains a control character/],
    ["empty pattern", [{ match: { urlPattern: "" }, action: { type: "block" } }], /^Rule 0: /],
    ["regular expression", [block("re:.*")], /^Rule 0: .*regular expressions/],
    ["unknown resource type", [block("*"), block("*"), { match: { resourceTypes: ["Pictures"] }, action: { type: "block" } }], /^Rule 2: match\.resourceTypes: unknown resource type "Pictures"/],
    ["no match field", [{ match: {}, action: { type: "block" } }], /^Rule 0: "match" needs at least one/],
    ["bad action type", [{ match: { urlPattern: "*" }, action: { type: "explode" } }], /^Rule 0: "action\.type" must be one of/],
    ["mock without status", [{ match: { urlPattern: "*" }, action: { type: "mock", body: "x" } }], /^Rule 0: action\.status must be/],
    ["redirect to javascript:", [{ match: { urlPattern: "*" }, action: { type: "redirect", url: "javascript:alert(1)" } }], /^Rule 0: action\.url must be an absolute http\(s\) URL/],
    ["oversized mock body", [block("*"), { match: { urlPattern: "*/big" }, action: { type: "mock", status: 200, body: "x".repeat(MiB + 1) } }], /^Rule 1: action\.body is larger than the mock body limit of 1048576 bytes/],
    ["too many rules", Array.from({ length: 1001 }, (_, i) => block(`*/${i}`)), /1000/],
  ];
  let shared: TestApp;
  beforeAll(async () => {
    shared = await makeTestApp();
  });
  for (const [what, rules, message] of bad)
    test(`refused with a message naming the problem, nothing stored: ${what}`, async () => {
      const t = shared;
      const res = await t.call("POST", "/api/v1/rule-sets", { auth: t.adminKey, body: { name: "bad", rules } });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(message);
      expect(stored(t)).toEqual({ sets: 0, versions: 0 });
    });

  test("a refused update leaves the set and its versions as they were", async () => {
    const t = await makeTestApp();
    const { body } = await t.call("POST", "/api/v1/rule-sets", { auth: t.adminKey, body: { name: "keep", rules: [block("*.gif")] } });
    const res = await t.call("PUT", `/api/v1/rule-sets/${body.id}`, { auth: t.adminKey, body: { name: "keep", rules: [block("*.gif"), { match: { resourceTypes: ["Nope"] }, action: { type: "block" } }] } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toStartWith("Rule 1: ");
    expect((await t.call("GET", `/api/v1/rule-sets/keep`, { auth: t.adminKey })).body).toMatchObject({ version: 1, rules: [block("*.gif")] });
    expect(stored(t)).toEqual({ sets: 1, versions: 1 });
  });

  test("a whole mock body of 1 MiB is accepted (the JSON cap is raised for rule sets)", async () => {
    const t = await makeTestApp();
    const res = await t.call("POST", "/api/v1/rule-sets", { auth: t.adminKey, body: { name: "big", rules: [{ match: { urlPattern: "*/big" }, action: { type: "mock", status: 200, body: "x".repeat(MiB) } }] } });
    expect(res.status).toBe(201);
    expect(res.body.version).toBe(1);
  });

  test("a set in use by a live session cannot be deleted; GET/PUT /sessions/:id/rule-sets", async () => {
    const t = await makeTestApp();
    const { body } = await t.call("POST", "/api/v1/rule-sets", { auth: t.adminKey, body: { name: "used", rules: [block("*.gif")] } });
    const pool = ensureDefaultPool(t.deps.db);
    const row = insertSession(
      t.deps.db,
      { id: "ses_rules1", poolId: pool.id, ownerType: "user", ownerId: t.users.admin.id, status: "queued", config: { ruleSets: [{ id: body.id, name: "used", version: 1 }] }, metadata: {}, timeoutSec: 60, idleTimeoutSec: 60 },
      { type: "queued" },
    );
    const del = await t.call("DELETE", "/api/v1/rule-sets/used", { auth: t.adminKey });
    expect(del.status).toBe(409);
    expect(del.body.error.code).toBe("rule_set_in_use");
    expect((await t.call("GET", `/api/v1/sessions/${row.id}/rule-sets`, { auth: t.adminKey })).body).toEqual({ ruleSets: [{ id: body.id, name: "used", version: 1 }] });
    const unknown = await t.call("PUT", `/api/v1/sessions/${row.id}/rule-sets`, { auth: t.adminKey, body: { ruleSets: ["missing"] } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: "unknown_rule_set" });
    expect(unknown.body.error.message).toContain('"missing"');
    const notRunning = await t.call("PUT", `/api/v1/sessions/${row.id}/rule-sets`, { auth: t.adminKey, body: { ruleSets: [] } });
    expect(notRunning.status).toBe(409);
    expect((await t.call("GET", `/api/v1/sessions/${row.id}/rule-sets`, { auth: t.memberKey })).status).toBe(404);
  });
});

describe("session create with rule sets (fake provider)", () => {
  async function setup() {
    const providers = new ProviderRegistryImpl();
    const t = await makeTestApp({ providers, networkParts: (shared) => [ruleSetsNetworkPart(shared)] });
    const pool = ensureDefaultPool(t.deps.db);
    const worker = registerWorker(t.deps.db, { name: "local", poolId: pool.id, endpoint: "unix:///fake.sock", kind: "docker", capacity: 4 });
    setWorkerStatus(t.deps.db, worker.id, "online");
    const provider = new FakeProvider(worker.id);
    providers.set(worker.id, provider);
    return { t, provider };
  }

  test("an unknown rule set is a 400 naming it; no session row, no browser", async () => {
    const { t, provider } = await setup();
    const res = await t.call("POST", "/api/v1/sessions", { auth: t.adminKey, body: { ruleSets: ["preset:ads", "nope"] } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("unknown_rule_set");
    expect(res.body.error.message).toContain('"nope"');
    expect(t.deps.db.select().from(sessionsTable).all()).toHaveLength(0);
    expect(provider.starts).toBe(0);
    const tooMany = await t.call("POST", "/api/v1/sessions", { auth: t.adminKey, body: { ruleSets: Array.from({ length: 21 }, () => "preset:ads") } });
    expect(tooMany.status).toBe(400);
  });

  test("an engine that cannot reach the browser fails the session and removes the browser", async () => {
    const { t, provider } = await setup();
    const res = await t.call("POST", "/api/v1/sessions", { auth: t.adminKey, body: { ruleSets: ["preset:bandwidth"] } });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("network_setup_failed");
    const [row] = t.deps.db.select().from(sessionsTable).all();
    expect(row!.status).toBe("failed");
    expect(row!.config.ruleSets).toEqual([{ id: "preset:bandwidth", name: "preset:bandwidth", version: 1 }]);
    expect(listEvents(t.deps.db, row!.id).map((e) => e.type)).toContain("failed");
    expect(provider.browsers.size).toBe(0);
  });
});

describe("admin page", () => {
  test("list, create through the JSON textarea (errors shown, nothing stored), view, edit, delete", async () => {
    const t = await makeTestApp();
    const form = (fields: Record<string, string>) => ({ body: new URLSearchParams(fields).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } });
    const list = await t.call("GET", "/rule-sets", { auth: t.cookie });
    expect(list.status).toBe(200);
    expect(list.body).toContain("preset:ads");
    expect(list.body).toContain('href="/rule-sets"');

    const badJson = await t.call("POST", "/rule-sets", { auth: t.cookie, ...form({ name: "ui-set", rules: "[{" }) });
    expect(badJson.status).toBe(400);
    expect(badJson.body).toContain("The rules are not valid JSON");
    const badRule = await t.call("POST", "/rule-sets", { auth: t.cookie, ...form({ name: "ui-set", rules: JSON.stringify([{ match: { resourceTypes: ["Imag"] }, action: { type: "block" } }]) }) });
    expect(badRule.status).toBe(400);
    expect(badRule.body).toContain("Rule 0: match.resourceTypes: unknown resource type &quot;Imag&quot;");
    expect(stored(t)).toEqual({ sets: 0, versions: 0 });

    const ok = await t.call("POST", "/rule-sets", { auth: t.cookie, ...form({ name: "ui-set", description: "from the UI", rules: JSON.stringify([block("*.gif")]) }) });
    expect(ok.status).toBe(303);
    const where = ok.headers.get("location")!;
    const view = await t.call("GET", where, { auth: t.cookie });
    expect(view.body).toContain("Rule set ui-set");
    expect(view.body).toContain("&quot;urlPattern&quot;: &quot;*.gif&quot;");

    const edited = await t.call("POST", where, { auth: t.cookie, ...form({ name: "ui-set", description: "v2", rules: JSON.stringify([block("*.png")]) }) });
    expect(edited.status).toBe(303);
    expect((await t.call("GET", "/api/v1/rule-sets/ui-set", { auth: t.adminKey })).body).toMatchObject({ version: 2, description: "v2" });
    expect((await t.call("GET", `${where}?version=1`, { auth: t.cookie })).body).toContain("*.gif");

    const del = await t.call("POST", `${where}/delete`, { auth: t.cookie, ...form({}) });
    expect(del.status).toBe(303);
    expect(stored(t)).toEqual({ sets: 0, versions: 0 });
  });
});
