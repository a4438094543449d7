// The session link registry against a fake browser (test/helpers/fake-cdp-browser.ts), which
// counts WebSocket connections, so "one socket" is seen from the browser's side.
import { afterEach, describe, expect, test } from "bun:test";
import { fakeCdpBrowser, until } from "../../test/helpers/fake-cdp-browser";
import { log } from "../lib/logger";
import { DomainError } from "../lib/errors";
import { SessionLinks, type CdpLease } from "./session-links";

const started: { stop(): void }[] = [];
afterEach(() => {
  for (const s of started.splice(0)) s.stop();
});

function setUp(opts: { lingerMs?: number; running?: () => boolean } = {}) {
  const browser = fakeCdpBrowser();
  const links = new SessionLinks({ resolve: (id) => (id === "ses_a" && (opts.running?.() ?? true) ? browser.address : null), log, lingerMs: opts.lingerMs ?? 0 });
  started.push(browser, { stop: () => links.closeAll() });
  return { browser, links };
}

function recorder(lease: CdpLease) {
  const events: string[] = [];
  const closes: string[] = [];
  lease.onEvent((method, params, sessionId) => events.push(`${method}${params?.sessionId ? `:${params.sessionId}` : ""}${sessionId ? `@${sessionId}` : ""}`));
  lease.onClose((reason) => closes.push(reason));
  return { events, closes };
}

