// Validation errors name the field and say what to send instead.
import { expect, test } from "bun:test";
import { makeTestApp } from "../../test/helpers/app";

test("a value outside a fixed choice names the field and lists the values it takes", async () => {
  const t = await makeTestApp();
  const list = await t.call("GET", "/api/v1/sessions?status=sleeping", { auth: t.adminKey });
  expect(list.status).toBe(400);
  expect(list.body.error.message).toBe('Field "status": must be one of "queued", "starting", "running", "paused", "stopping", "completed", "failed", "timed_out", "crashed".');
  const create = await t.call("POST", "/api/v1/sessions", { auth: t.adminKey, body: { browser: "firefox" } });
  expect(create.status).toBe(400);
  expect(create.body.error.message).toBe('Field "browser": must be one of "headless-shell", "chromium".');
});

test("other validation errors keep their wording: a wrong type names the field, an unknown one says to remove it", async () => {
  const t = await makeTestApp();
  const res = await t.call("POST", "/api/v1/sessions", { auth: t.adminKey, body: { keepAlive: "yes" } });
  expect(res.status).toBe(400);
  expect(res.body.error.message).toMatch(/^Field "keepAlive": .*boolean/i);
  const unknown = await t.call("GET", "/api/v1/sessions?owner=me", { auth: t.adminKey });
  expect(unknown.body.error.message).toBe('Unknown field "owner": remove it.');
});

test("a whole number in a query or path: a fraction, zero or a word is a 400 that names the field and the range", async () => {
  const t = await makeTestApp();
  for (const q of ["limit=1.5", "limit=0", "limit=501", "limit=ten"]) {
    const res = await t.call("GET", `/api/v1/sessions?${q}`, { auth: t.adminKey });
    expect({ q, status: res.status, message: res.body.error?.message }).toEqual({ q, status: 400, message: 'Field "limit": give a whole number from 1 to 500.' });
  }
  expect((await t.call("GET", "/api/v1/sessions?limit=2", { auth: t.adminKey })).status).toBe(200);
  const version = await t.call("GET", "/api/v1/rule-sets/any?version=2.5", { auth: t.adminKey });
  expect(version.status).toBe(400);
  expect(version.body.error.message).toBe('Field "version": give a whole number from 1 to 1000000000.');
});

test("a number out of range in a body names the field and the range", async () => {
  const t = await makeTestApp();
  const wide = await t.call("POST", "/api/v1/sessions", { auth: t.adminKey, body: { viewport: { width: 99999, height: 600 } } });
  expect(wide.status).toBe(400);
  expect(wide.body.error.message).toMatch(/^Field "viewport\.width": must be a whole number from \d+ to \d+\.$/);
  const negative = await t.call("POST", "/api/v1/sessions", { auth: t.adminKey, body: { timeoutSec: -5 } });
  expect(negative.body.error.message).toBe('Field "timeoutSec": must be a whole number from 1 to 604800.');
  const fraction = await t.call("POST", "/api/v1/sessions", { auth: t.adminKey, body: { idleTimeoutSec: 1.5 } });
  expect(fraction.body.error.message).toMatch(/^Field "idleTimeoutSec": must be a whole number/);
});
