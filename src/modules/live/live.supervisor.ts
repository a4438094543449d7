// The live view's side of a session's browser: a lease on the session's BrowserGrid CDP link
// (src/cdp/session-links.ts, shared with rule sets, screenshots, …) per watched session,
// attached (flat session) to one page, screencasting only while at least one viewer watches —
// the first viewer starts Page.startScreencast, the last one leaving stops it, and the lease is
// released shortly after (its page attachment detached). Frames are acknowledged at most ~15 times a
// second, which is what paces Chromium, so an animated page does not burn a core for a live
// view. Input (mouse, keys, text, navigation, tab switch) goes to the attached page.
import type { Logger } from "../../lib/logger";
import { BadRequest, Unavailable } from "../../lib/errors";
import type { CdpLease } from "../../cdp/session-links";
import type { LiveViewer } from "./live.viewer";

const MIN_FRAME_INTERVAL_MS = 66;
const LINGER_MS = 10_000;

interface PageInfo {
  targetId: string;
  title: string;
  url: string;
  seq: number;
}

export interface LiveInput {
  type: "mouse" | "key" | "text" | "navigate" | "back" | "forward" | "reload" | "tab";
  action?: string;
  x?: number;
  y?: number;
  button?: string;
  clicks?: number;
  dx?: number;
  dy?: number;
  modifiers?: number;
  key?: string;
  code?: string;
  keyCode?: number;
  text?: string;
  url?: string;
  targetId?: string;
}

const isBlank = (url: string) => url === "" || url === "about:blank";

export class LiveSession {
  readonly viewers = new Set<LiveViewer>();
  private client: CdpLease | null = null;
  private pages = new Map<string, PageInfo>();
  private seq = 0;
  private current: { targetId: string; cdpSession: string } | null = null;
  private pinned = false;
  private casting = false;
  private lastFrame: string | null = null;
  private viewport = { width: 1280, height: 720 };
  private lastAckAt = 0;
  private linger: ReturnType<typeof setTimeout> | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private gone = false;

  constructor(
    readonly sessionId: string,
    private browser: {
      /** The session is running (checked before each link is taken). */
      isRunning(): boolean;
      /** A lease on the session's shared CDP link. */
      link(): Promise<CdpLease>;
    },
    private onDisposed: () => void,
    private log: Logger,
  ) {}

  /** Adds a viewer; resolves once frames are flowing (or the viewer was told why not). */
  async join(v: LiveViewer): Promise<void> {
    clearTimeout(this.linger);
    this.viewers.add(v);
    v.onClose = () => this.leave(v);
    if (this.lastFrame && this.casting) v.pushFrame(this.lastFrame);
    v.send("tabs", this.tabsJson());
    try {
      await this.serial(() => this.ensureCasting());
    } catch (err) {
      v.send("ended", err instanceof Unavailable ? err.message : "The browser of this session cannot be reached.");
      v.end();
    }
  }

  private leave(v: LiveViewer): void {
    this.viewers.delete(v);
    if (this.viewers.size > 0 || this.gone) return;
    void this.serial(() => this.stopCasting());
    this.linger = setTimeout(() => this.dispose(), LINGER_MS);
  }

  /** Runs state changes one at a time: attach/start/stop never interleave. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }

  private async connect(): Promise<CdpLease> {
    if (this.client?.isOpen) return this.client;
    if (!this.browser.isRunning()) throw new Unavailable("The session is not running.", "session_not_running");
    const c = await this.browser.link();
    if (this.gone) {
      c.release();
      throw new Unavailable("The live view was closed.", "session_not_running");
    }
    c.onEvent((method, params, sessionId) => this.onEvent(method, params, sessionId));
    c.onClose((reason) => this.onBrowserGone(reason));
    this.client = c;
    await c.send("Target.setDiscoverTargets", { discover: true });
    const { targetInfos } = await c.send<{ targetInfos: { targetId: string; type: string; title: string; url: string }[] }>("Target.getTargets");
    // Chromium lists the newest target first.
    for (const t of [...targetInfos].reverse()) if (t.type === "page") this.pages.set(t.targetId, { targetId: t.targetId, title: t.title, url: t.url, seq: ++this.seq });
    return c;
  }

  /** The page to show when the viewer has not picked one: the newest with a real URL. */
  private bestPage(): PageInfo | undefined {
    const all = [...this.pages.values()].sort((a, b) => b.seq - a.seq);
    return all.find((p) => !isBlank(p.url)) ?? all[0];
  }

