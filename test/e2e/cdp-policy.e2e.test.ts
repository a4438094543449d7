// The gateway's CDP policy against real Chromium (both image flavours) in containers started by
// BrowserGrid, over a raw WebSocket to the session's cdpUrl: text Chromium would parse but the
// gateway cannot (a literal vertical tab, duplicate keys) never reaches the browser, nested
// protocol channels are closed, file inputs take no container files, and every method the
// browser's own /json/protocol reports is classified in the policy table.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ruleFor } from "../../src/cdp/policy";
import { containersOfSession, docker, startGrid, startPageServer, waitFor, type Grid } from "../helpers/grid";

let grid: Grid;
let pages: Awaited<ReturnType<typeof startPageServer>>;
const created: string[] = [];
const VT = "\u000b";

beforeAll(async () => {
  grid = await startGrid();
  pages = await startPageServer();
}, 60_000);

afterAll(async () => {
  for (const id of created) await grid.api("DELETE", `/api/v1/sessions/${id}`).catch(() => {});
  await grid?.dispose();
  pages?.stop();
});

type Reply = { id?: number; result?: any; error?: { code: number; message: string }; sessionId?: string };

/** A raw CDP client: sends text as given, matches replies by id. */
class RawCdp {
  private nextId = 1000;
  private waiting = new Map<number, (r: Reply) => void>();
  readonly events: any[] = [];
  private constructor(private readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      const m = JSON.parse(String(e.data));
      if (typeof m.id === "number" && this.waiting.has(m.id)) {
        this.waiting.get(m.id)!(m);
        this.waiting.delete(m.id);
      } else this.events.push(m);
    };
  }
  static async open(url: string): Promise<RawCdp> {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error("websocket failed"));
    });
    return new RawCdp(ws);
  }
  /** Sends `text` (which must carry `"id":<id>`) and waits for the reply with that id. */
  raw(id: number, text: string): Promise<Reply> {
    const reply = new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, resolve);
      setTimeout(() => reject(new Error(`no reply to #${id}: ${text.slice(0, 120)}`)), 30_000);
    });
    this.ws.send(text);
    return reply;
  }
  async call(method: string, params: unknown = {}, sessionId?: string): Promise<any> {
    const id = this.nextId++;
    const r = await this.raw(id, JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    if (r.error) throw new Error(`${method}: ${r.error.message}`);
    return r.result;
  }
  /** A new page target and a flat session attached to it. */
  async newPage(url = "about:blank"): Promise<string> {
    const { targetId } = await this.call("Target.createTarget", { url });
    const { sessionId } = await this.call("Target.attachToTarget", { targetId, flatten: true });
    return sessionId;
  }
  evaluate(sessionId: string, expression: string): Promise<any> {
    return this.call("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true }, sessionId).then((r) => r.result.value);
  }
  close(): void {
    this.ws.close();
  }
}

async function session(flavour: string): Promise<{ id: string; cdpUrl: string }> {
  const res = await grid.api("POST", "/api/v1/sessions", { browser: flavour, keepAlive: true });
  expect(res.status).toBe(201);
  created.push(res.body.id);
  return res.body;
}

/** A refusal by the gateway (not Chromium's own error): it never reached the browser. */
function expectRefused(r: Reply, id: number, sessionId?: string): void {
  expect(r).toMatchObject({ id, error: { message: expect.stringMatching(/^BrowserGrid:/) } });
  if (sessionId) expect(r.sessionId).toBe(sessionId);
}

async function execIn(sessionId: string, cmd: string[]): Promise<string> {
  const [c] = await containersOfSession(sessionId);
  const exec = await docker.getContainer(c!.Id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  stream.on("data", (b: Buffer) => chunks.push(b));
  await new Promise((r) => stream.on("end", r));
  // Docker multiplexes stdout/stderr with 8-byte headers; the names we look for survive it.
  return Buffer.concat(chunks).toString("latin1");
}

for (const flavour of ["headless-shell", "chromium"] as const) {
  describe(`${flavour}: the gateway's CDP policy`, () => {
    let s: { id: string; cdpUrl: string };
    let cdp: RawCdp;
    beforeAll(async () => {
      s = await session(flavour);
      cdp = await RawCdp.open(s.cdpUrl);
    }, 60_000);
    afterAll(() => cdp?.close());

    test("every method of the browser's /json/protocol is classified; unclassified ones are refused", async () => {
      const u = new URL(s.cdpUrl.replace(/^ws/, "http"));
      const res = await fetch(`${u.origin}${u.pathname}/json/protocol${u.search}`);
      expect(res.status).toBe(200);
      const protocol = (await res.json()) as { domains: { domain: string; commands?: { name: string }[] }[] };
      const methods = protocol.domains.flatMap((d) => (d.commands ?? []).map((c) => `${d.domain}.${c.name}`));
      expect(methods.length).toBeGreaterThan(500);
      expect(methods.filter((m) => ruleFor(m) === undefined)).toEqual([]);

      for (const [i, method] of ["Foo.bar", "Page.newThing"].entries()) {
        const r = await cdp.raw(i + 1, JSON.stringify({ id: i + 1, method, params: {} }));
        expectRefused(r, i + 1);
        expect(r.error!.code).toBe(-32601);
      }
    });

    test("a Page.navigate to file:// hidden by a literal vertical tab is refused, never forwarded", async () => {
      const sid = await cdp.newPage();
      const text = `{"id":11,"sessionId":"${sid}","method":"Page.navigate","params":{"url":"file:///etc/passwd${VT}"}}`;
      expectRefused(await cdp.raw(11, text), 11, sid);
      expect(await cdp.evaluate(sid, "location.href")).toBe("about:blank");
      expect(await cdp.evaluate(sid, "document.documentElement.innerText")).not.toContain("root:x:0:0");
    });

    test("a message with duplicate keys is refused, never forwarded", async () => {
      const sid = await cdp.newPage();
      await cdp.evaluate(sid, "window.hits = 0");
      const text = `{"id":12,"sessionId":"${sid}","method":"Runtime.evaluate","params":{"expression":"window.hits += 1","expression":"window.hits += 100"}}`;
      expectRefused(await cdp.raw(12, text), 12, sid);
      expect(await cdp.evaluate(sid, "window.hits")).toBe(0);
    });

    test("createBrowserContext with a proxyServer hidden by a vertical tab, escapes or duplicates is refused", async () => {
      const before = (await cdp.call("Target.getBrowserContexts")).browserContextIds.length;
      const attempts = [
        `{"id":21,"method":"Target.createBrowserContext","params":{"proxyServer":"direct://","proxyBypassList":"${VT}"}}`,
        `{"id":22,"method":"Target.createBrowserContext","params":{"proxy\\u0053erver":"direct://"}}`,
        `{"id":23,"method":"Target.createBrowserConte\\u0078t","params":{"proxyServer":"direct://"}}`,
        `{"id":24,"method":"Target.createBrowserContext","params":{"proxyServer":"direct://"},"params":{}}`,
        `{"id":25,"method":"Target.createBrowserContext","params":{},"params":{"proxyServer":"direct://"}}`,
      ];
      for (const [i, text] of attempts.entries()) expectRefused(await cdp.raw(21 + i, text), 21 + i);
      expect((await cdp.call("Target.getBrowserContexts")).browserContextIds.length).toBe(before);
    });

    test("downloads land in the downloads dir: a profile downloadPath is pinned, a hidden one refused", async () => {
      const hidden = `{"id":31,"method":"Browser.setDownloadBehavior","params":{"behavior":"allow","downloadPath":"/home/browser/profile/dl${VT}","eventsEnabled":true}}`;
      expectRefused(await cdp.raw(31, hidden), 31);

      await cdp.call("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: "/home/browser/profile/Default", eventsEnabled: true });
      const sid = await cdp.newPage();
      await cdp.call("Page.navigate", { url: `${pages.url}/report.txt` }, sid).catch(() => {}); // a download aborts the navigation
      await waitFor("download completed", async () => cdp.events.some((e) => e.method === "Browser.downloadProgress" && e.params.state === "completed"), 30_000, 100);
      const listing = await execIn(s.id, ["find", "/home/browser/downloads", "/home/browser/profile", "-name", "report*"]);
      expect(listing).toContain("/home/browser/downloads/report.txt");
      expect(listing).not.toContain("/home/browser/profile/");
    });

    test("nested protocols: non-flat attach, sendMessageToTarget and exposeDevToolsProtocol are refused", async () => {
      const { targetId } = await cdp.call("Target.createTarget", { url: "about:blank" });
      const attach = await cdp.raw(41, JSON.stringify({ id: 41, method: "Target.attachToTarget", params: { targetId, flatten: false } }));
      expectRefused(attach, 41);
      const nested = JSON.stringify({ id: 1, method: "Page.navigate", params: { url: "file:///etc/passwd" } });
      const sessionId = attach.result?.sessionId ?? "none";
      expectRefused(await cdp.raw(42, JSON.stringify({ id: 42, method: "Target.sendMessageToTarget", params: { sessionId, message: nested } })), 42);
      expectRefused(await cdp.raw(43, JSON.stringify({ id: 43, method: "Target.setAutoAttach", params: { autoAttach: true, waitForDebuggerOnStart: false, flatten: false } })), 43);

      expectRefused(await cdp.raw(44, JSON.stringify({ id: 44, method: "Target.exposeDevToolsProtocol", params: { targetId, bindingName: "cdp" } })), 44);
      const { sessionId: sid } = await cdp.call("Target.attachToTarget", { targetId, flatten: true });
      expect(await cdp.evaluate(sid, "typeof window.cdp")).toBe("undefined");
      expect(await cdp.evaluate(sid, "location.href")).toBe("about:blank");
    });

    test("DOM.setFileInputFiles with /etc/passwd is refused; page script sees no file", async () => {
      const sid = await cdp.newPage();
      const html = `<input id=f type=file><pre id=out></pre><script>f.onchange = async () => { out.textContent = await f.files[0].text() }</script>`;
      await cdp.call("Page.navigate", { url: `data:text/html,${encodeURIComponent(html)}` }, sid);
      await waitFor("the page's input", async () => (await cdp.evaluate(sid, "!!document.getElementById('f')")) === true);
      const { root } = await cdp.call("DOM.getDocument", {}, sid);
      const { nodeId } = await cdp.call("DOM.querySelector", { nodeId: root.nodeId, selector: "#f" }, sid);
      for (const [i, files] of [["/etc/passwd"], ["/home/browser/uploads/../../../etc/passwd"], ["/home/browser/profile/Local State"]].entries()) {
        expectRefused(await cdp.raw(51 + i, JSON.stringify({ id: 51 + i, sessionId: sid, method: "DOM.setFileInputFiles", params: { files, nodeId } })), 51 + i, sid);
      }
      expect(await cdp.evaluate(sid, "document.getElementById('f').files.length")).toBe(0);
      expect(await cdp.evaluate(sid, "document.getElementById('out').textContent")).not.toContain("root:");
    });
  });
}
