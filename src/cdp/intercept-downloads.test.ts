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
  expect(interceptClientMessage(JSON.stringify({ id: 9, method: "Page.navigate", params: { url: "about:blank" } }))).toBeNull();
});
