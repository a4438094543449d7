import { expect, test } from "bun:test";
import { DOWNLOADS_DIR, interceptClientMessage } from "./intercept";

test("setDownloadBehavior: the download path is pinned to the browser's downloads directory", () => {
  for (const method of ["Browser.setDownloadBehavior", "Page.setDownloadBehavior"]) {
    const r = interceptClientMessage(JSON.stringify({ id: 7, method, params: { behavior: "allowAndName", downloadPath: "/home/browser/profile/Default", eventsEnabled: true, browserContextId: "C1" } }));
    expect(r).toMatchObject({ kind: "forward", downloads: true });
    expect(JSON.parse((r as { text: string }).text)).toEqual({ id: 7, method, params: { behavior: "allow", downloadPath: DOWNLOADS_DIR, eventsEnabled: true, browserContextId: "C1" } });
  }
  const deny = interceptClientMessage(JSON.stringify({ id: 8, method: "Browser.setDownloadBehavior", params: { behavior: "deny" } }));
  expect(deny).toMatchObject({ kind: "forward" });
  expect((deny as { downloads?: true }).downloads).toBeUndefined();
  expect(interceptClientMessage(JSON.stringify({ id: 9, method: "Runtime.evaluate", params: { expression: "1" } }))).toBeNull();
});

test("navigation and new targets: only http(s), about:, data: and blob: URLs pass", () => {
  for (const url of ["https://example.com/", "http://10.0.0.1/", "about:blank", "data:text/html,hi", "blob:https://a.example/x"]) {
    for (const method of ["Page.navigate", "Target.createTarget"]) {
      const r = interceptClientMessage(JSON.stringify({ id: 1, method, params: { url } }));
      expect(r).toMatchObject({ kind: "forward" });
      expect(JSON.parse((r as { text: string }).text).params.url).toBe(url);
    }
  }
  for (const url of ["file:///etc/passwd", "FILE:///etc/passwd", " file:///etc/passwd", "view-source:file:///etc/passwd", "chrome://version", "devtools://devtools/x", "filesystem:https://a/x", "ftp://x/"]) {
    for (const method of ["Page.navigate", "Target.createTarget"]) {
      const r = interceptClientMessage(JSON.stringify({ id: 2, method, params: { url }, sessionId: "S" }));
      expect([url, r]).toMatchObject([url, { kind: "refuse", id: 2, sessionId: "S", code: -32000 }]);
    }
  }
  // Hidden from the substring search by a JSON escape: parsed anyway.
  const escaped = '{"id":3,"method":"Page.navig\\u0061te","params":{"url":"file:///etc/passwd"}}';
  expect(interceptClientMessage(escaped)).toMatchObject({ kind: "refuse" });
  // Duplicate keys: what Chromium gets is what was checked (re-serialised, last key wins).
  const dup = '{"id":4,"method":"Page.navigate","params":{"url":"https://ok.example/"},"params":{"url":"file:///etc/passwd"}}';
  expect(interceptClientMessage(dup)).toMatchObject({ kind: "refuse" });
});