  private async ensureCasting(): Promise<void> {
    if (!this.viewers.size || this.gone) return;
    const c = await this.connect();
    if (!this.current) {
      const p = this.bestPage();
      if (!p) return;
      const { sessionId } = await c.send<{ sessionId: string }>("Target.attachToTarget", { targetId: p.targetId, flatten: true });
      this.current = { targetId: p.targetId, cdpSession: sessionId };
      this.broadcastTabs();
    }
    if (!this.casting) {
      this.casting = true;
      await c.send("Page.startScreencast", { format: "jpeg", quality: 60, maxWidth: 1280, maxHeight: 1280 }, this.current.cdpSession);
    }
  }

  private async stopCasting(): Promise<void> {
    if (!this.casting || !this.current || !this.client?.isOpen) return;
    this.casting = false;
    this.lastFrame = null;
    await this.client.send("Page.stopScreencast", {}, this.current.cdpSession).catch(() => {});
  }

  private async switchTo(targetId: string): Promise<void> {
    if (this.current?.targetId === targetId) return;
    await this.stopCasting();
    const old = this.current;
    this.current = null;
    if (old && this.client?.isOpen) await this.client.send("Target.detachFromTarget", { sessionId: old.cdpSession }).catch(() => {});
    if (this.client?.isOpen) await this.client.send("Target.activateTarget", { targetId }).catch(() => {});
    await this.ensureCastingOn(targetId);
  }

  private async ensureCastingOn(targetId: string): Promise<void> {
    const c = await this.connect();
    const { sessionId } = await c.send<{ sessionId: string }>("Target.attachToTarget", { targetId, flatten: true });
    this.current = { targetId, cdpSession: sessionId };
    this.broadcastTabs();
    if (this.viewers.size) {
      this.casting = true;
      await c.send("Page.startScreencast", { format: "jpeg", quality: 60, maxWidth: 1280, maxHeight: 1280 }, sessionId);
    }
  }

  private onEvent(method: string, params: any, cdpSession: string | undefined): void {
    switch (method) {
      case "Page.screencastFrame": {
        if (!this.current || cdpSession !== this.current.cdpSession) return;
        const ackId = params.sessionId as number;
        const session = cdpSession;
        const wait = Math.max(0, this.lastAckAt + MIN_FRAME_INTERVAL_MS - Date.now());
        setTimeout(() => {
          this.lastAckAt = Date.now();
          this.client?.send("Page.screencastFrameAck", { sessionId: ackId }, session).catch(() => {});
        }, wait);
        const m = params.metadata as { deviceWidth?: number; deviceHeight?: number };
        if (m?.deviceWidth && m?.deviceHeight) this.viewport = { width: m.deviceWidth, height: m.deviceHeight };
        this.lastFrame = params.data as string;
        for (const v of this.viewers) v.pushFrame(this.lastFrame);
        return;
      }
      case "Target.targetCreated":
      case "Target.targetInfoChanged": {
        const t = params.targetInfo as { targetId: string; type: string; title: string; url: string };
        if (t.type !== "page") return;
        const known = this.pages.get(t.targetId);
        this.pages.set(t.targetId, { targetId: t.targetId, title: t.title, url: t.url, seq: known?.seq ?? ++this.seq });
        this.broadcastTabs();
        this.follow();
        return;
      }
      case "Target.targetDestroyed": {
        const id = params.targetId as string;
        if (!this.pages.delete(id)) return;
        if (this.current?.targetId === id) {
          this.current = null;
          this.casting = false;
          this.pinned = false;
          void this.serial(() => this.ensureCasting()).catch(() => {});
        }
        this.broadcastTabs();
        return;
      }
    }
  }

  /** Until the viewer picks a tab, show the newest page with a real URL. */
  private follow(): void {
    if (this.pinned || !this.viewers.size) return;
    const best = this.bestPage();
    if (best && this.current && best.targetId !== this.current.targetId && !isBlank(best.url))
      void this.serial(() => this.switchTo(best.targetId)).catch((err) => this.log.debug("live view follow failed", { err }));
  }

