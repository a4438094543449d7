// The gateway's reading of download events. Message texts as Chromium 156 sends them (copied
// from a real browser: Browser.* without sessionId, Page.* with the flat session's id).
import { describe, expect, test } from "bun:test";
import { DownloadWatch, downloadFileName, isDownloadEvent, nameInDownloads } from "./download-events";

const GUID = "ac74af44-3851-424f-a018-6e706a0e9849";
const msg = (o: unknown) => Buffer.from(JSON.stringify(o));
const browserBegin = (name: string, guid = GUID) => msg({ method: "Browser.downloadWillBegin", params: { frameId: "F1", guid, url: "http://h/f", suggestedFilename: name } });
const browserDone = (filePath?: string, guid = GUID, state = "completed") =>
  msg({ method: "Browser.downloadProgress", params: { guid, totalBytes: 5, receivedBytes: 5, state, ...(filePath === undefined ? {} : { filePath }) } });
const pageBegin = (name: string, guid = GUID) => msg({ method: "Page.downloadWillBegin", params: { frameId: "F1", guid, url: "http://h/f", suggestedFilename: name }, sessionId: "S1" });
const pageDone = (guid = GUID, state = "completed") => msg({ method: "Page.downloadProgress", params: { guid, totalBytes: 5, receivedBytes: 5, state }, sessionId: "S1" });

describe("isDownloadEvent", () => {
  test("matches Browser.download* and Page.download* events only", () => {
    expect(isDownloadEvent(browserBegin("a.txt"))).toBe(true);
    expect(isDownloadEvent(browserDone("/home/browser/downloads/a.txt"))).toBe(true);
    expect(isDownloadEvent(pageDone())).toBe(true);
    expect(isDownloadEvent(msg({ method: "Page.frameNavigated", params: {} }))).toBe(false);
    expect(isDownloadEvent(msg({ method: "Page.domContentEventFired", params: {} }))).toBe(false); // "d" where "download" starts
    expect(isDownloadEvent(msg({ method: "Browser.dxwnloadProgress", params: {} }))).toBe(false);
    expect(isDownloadEvent(msg({ id: 3, result: { method: "Browser.downloadProgress" } }))).toBe(false);
    expect(isDownloadEvent(Buffer.from('{"method":"Browser.download'))).toBe(false);
    expect(isDownloadEvent(Buffer.from(""))).toBe(false);
  });

  test("a huge message is not read as one", () => {
    expect(isDownloadEvent(Buffer.concat([browserBegin("a.txt"), Buffer.alloc(70 * 1024, 0x20)]))).toBe(false);
  });
});

describe("downloadFileName / nameInDownloads", () => {
  test("plain names pass, including spaces and non-ASCII letters", () => {
    for (const n of ["report.txt", "report (1).txt", "Rechnung März.pdf", "a"]) expect(downloadFileName(n)).toBe(n);
  });

  test("paths, hidden and partial files, control characters and over-long names are refused", () => {
    for (const n of ["", ".", "..", ".bashrc", "a/b", "../x", "a\\b", "x.crdownload", "a\nb", "a\u0000b", "é".repeat(128), 7, null, undefined])
      expect(downloadFileName(n)).toBeNull();
    expect(downloadFileName("é".repeat(127))).toBe("é".repeat(127));
  });

  test("only files directly in the downloads directory", () => {
    expect(nameInDownloads("/home/browser/downloads/a.txt")).toBe("a.txt");
    for (const p of ["/home/browser/profile/a.txt", "/home/browser/downloads/sub/a.txt", "/home/browser/downloads/", "/home/browser/downloadsX/a", "/home/browser/downloads/../profile/Cookies", "a.txt", 3])
      expect(nameInDownloads(p)).toBeNull();
  });
});