describe("SessionLinks", () => {
  test("two users share one socket, both get every event, and their sends interleave", async () => {
    const { browser, links } = setUp();
    const [a, b] = await Promise.all([links.link("ses_a"), links.link("ses_a")]);
    const ra = recorder(a);
    const rb = recorder(b);
    expect(browser.connections).toBe(1);
    await a.send("Test.emit", { event: "Page.loadEventFired" });
    await b.send("Test.emit", { event: "Page.frameNavigated", sessionId: "X1" });
    expect(ra.events).toEqual(["Page.loadEventFired", "Page.frameNavigated@X1"]);
    expect(rb.events).toEqual(["Page.loadEventFired", "Page.frameNavigated@X1"]);
    const replies = await Promise.all([a.send("One.call", { n: 1 }), b.send("Two.call", { n: 2 }), a.send("Three.call", { n: 3 })]);
    expect(replies.map((r) => `${r.echo} ${r.params.n}`)).toEqual(["One.call 1", "Two.call 2", "Three.call 3"]);
    expect(browser.connections).toBe(1);
  });

  test("a removed listener gets nothing more; a throwing one does not keep events from the others", async () => {
    const { links } = setUp();
    const a = await links.link("ses_a");
    const b = await links.link("ses_a");
    const got: string[] = [];
    const off = a.onEvent((m) => got.push(`a ${m}`));
    a.onEvent(() => {
      throw new Error("listener bug");
    });
    b.onEvent((m) => got.push(`b ${m}`));
    await a.send("Test.emit", { event: "E.one" });
    off();
    await a.send("Test.emit", { event: "E.two" });
    expect(got).toEqual(["a E.one", "b E.one", "b E.two"]);
  });

  test("the link closes when the last user releases it, not before", async () => {
    const { browser, links } = setUp();
    const a = await links.link("ses_a");
    const b = await links.link("ses_a");
    const rb = recorder(b);
    a.release();
    expect(a.isOpen).toBe(false);
    await expect(a.send("After.release")).rejects.toThrow(/released/);
    expect((await b.send("Still.here")).echo).toBe("Still.here");
    expect(browser.open).toBe(1);
    b.release();
    await until(() => browser.open === 0);
    expect(links.openSessions()).toEqual([]);
    expect(rb.closes).toEqual([]); // its own release is no close notification
  });

  test("within the linger the next user gets the same socket; after it, the link closes", async () => {
    const { browser, links } = setUp({ lingerMs: 150 });
    (await links.link("ses_a")).release();
    const again = await links.link("ses_a");
    expect(browser.connections).toBe(1);
    again.release();
    await Bun.sleep(50);
    expect(browser.open).toBe(1);
    await until(() => browser.open === 0);
    await links.link("ses_a");
    expect(browser.connections).toBe(2);
  });

  test("closeSession closes the link for every user and rejects their pending sends", async () => {
    let running = true;
    const { browser, links } = setUp({ running: () => running });
    const a = await links.link("ses_a");
    const b = await links.link("ses_a");
    const ra = recorder(a);
    const rb = recorder(b);
    const pending = a.send("Test.hang");
    running = false;
    links.closeSession("ses_a");
    await expect(pending).rejects.toThrow("the session ended");
    expect(ra.closes).toEqual(["the session ended"]);
    expect(rb.closes).toEqual(["the session ended"]);
    await expect(b.send("After.end")).rejects.toThrow();
    await until(() => browser.open === 0);
    const err = await links.link("ses_a").catch((e) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).status).toBe(409);
    expect(browser.connections).toBe(1);
  });

  test("a session ended while its link opens gets no link, and no socket is left open", async () => {
    const { browser, links } = setUp();
    const opening = links.link("ses_a");
    links.closeSession("ses_a");
    await expect(opening).rejects.toThrow("the session ended");
    await until(() => browser.open === 0);
    expect(links.openSessions()).toEqual([]);
  });

  test("a link whose browser dropped it tells its users, and the next demand opens a new one", async () => {
    const { browser, links } = setUp();
    const a = await links.link("ses_a");
    const ra = recorder(a);
    const pending = a.send("Test.hang");
    browser.dropAll();
    await expect(pending).rejects.toThrow(/closed/);
    await until(() => ra.closes.length === 1);
    expect(a.isOpen).toBe(false);
    expect(links.openSessions()).toEqual([]);
    const again = await links.link("ses_a");
    expect((await again.send("Hello.again")).echo).toBe("Hello.again");
    expect(browser.connections).toBe(2);
  });

  test("a session without a reachable browser is refused with 409 session_not_running, and nothing is opened", async () => {
    const { browser, links } = setUp();
    const err = (await links.link("ses_other").catch((e) => e)) as DomainError;
    expect(err).toBeInstanceOf(DomainError);
    expect(`${err.status} ${err.code}`).toBe("409 session_not_running");
    expect(browser.connections).toBe(0);
  });

  test("attachments belong to their user: its explicit attach event is its own, its release detaches only its sessions and turns off its auto-attach", async () => {
    const { browser, links } = setUp();
    const viewer = await links.link("ses_a");
    const engine = await links.link("ses_a");
    const rv = recorder(viewer);
    const re = recorder(engine);
    await engine.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: true, flatten: true });
    await engine.send("Test.autoAttached", { sessionId: "AUTO1", targetId: "T1" });
    const { sessionId: viewed } = await viewer.send<{ sessionId: string }>("Target.attachToTarget", { targetId: "T1", flatten: true });
    expect(rv.events).toEqual(["Target.attachedToTarget:AUTO0", "Target.attachedToTarget:AUTO1", `Target.attachedToTarget:${viewed}`]);
    expect(re.events).toEqual(["Target.attachedToTarget:AUTO0", "Target.attachedToTarget:AUTO1"]);
    // A child auto-attached under the engine's session is the engine's too.
    await engine.send("Test.emit", { event: "Target.attachedToTarget", params: { sessionId: "AUTO2", targetInfo: { targetId: "F1", type: "iframe" } }, sessionId: "AUTO1" });

    browser.commands.length = 0;
    engine.release();
    await until(() => browser.commands.length === 4);
    expect(browser.commands.map(([m, p]) => `${m} ${p.sessionId ?? p.autoAttach}`).sort()).toEqual(["Target.detachFromTarget AUTO0", "Target.detachFromTarget AUTO1", "Target.detachFromTarget AUTO2", "Target.setAutoAttach false"]);
    expect(viewer.isOpen).toBe(true);

    browser.commands.length = 0;
    const other = await links.link("ses_a"); // keeps the link open past the viewer's release
    viewer.release();
    await until(() => browser.commands.length === 1);
    expect(browser.commands.map(([m, p]) => `${m} ${p.sessionId}`)).toEqual([`Target.detachFromTarget ${viewed}`]);
    other.release();
  });

  test("a session a user detached itself is not detached again on release", async () => {
    const { browser, links } = setUp();
    const a = await links.link("ses_a");
    const keep = await links.link("ses_a");
    const { sessionId } = await a.send<{ sessionId: string }>("Target.attachToTarget", { targetId: "T9", flatten: true });
    await a.send("Target.detachFromTarget", { sessionId });
    browser.commands.length = 0;
    a.release();
    await Bun.sleep(50);
    expect(browser.commands).toEqual([]);
    keep.release();
  });
});
