import { expect, test } from "bun:test";
import { BROWSER_PATHS } from "../providers/provider";
import { interceptClientMessage, REFUSAL } from "./intercept";
import { ALLOWED, CHECKED, POLICY_SAMPLES, REFUSED, ruleFor } from "./policy";

const msg = (method: string, params?: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ id: 5, method, ...(params === undefined ? {} : { params }), ...extra });
const forwarded = (r: ReturnType<typeof interceptClientMessage>) => JSON.parse((r as { text: string }).text);

test("the table: allowed methods go through untouched (null), unclassified ones are refused", () => {
  for (const m of POLICY_SAMPLES.allowed) expect(interceptClientMessage(msg(m, { a: 1 }))).toBeNull();
  for (const m of POLICY_SAMPLES.unclassified) {
    expect([m, ruleFor(m)]).toEqual([m, undefined]);
    expect(interceptClientMessage(msg(m, {}, { sessionId: "S" }))).toMatchObject({ kind: "refuse", id: 5, sessionId: "S", code: REFUSAL.unclassified });
  }
  for (const m of POLICY_SAMPLES.refused) expect(interceptClientMessage(msg(m, {}))).toMatchObject({ kind: "refuse", id: 5, code: REFUSAL.policy });
  for (const m of POLICY_SAMPLES.checked) expect(ruleFor(m)?.kind).toBe("check");
});

test("the table classifies each method once", () => {
  const seen = new Set<string>();
  for (const [d, names] of Object.entries(ALLOWED)) for (const n of names.split(" ")) {
    const m = `${d}.${n}`;
    expect([m, seen.has(m), m in CHECKED, m in REFUSED, d in REFUSED]).toEqual([m, false, false, false, false]);
    seen.add(m);
  }
  for (const m of Object.keys(CHECKED)) expect([m, m in REFUSED]).toEqual([m, false]);
});

test("envelope: an integer id, a string method, object params, string sessionId, nothing else", () => {
  const bad = ['{"method":"Page.enable"}', '{"id":"1","method":"Page.enable"}', '{"id":1.5,"method":"Page.enable"}', '{"id":4294967296,"method":"Page.enable"}', '{"id":1}', '{"id":1,"method":7}', '{"id":1,"method":"Page.enable","params":[]}', '{"id":1,"method":"Page.enable","params":null}', '{"id":1,"method":"Page.enable","sessionId":1}', '{"id":1,"method":"Page.enable","foo":1}', "[1]", "1"];
  for (const text of bad) expect([text, interceptClientMessage(text)]).toMatchObject([text, { kind: "refuse", code: REFUSAL.invalidRequest }]);
  expect(interceptClientMessage('{"id":3,"method":"Page.enable","foo":1,"sessionId":"S"}')).toMatchObject({ id: 3, sessionId: "S" });
});

test("text that is not strict JSON is refused, never forwarded, with the id when it was read", () => {
  const vt = '{"id":11,"sessionId":"S","method":"Page.navigate","params":{"url":"file:///etc/passwd\u000b"}}';
  expect(interceptClientMessage(vt)).toMatchObject({ kind: "refuse", id: 11, sessionId: "S", code: REFUSAL.parse });
  const dup = '{"id":4,"method":"Page.navigate","params":{"url":"https://ok.example/"},"params":{"url":"file:///etc/passwd"}}';
  expect(interceptClientMessage(dup)).toMatchObject({ kind: "refuse", id: 4, code: REFUSAL.parse });
  expect(interceptClientMessage('{"id":1,"method":"Runtime.evaluate","params":{"expression":"1"}} ')).toBeNull();
  expect(interceptClientMessage("not json")).toMatchObject({ kind: "refuse", code: REFUSAL.parse });
});

test("setDownloadBehavior: the download path is pinned to the browser's downloads directory", () => {
  for (const method of ["Browser.setDownloadBehavior", "Page.setDownloadBehavior"]) {
    const r = interceptClientMessage(JSON.stringify({ id: 7, method, params: { behavior: "allowAndName", downloadPath: "/home/browser/profile/Default", eventsEnabled: true, browserContextId: "C1" } }));
    expect(r).toMatchObject({ kind: "forward", downloads: { browserEvents: method === "Browser.setDownloadBehavior", clientEvents: true } });
    expect(forwarded(r)).toEqual({ id: 7, method, params: { behavior: "allow", downloadPath: BROWSER_PATHS.downloads, eventsEnabled: true, browserContextId: "C1" } });
    const deny = interceptClientMessage(JSON.stringify({ id: 8, method, params: { behavior: "deny", downloadPath: "/home/browser/profile" } }));
    expect(deny).toMatchObject({ kind: "forward" });
    expect((deny as { downloads?: true }).downloads).toBeUndefined();
    expect(forwarded(deny).params).toEqual({ behavior: "deny" });
  }
  // Escaped spellings are decoded before the check; what is forwarded is the checked value.
  const escaped = interceptClientMessage('{"id":9,"method":"Browser.setDownloadBeh\\u0061vior","params":{"behavior":"allow","download\\u0050ath":"/home/browser/profile"}}');
  expect(forwarded(escaped).params.downloadPath).toBe(BROWSER_PATHS.downloads);
});

