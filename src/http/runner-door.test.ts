// The runner door's screen and its discovery rewrite, on requests and answers built here. The
// door with a real grid, gateway and runners: test/e2e/runner.e2e.test.ts.
import { describe, expect, test } from "bun:test";
import { pointDiscoveryAtDoor, screenRunnerRequest } from "./runner-door";

const DOOR = "http://172.18.0.1:7171";

describe("screenRunnerRequest", () => {
  test("lets /cdp/… and /api/v1/… through and drops the Cookie header", () => {
    for (const path of ["/cdp/s1~tok/json/version", "/cdp/s1?token=t", "/api/v1/sessions", "/api/v1/runs/r1/result?x=1"]) {
      const req = new Request(DOOR + path, { headers: { cookie: "bg_session=abc", authorization: "Bearer k" } });
      expect(screenRunnerRequest(req)).toBeUndefined();
      expect(req.headers.get("cookie")).toBeNull();
      expect(req.headers.get("authorization")).toBe("Bearer k");
    }
  });

  test("an /api/v1/… request without a bearer token is 401 saying to send the run token (not the Host check's 421)", async () => {
    for (const headers of [{}, { authorization: "Basic dTpw" }, { cookie: "bg_session=abc" }] as Record<string, string>[]) {
      const res = screenRunnerRequest(new Request(DOOR + "/api/v1/runs/r1", { headers }));
      expect(res?.status).toBe(401);
      expect((await res!.json()).error.message).toContain("BROWSERGRID_RUN_TOKEN");
    }
    expect(screenRunnerRequest(new Request(DOOR + "/cdp/s1?token=t"))).toBeUndefined();
  });

  test("answers 404 for everything else, and for paths another parser could resolve elsewhere", async () => {
    for (const path of ["/", "/login", "/healthz", "/api/docs", "/api/openapi.json", "/json/version", "/connect", "/cdp", "/api/v1", "/sessions/x", "/api/v1/%2e%2e/healthz", "/api/v1/%2E./x", "/cdp/x%2f..%2fy", "/api/v1/a%5cb"]) {
      const res = screenRunnerRequest(new Request(DOOR + path));
      expect({ path, status: res?.status }).toEqual({ path, status: 404 });
      expect((await res!.json()).error.message).toContain("/cdp/<session id>");
    }
  });
});

describe("pointDiscoveryAtDoor", () => {
  const publicWs = "wss://grid.example.com/bg";
  const doorWs = "ws://172.18.0.1:7171";
  const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=UTF-8", "content-length": "999" } });

  test("/json/version: webSocketDebuggerUrl on the public base (with its path prefix) → the door", async () => {
    const res = await pointDiscoveryAtDoor(json({ Browser: "Chrome/1", webSocketDebuggerUrl: `${publicWs}/cdp/s1?token=t` }), publicWs, doorWs);
    expect(await res.json()).toEqual({ Browser: "Chrome/1", webSocketDebuggerUrl: `${doorWs}/cdp/s1?token=t` });
    expect(res.headers.get("content-length")).not.toBe("999");
  });

  test("/json/list: every target's URL; other fields and foreign URLs untouched", async () => {
    const res = await pointDiscoveryAtDoor(
      json([
        { id: "A", url: `${publicWs}/cdp/s1`, webSocketDebuggerUrl: `${publicWs}/cdp/s1/devtools/page/A?token=t` },
        { id: "B", webSocketDebuggerUrl: "ws://elsewhere/cdp/s1" },
      ]),
      publicWs,
      doorWs,
    );
    expect(await res.json()).toEqual([
      { id: "A", url: `${publicWs}/cdp/s1`, webSocketDebuggerUrl: `${doorWs}/cdp/s1/devtools/page/A?token=t` },
      { id: "B", webSocketDebuggerUrl: "ws://elsewhere/cdp/s1" },
    ]);
  });

  test("errors and non-JSON answers pass as they are", async () => {
    const err = json({ error: { code: "not_found" } }, 404);
    expect(await pointDiscoveryAtDoor(err, publicWs, doorWs)).toBe(err);
    const text = new Response("hi", { headers: { "content-type": "text/plain" } });
    expect(await pointDiscoveryAtDoor(text, publicWs, doorWs)).toBe(text);
  });
});
