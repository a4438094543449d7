// The OpenAPI document as clients and generators read it: walked whole, it must type numbers as
// numbers, say null the 3.1 way, document an answer and its errors for every operation, mark
// the public routes, and advertise only the bodies the server takes. The authenticated ones
// are then called without credentials: every one of them must answer 401.
import { beforeAll, describe, expect, test } from "bun:test";
import { makeTestApp, type TestApp } from "../../../test/helpers/app";
import { PUBLIC_ROUTES } from "../plugins/auth";
import { cleanSchema } from "./schema-shape";
import { TAG_DESCRIPTIONS } from "./document";

type Json = Record<string, any>;
let t: TestApp;
let doc: Json;

/** Every operation of the document as [method, path, operation]. */
const operations = (): [string, string, Json][] =>
  Object.entries(doc.paths as Json).flatMap(([path, item]) => Object.entries(item as Json).map(([method, op]) => [method, path, op as Json] as [string, string, Json]));

/** Every schema-like object in `value`, with where it is. */
function* objectsIn(value: unknown, where = "#"): Generator<[string, Json]> {
  if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* objectsIn(v, `${where}/${i}`);
  else if (value && typeof value === "object") {
    yield [where, value as Json];
    for (const [k, v] of Object.entries(value)) yield* objectsIn(v, `${where}/${k}`);
  }
}

beforeAll(async () => {
  t = await makeTestApp();
  const res = await t.call("GET", "/api/openapi.json");
  expect(res.status).toBe(200);
  doc = res.body;
});