test("Browser.setDownloadBehavior that allows downloads always turns download events on; the client's own wish is kept apart", () => {
  const r = interceptClientMessage(JSON.stringify({ id: 3, method: "Browser.setDownloadBehavior", params: { behavior: "allow", downloadPath: "/tmp/x", browserContextId: "C1" } }));
  expect(r).toMatchObject({ kind: "forward", downloads: { browserEvents: true, clientEvents: false } });
  expect(forwarded(r).params).toEqual({ behavior: "allow", downloadPath: BROWSER_PATHS.downloads, browserContextId: "C1", eventsEnabled: true });
  const off = interceptClientMessage(JSON.stringify({ id: 4, method: "Browser.setDownloadBehavior", params: { behavior: "allow", eventsEnabled: false } }));
  expect(forwarded(off).params.eventsEnabled).toBe(true);
  expect(off).toMatchObject({ downloads: { browserEvents: true, clientEvents: false } });
  // Page.setDownloadBehavior has no eventsEnabled: nothing is added there.
  const page = interceptClientMessage(JSON.stringify({ id: 5, method: "Page.setDownloadBehavior", params: { behavior: "allow", downloadPath: "/tmp/x" } }));
  expect(forwarded(page).params).toEqual({ behavior: "allow", downloadPath: BROWSER_PATHS.downloads });
  expect(page).toMatchObject({ downloads: { browserEvents: false, clientEvents: false } });
});

test("URLs: only http(s), about:, data: and blob: pass, for every method that loads one", () => {
  const methods = Object.entries(CHECKED).filter(([, c]) => c.check === "url").map(([m]) => m);
  expect(methods).toEqual(expect.arrayContaining(["Page.navigate", "Target.createTarget", "Network.loadNetworkResource", "Fetch.continueRequest"]));
  for (const method of methods) {
    for (const url of ["https://example.com/", "http://10.0.0.1/", "about:blank", "data:text/html,hi", "blob:https://a.example/x"]) {
      expect(forwarded(interceptClientMessage(msg(method, { url }))).params.url).toBe(url);
    }
    for (const url of ["file:///etc/passwd", "FILE:///etc/passwd", " file:///etc/passwd", "view-source:file:///etc/passwd", "chrome://version", "devtools://devtools/x", "filesystem:https://a/x", "ftp://x/", "javascript:1"]) {
      expect([url, interceptClientMessage(msg(method, { url }, { sessionId: "S" }))]).toMatchObject([url, { kind: "refuse", id: 5, sessionId: "S", code: REFUSAL.policy }]);
    }
    expect(interceptClientMessage(msg(method, { url: 5 }))).toMatchObject({ kind: "refuse" });
  }
  expect(interceptClientMessage('{"id":3,"method":"Page.navig\\u0061te","params":{"url":"file:///etc/passwd"}}')).toMatchObject({ kind: "refuse" });
  expect(forwarded(interceptClientMessage(msg("Fetch.continueRequest", { requestId: "r" }))).params).toEqual({ requestId: "r" });
});

test("createBrowserContext: no proxyServer or proxyBypassList, however spelled", () => {
  for (const text of [
    msg("Target.createBrowserContext", { proxyServer: "direct://" }),
    msg("Target.createBrowserContext", { proxyBypassList: "*" }),
    '{"id":1,"method":"Target.createBrowserContext","params":{"proxy\\u0053erver":"direct://"}}',
    '{"id":1,"method":"Target.createBrowserConte\\u0078t","params":{"proxyServer":"direct://"}}',
  ]) expect([text, interceptClientMessage(text)]).toMatchObject([text, { kind: "refuse" }]);
  expect(interceptClientMessage('{"id":1,"method":"Target.createBrowserContext","params":{"disposeOnDetach":true},"params":{"proxyServer":"direct://"}}')).toMatchObject({ kind: "refuse", code: REFUSAL.parse });
  expect(forwarded(interceptClientMessage(msg("Target.createBrowserContext", { disposeOnDetach: true }))).params).toEqual({ disposeOnDetach: true });
});