describe("DownloadWatch", () => {
  test("Browser events: the completed event's filePath names the file, not the suggested name", () => {
    const w = new DownloadWatch();
    w.downloadsAllowed({ browserEvents: true, clientEvents: true });
    expect(w.observe(browserBegin("report.txt"))).toEqual({ finished: null, forward: true });
    expect(w.observe(browserDone(undefined, GUID, "inProgress"))).toEqual({ finished: null, forward: true });
    expect(w.observe(browserDone("/home/browser/downloads/report (1).txt"))).toEqual({ finished: { guid: GUID, name: "report (1).txt" }, forward: true });
  });

  test("a filePath outside the downloads directory is not reported", () => {
    const w = new DownloadWatch();
    w.downloadsAllowed({ browserEvents: true, clientEvents: true });
    w.observe(browserBegin("report.txt"));
    expect(w.observe(browserDone("/home/browser/profile/Default/Cookies")).finished).toBeNull();
  });

  test("a Browser completion without filePath (older Chromium) falls back to the suggested name", () => {
    const w = new DownloadWatch();
    w.downloadsAllowed({ browserEvents: true, clientEvents: true });
    w.observe(browserBegin("data.csv"));
    expect(w.observe(browserDone()).finished).toEqual({ guid: GUID, name: "data.csv" });
    // Reported once: the name is forgotten with the completion.
    expect(w.observe(browserDone()).finished).toBeNull();
  });

  test("canceled downloads and unknown guids report nothing", () => {
    const w = new DownloadWatch();
    w.observe(pageBegin("a.txt"));
    expect(w.observe(pageDone(GUID, "canceled")).finished).toBeNull();
    expect(w.observe(pageDone(GUID)).finished).toBeNull();
    expect(w.observe(pageDone("other-guid")).finished).toBeNull();
  });

  test("Page events name the file by its suggested name on a connection without Browser events", () => {
    const w = new DownloadWatch();
    expect(w.observe(pageBegin("f.txt"))).toEqual({ finished: null, forward: true });
    expect(w.observe(pageDone())).toEqual({ finished: { guid: GUID, name: "f.txt" }, forward: true });
  });

  test("Page events are ignored (but forwarded) once the connection gets Browser events", () => {
    const w = new DownloadWatch();
    w.downloadsAllowed({ browserEvents: true, clientEvents: true });
    w.observe(pageBegin("f.txt"));
    w.observe(browserBegin("f.txt"));
    expect(w.observe(pageDone())).toEqual({ finished: null, forward: true });
    expect(w.observe(browserDone("/home/browser/downloads/f.txt")).finished).toEqual({ guid: GUID, name: "f.txt" });
  });

  test("Browser events the client did not ask for are not forwarded, but still read", () => {
    const w = new DownloadWatch();
    w.downloadsAllowed({ browserEvents: true, clientEvents: false });
    expect(w.observe(browserBegin("f.txt")).forward).toBe(false);
    expect(w.observe(browserDone("/home/browser/downloads/f.txt"))).toEqual({ finished: { guid: GUID, name: "f.txt" }, forward: false });
    expect(w.observe(pageDone()).forward).toBe(true);
    w.downloadsAllowed({ browserEvents: true, clientEvents: true });
    expect(w.observe(browserDone("/home/browser/downloads/f.txt")).forward).toBe(true);
  });

  test("Page.setDownloadBehavior brings no Browser events: Page events still count", () => {
    const w = new DownloadWatch();
    w.downloadsAllowed({ browserEvents: false, clientEvents: false });
    w.observe(pageBegin("f.txt"));
    expect(w.observe(pageDone())).toEqual({ finished: { guid: GUID, name: "f.txt" }, forward: true });
  });

  test("unparseable or malformed events are forwarded and report nothing", () => {
    const w = new DownloadWatch();
    w.downloadsAllowed({ browserEvents: true, clientEvents: true });
    for (const bad of [
      Buffer.from('{"method":"Browser.downloadProgress",'),
      msg({ method: "Browser.downloadProgress", params: { guid: 7, state: "completed", filePath: "/home/browser/downloads/a" } }),
      msg({ method: "Browser.downloadProgress", params: null }),
      msg({ method: "Browser.downloadProgress", params: { guid: GUID, state: "completed", filePath: "/home/browser/downloads/.hidden" } }),
      msg({ method: "Page.downloadWillBegin", params: { guid: GUID, suggestedFilename: "../../etc/passwd" } }),
    ])
      expect(w.observe(bad)).toEqual({ finished: null, forward: true });
  });

  test("names of downloads under way are bounded", () => {
    const w = new DownloadWatch();
    for (let i = 0; i < 300; i++) w.observe(pageBegin(`f${i}.txt`, `g${i}`));
    expect(w.observe(pageDone("g0")).finished).toBeNull(); // dropped, oldest first
    expect(w.observe(pageDone("g299")).finished).toEqual({ guid: "g299", name: "f299.txt" });
  });
});