describe("the API document", () => {
  test("is OpenAPI 3.1 with servers, a license and described tags", () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.servers).toEqual([expect.objectContaining({ url: t.deps.config.publicUrl })]);
    expect(doc.info.license.identifier).toBe("Apache-2.0");
    for (const tag of doc.tags) expect(TAG_DESCRIPTIONS[tag.name]).toBeString();
    expect(operations().length).toBeGreaterThan(50);
  });

  test("lists API paths only, none with a trailing slash", () => {
    for (const path of Object.keys(doc.paths)) {
      expect(path).toMatch(/^\/(api\/v1\/|healthz$|readyz$)/);
      expect(path.endsWith("/")).toBe(false);
    }
  });

  test("types numbers as numbers and null the 3.1 way; no validator-only keywords", () => {
    const bad: string[] = [];
    for (const [where, o] of objectsIn(doc)) {
      if (o.type === "string" && ["integer", "numeric", "number"].includes(o.format)) bad.push(`${where}: string with format ${o.format}`);
      if ("nullable" in o) bad.push(`${where}: nullable`);
      if (typeof o.error === "string" && o.type) bad.push(`${where}: error keyword`);
      if (o.additionalProperties && typeof o.additionalProperties === "object" && "not" in o.additionalProperties) bad.push(`${where}: additionalProperties {not}`);
    }
    expect(bad).toEqual([]);
  });

  test("every operation documents a success answer; a 204 has no content", () => {
    for (const [method, path, op] of operations()) {
      const statuses = Object.keys(op.responses ?? {});
      expect({ op: `${method} ${path}`, success: statuses.some((s) => /^[23]\d\d$/.test(s)) }).toEqual({ op: `${method} ${path}`, success: true });
      if (op.responses["204"]) expect(op.responses["204"].content).toBeUndefined();
      expect(op.summary).toBeString();
    }
  });

  test("error answers refer to the one Error schema (readiness answers its own body)", () => {
    expect(doc.components.schemas.Error.properties.error.required).toEqual(["code", "message"]);
    for (const [method, path, op] of operations())
      for (const [status, response] of Object.entries(op.responses as Json)) {
        if (Number(status) < 400 || path === "/readyz") continue;
        expect({ at: `${method} ${path} ${status}`, schema: response.content["application/json"].schema }).toEqual({ at: `${method} ${path} ${status}`, schema: { $ref: "#/components/schemas/Error" } });
        expect(response.description).not.toMatch(/^Response for status/);
      }
  });

  test("public routes say security: [] and are exactly the auth plugin's public API routes; all others document 401 and 429", () => {
    const documentedPublic = operations()
      .filter(([, , op]) => Array.isArray(op.security) && op.security.length === 0)
      .map(([m, p]) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ":$1")}`);
    expect(documentedPublic.sort()).toEqual([...PUBLIC_ROUTES].filter((r) => / \/(api\/v1|healthz|readyz)/.test(r)).sort());
    for (const [method, path, op] of operations()) {
      if (op.security) continue;
      expect({ op: `${method} ${path}`, has: ["401", "429"].filter((s) => op.responses[s]) }).toEqual({ op: `${method} ${path}`, has: ["401", "429"] });
      if (op["x-min-role"] !== "viewer" || method !== "get") expect(op.responses["403"]).toBeDefined();
    }
  });

  test("JSON routes advertise JSON bodies only, with 400, 413 and 415; path parameters document 404", () => {
    for (const [method, path, op] of operations()) {
      const at = `${method} ${path}`;
      if (op.requestBody) {
        const types = Object.keys(op.requestBody.content);
        // Upload routes take the raw bytes; the deployment upload also takes a form or its inline JSON.
        const uploadTypes = ["multipart/form-data", "application/octet-stream", "application/json"];
        expect({ at, types }).toEqual({ at, types: types.includes("application/octet-stream") ? types.filter((x) => uploadTypes.includes(x)) : ["application/json"] });
        expect({ at, has: ["400", "413"].filter((s) => op.responses[s]) }).toEqual({ at, has: ["400", "413"] });
        if (types.includes("application/json")) expect(op.responses["415"]).toBeDefined();
      }
      if (op.parameters?.some((p: Json) => p.in === "path")) expect({ at, has404: !!op.responses["404"] }).toEqual({ at, has404: true });
      if (op.parameters?.length) expect(op.responses["400"]).toBeDefined();
    }
  });

  test("a body is required exactly when the server refuses a request without one", async () => {
    // The JSON routes without path parameters, called as an admin with no body at all.
    const candidates = operations().filter(([, path, op]) => op.requestBody?.content["application/json"] && !path.includes("{"));
    expect(candidates.length).toBeGreaterThan(8);
    for (const [method, path, op] of candidates) {
      if (method === "post" && path === "/api/v1/sessions") continue; // would start a browser: the e2e tests' part
      const res = await t.call(method.toUpperCase(), path, { auth: t.adminKey });
      const refusedForBody = res.status === 400 && res.body.error.code === "invalid_request";
      expect({ at: `${method} ${path}`, required: op.requestBody.required }).toEqual({ at: `${method} ${path}`, required: refusedForBody });
    }
  });

  test("every authenticated operation answers 401 without credentials and with a wrong key", async () => {
    for (const [method, path, op] of operations()) {
      if (op.security) continue;
      const concrete = path.replace(/\{version\}/, "1").replace(/\{[^}]+\}/g, "x1");
      const anonymous = await t.call(method.toUpperCase(), concrete);
      expect({ at: `${method} ${path}`, status: anonymous.status }).toEqual({ at: `${method} ${path}`, status: 401 });
    }
    const wrongKey = await t.call("GET", "/api/v1/sessions", { auth: "bg_aaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbb" });
    expect(wrongKey.status).toBe(401);
  });
});

describe("schema clean-up", () => {
  test("a t.Integer union becomes the integer with its limits; an outer default stays", () => {
    const integer = { minimum: 1, maximum: 5, default: 2, anyOf: [{ type: "string", format: "integer", default: 0 }, { type: "integer", minimum: 1, maximum: 5 }] };
    expect(cleanSchema(integer)).toEqual({ type: "integer", minimum: 1, maximum: 5, default: 2 });
    const numeric = { anyOf: [{ type: "number" }, { type: "string", format: "numeric", default: 0 }, { type: "null" }] };
    expect(cleanSchema(numeric)).toEqual({ anyOf: [{ type: "number" }, { type: "null" }] });
  });

  test("nullable becomes a null type; Elysia's error text and {not: {}} go", () => {
    expect(cleanSchema({ type: "object", nullable: true, additionalProperties: { not: {} }, properties: { a: { type: "string", error: "say a" } } })).toEqual({
      type: ["object", "null"],
      additionalProperties: false,
      properties: { a: { type: "string" } },
    });
    expect(cleanSchema({ type: ["string", "null"], nullable: true })).toEqual({ type: ["string", "null"] });
  });

  test("a property named like a keyword is a property, not a keyword", () => {
    expect(cleanSchema({ type: "object", properties: { error: { type: "string" }, nullable: { type: "boolean" } } })).toEqual({
      type: "object",
      properties: { error: { type: "string" }, nullable: { type: "boolean" } },
    });
  });
});