test("nested protocols: only flat sessions, no sendMessageToTarget, no exposeDevToolsProtocol", () => {
  for (const m of ["Target.attachToTarget", "Target.setAutoAttach"]) {
    expect(interceptClientMessage(msg(m, { targetId: "T", autoAttach: true, flatten: false }))).toMatchObject({ kind: "refuse" });
    expect(interceptClientMessage(msg(m, { targetId: "T", autoAttach: true }))).toMatchObject({ kind: "refuse" });
    expect(interceptClientMessage(msg(m, { targetId: "T", autoAttach: true, flatten: true }))).toMatchObject({ kind: "forward" });
  }
  expect(interceptClientMessage(msg("Target.setAutoAttach", { autoAttach: false, waitForDebuggerOnStart: false }))).toMatchObject({ kind: "forward" });
  for (const m of ["Target.sendMessageToTarget", "Target.exposeDevToolsProtocol", "Target.openDevTools", "Target.setRemoteLocations", "Tethering.bind", "Target.autoAttachRelated"]) {
    expect([m, interceptClientMessage(msg(m, { targetId: "T", message: "{}" }))]).toMatchObject([m, { kind: "refuse", code: REFUSAL.policy }]);
  }
});

test("uploads: only plain file names directly in the uploads directory", () => {
  const dir = BROWSER_PATHS.uploads;
  const ok = [`${dir}/a.txt`, `${dir}/report-2024_final.pdf`];
  const bad = ["/etc/passwd", `${dir}/../profile/Cookies`, `${dir}/sub/a.txt`, `${dir}/`, dir, `${dir}//a`, `${dir}/./a`, `${dir}/a\0.txt`, "uploads/a.txt", "a.txt", `${dir}/..`, `${dir}/.`, `${dir}x/a`, "/home/browser/downloads/a", `${dir}/report 2024 (final).pdf`, `${dir}/..a`];
  for (const f of ok) {
    expect([f, interceptClientMessage(msg("DOM.setFileInputFiles", { files: [f], nodeId: 1 }))]).toMatchObject([f, { kind: "forward" }]);
    expect(interceptClientMessage(msg("Input.dispatchDragEvent", { type: "drop", x: 1, y: 1, data: { items: [], files: [f], dragOperationsMask: 1 } }))).toMatchObject({ kind: "forward" });
  }
  for (const f of bad) {
    expect([f, interceptClientMessage(msg("DOM.setFileInputFiles", { files: [`${dir}/a.txt`, f], nodeId: 1 }))]).toMatchObject([f, { kind: "refuse" }]);
    expect([f, interceptClientMessage(msg("Page.handleFileChooser", { action: "accept", files: [f] }))]).toMatchObject([f, { kind: "refuse" }]);
    expect([f, interceptClientMessage(msg("Input.dispatchDragEvent", { type: "drop", x: 1, y: 1, data: { items: [], files: [f], dragOperationsMask: 1 } }))]).toMatchObject([f, { kind: "refuse" }]);
  }
  expect(interceptClientMessage(msg("DOM.setFileInputFiles", { files: "/etc/passwd", nodeId: 1 }))).toMatchObject({ kind: "refuse" });
  expect(interceptClientMessage(msg("Input.dispatchDragEvent", { type: "dragEnter", x: 1, y: 1, data: { items: [{ mimeType: "text/plain", data: "x" }], dragOperationsMask: 1 } }))).toMatchObject({ kind: "forward" });
});

test("tracing: the Chrome backend only", () => {
  expect(interceptClientMessage(msg("Tracing.start", { transferMode: "ReturnAsStream", traceConfig: { includedCategories: ["devtools.timeline"] } }))).toMatchObject({ kind: "forward" });
  expect(interceptClientMessage(msg("Tracing.start", { perfettoConfig: "AAAA" }))).toMatchObject({ kind: "refuse" });
  expect(interceptClientMessage(msg("Tracing.start", { tracingBackend: "system" }))).toMatchObject({ kind: "refuse" });
});

test("BrowserGrid.* is answered by the gateway, with its params", () => {
  expect(interceptClientMessage('{"id":2,"method":"BrowserGrid.liveURL","params":{"mode":"view"},"sessionId":"S"}')).toEqual({ kind: "domain", id: 2, sessionId: "S", method: "BrowserGrid.liveURL", params: { mode: "view" } });
  expect(interceptClientMessage('{"id":2,"method":"BrowserGrid.info"}')).toMatchObject({ kind: "domain", params: {} });
});
