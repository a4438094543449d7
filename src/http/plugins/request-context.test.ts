// Every answer carries the request id and the security headers, however the handler answered:
// a plain object, its own Response (the session reads serve remembered JSON as one), an error.
import { beforeAll, expect, test } from "bun:test";
import { makeTestApp, type TestApp } from "../../../test/helpers/app";

let t: TestApp;
beforeAll(async () => {
  t = await makeTestApp();
});

test.each([
  ["an object", "/api/v1/pools", 200],
  ["a handler's own Response", "/api/v1/sessions", 200],
  ["a handler's own Response (one row)", "/api/v1/sessions/ses_missing", 404],
  ["an error", "/api/v1/nowhere", 404],
])("%s: request id and security headers", async (_what, path, status) => {
  const res = await t.call("GET", path, { auth: t.adminKey, headers: { "x-request-id": "req-abc.1" } });
  expect(res.status).toBe(status);
  expect(res.headers.get("x-request-id")).toBe("req-abc.1");
  expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  expect(res.headers.get("x-frame-options")).toBe("DENY");
  expect(res.headers.get("referrer-policy")).toBe("same-origin");
  expect(res.headers.get("content-type")).toContain("application/json");
});