  private tabsJson(): string {
    const tabs = [...this.pages.values()]
      .sort((a, b) => a.seq - b.seq)
      .map((p) => ({ id: p.targetId, title: p.title || p.url || "New tab", url: p.url, active: p.targetId === this.current?.targetId }));
    return JSON.stringify({ tabs });
  }

  private broadcastTabs(): void {
    const json = this.tabsJson();
    for (const v of this.viewers) v.send("tabs", json);
  }

  /** One input from a controlling viewer, sent to the page shown. */
  async input(cmd: LiveInput): Promise<void> {
    if (cmd.type === "tab") {
      if (!cmd.targetId || !this.pages.has(cmd.targetId)) throw new BadRequest("No such tab.");
      this.pinned = true;
      return this.serial(() => this.switchTo(cmd.targetId!));
    }
    const c = this.client;
    const cur = this.current;
    if (!c?.isOpen || !cur) throw new Unavailable("Nothing is shown yet: open the live view first.", "live_not_ready");
    const s = cur.cdpSession;
    const modifiers = cmd.modifiers ?? 0;
    switch (cmd.type) {
      case "mouse": {
        const x = Math.round((cmd.x ?? 0) * this.viewport.width);
        const y = Math.round((cmd.y ?? 0) * this.viewport.height);
        const button = cmd.button === "right" || cmd.button === "middle" ? cmd.button : "left";
        if (cmd.action === "wheel")
          return void (await c.send("Input.dispatchMouseEvent", { type: "mouseWheel", x, y, deltaX: cmd.dx ?? 0, deltaY: cmd.dy ?? 0, modifiers }, s));
        const type = cmd.action === "down" ? "mousePressed" : cmd.action === "up" ? "mouseReleased" : "mouseMoved";
        const pressed = type !== "mouseMoved";
        return void (await c.send(
          "Input.dispatchMouseEvent",
          { type, x, y, modifiers, button: pressed ? button : "none", clickCount: pressed ? (cmd.clicks ?? 1) : 0 },
          s,
        ));
      }
      case "key": {
        const base = { modifiers, key: cmd.key ?? "", code: cmd.code ?? "", windowsVirtualKeyCode: cmd.keyCode ?? 0, nativeVirtualKeyCode: cmd.keyCode ?? 0 };
        if (cmd.action === "up") return void (await c.send("Input.dispatchKeyEvent", { type: "keyUp", ...base }, s));
        const text = cmd.key === "Enter" ? "\r" : cmd.text && cmd.text.length <= 2 && !(modifiers & 6) ? cmd.text : undefined;
        return void (await c.send("Input.dispatchKeyEvent", text ? { type: "keyDown", text, unmodifiedText: text, ...base } : { type: "rawKeyDown", ...base }, s));
      }
      case "text":
        return void (await c.send("Input.insertText", { text: cmd.text ?? "" }, s));
      case "navigate": {
        const url = normalizeUrl(cmd.url ?? "");
        return void (await c.send("Page.navigate", { url }, s));
      }
      case "reload":
        return void (await c.send("Page.reload", {}, s));
      case "back":
      case "forward": {
        const h = await c.send<{ currentIndex: number; entries: { id: number }[] }>("Page.getNavigationHistory", {}, s);
        const entry = h.entries[h.currentIndex + (cmd.type === "back" ? -1 : 1)];
        if (entry) await c.send("Page.navigateToHistoryEntry", { entryId: entry.id }, s);
        return;
      }
    }
  }

  private onBrowserGone(reason: string): void {
    if (this.gone) return;
    this.gone = true;
    this.log.debug("live view connection closed", { sessionId: this.sessionId, reason });
    for (const v of [...this.viewers]) {
      v.send("ended", "The session has ended.");
      v.end();
    }
    this.viewers.clear();
    this.onDisposed();
  }

  dispose(): void {
    if (this.viewers.size) return;
    this.gone = true;
    clearTimeout(this.linger);
    this.client?.release();
    this.client = null;
    this.onDisposed();
  }
}

/** Web addresses only: no file:, chrome:, javascript: or data: from the live view. */
export function normalizeUrl(raw: string): string {
  const s = raw.trim();
  if (s === "about:blank") return s;
  const withScheme = /^[a-z][a-z0-9+.-]*:/i.test(s) ? s : `https://${s}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new BadRequest("Enter a web address such as https://example.com.");
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new BadRequest("Only http and https addresses can be opened from the live view.");
  return u.href;
}
