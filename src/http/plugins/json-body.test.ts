// The API takes what its document says: JSON objects (415 for other media types, 400 for a JSON
// value that is not an object, nothing stored either way), no body as {}, streamed uploads as
// they are; a known path with a wrong method is 405 with Allow, an unknown path 404.
import { describe, expect, test } from "bun:test";
import { makeTestApp, ORIGIN } from "../../../test/helpers/app";

const FORM = "application/x-www-form-urlencoded";

describe("JSON bodies only on /api/", () => {
  test("a form, multipart or text body is refused with 415 and creates nothing", async () => {
    const t = await makeTestApp();
    const before = (await t.call("GET", "/api/v1/api-keys", { auth: t.adminKey })).body.items.length;
    for (const [type, body] of <[string, string][]>[
      [FORM, "name=from-a-form"],
      ["multipart/form-data; boundary=b", '--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n'],
      ["text/plain", '{"name":"as-text"}'],
    ]) {
      const res = await t.call("POST", "/api/v1/api-keys", { auth: t.adminKey, body, headers: { "content-type": type } });
      expect(res.status).toBe(415);
      expect(res.body.error.message).toContain("Content-Type: application/json");
    }
    expect((await t.call("GET", "/api/v1/api-keys", { auth: t.adminKey })).body.items.length).toBe(before);
    const json = await t.call("POST", "/api/v1/api-keys", { auth: t.adminKey, body: { name: "as-json" }, headers: { "content-type": "application/json; charset=utf-8" } });
    expect(json.status).toBe(201);
  });

  test("a JSON value that is not an object is a 400, not an empty change", async () => {
    const t = await makeTestApp();
    for (const body of ["false", "0", "null", "[]", '"x"']) {
      const res = await t.call("PATCH", "/api/v1/pools/default", { auth: t.adminKey, body, headers: { "content-type": "application/json" } });
      expect({ body, status: res.status, code: res.body.error?.code }).toEqual({ body, status: 400, code: "invalid_body" });
    }
  });

  test("no body is {}: all-optional routes take it, a route that needs a field names it", async () => {
    const t = await makeTestApp();
    expect((await t.call("PATCH", "/api/v1/pools/default", { auth: t.adminKey })).status).toBe(200);
    const missing = await t.call("POST", "/api/v1/api-keys", { auth: t.adminKey });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toContain("name");
  });

  test("the profile import streams its archive whatever the media type; UI forms outside /api/ still post forms", async () => {
    const t = await makeTestApp();
    const archive = await t.call("POST", "/api/v1/profiles/import?name=raw", { auth: t.adminKey, body: "not a tar", headers: { "content-type": "application/octet-stream" } });
    expect(archive.status).toBe(400);
    expect(archive.body.error.code).not.toBe("unsupported_media_type");
    const ui = await t.app.handle(new Request("http://localhost/api-keys", { method: "POST", headers: { cookie: t.cookie, origin: ORIGIN, "content-type": FORM }, body: "name=ui-key&role=member&expires=" }));
    expect(ui.status).toBeLessThan(400);
  });
});

describe("405 for a wrong method", () => {
  test("a known path answers 405 with the methods it takes; an unknown one 404", async () => {
    const t = await makeTestApp();
    const put = await t.call("PUT", "/api/v1/api-keys", { auth: t.adminKey });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, POST");
    const trace = await t.call("TRACE", "/api/v1/sessions/abc", { auth: t.adminKey });
    expect(trace.status).toBe(405);
    expect(trace.headers.get("allow")).toBe("DELETE, GET");
    expect((await t.call("GET", "/api/v1/profiles/import", { auth: t.adminKey })).status).not.toBe(405); // /profiles/:id takes GET
    expect((await t.call("PUT", "/api/v1/profiles/import", { auth: t.adminKey })).headers.get("allow")).toBe("POST");
    expect((await t.call("GET", "/api/v1/no-such-thing", { auth: t.adminKey })).status).toBe(404);
  });
});
