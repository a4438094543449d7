// A session's rule engine: a lease on BrowserGrid's own CDP link to the browser
// (src/cdp/session-links.ts: straight to Chromium, not through the gateway, so it is no client
// and keeps no session alive; shared with the live view and screenshots) that applies the
// session's rules to every request, whatever client drives the browser. The link routes each
// user's explicit attachments to that user only, so the engine sets up exactly the targets its
// own auto-attach brings; releasing the lease detaches them and turns that auto-attach off.
//
// Coverage: browser-level Target.setAutoAttach with waitForDebuggerOnStart attaches to every
// page and worker, the existing about:blank tab included; each attached page, OOPIF or worker
// gets Fetch.enable with the rules' patterns and its own recursive auto-attach (for its frames
// and workers) before Runtime.runIfWaitingForDebugger lets it run. A new tab or frame therefore
// cannot send a request before its interception is in place.
//
// Fail-safe: every paused request is answered, also when an action is refused by Chromium
// (blocking actions then fail the request, header rewrites let it through unchanged), so a
// request never hangs on the engine. If the link drops while the session runs, the engine
// takes a new lease (the link reopens).
import type { Logger } from "../../lib/logger";
import type { CdpLease } from "../../cdp/session-links";
import { compileRules, decide, editHeaders, fetchPatterns, type CompiledRule, type FetchPattern, type Rule } from "./rule-sets.rules";

/**
 * Targets with their own Fetch domain. A dedicated worker ("worker") has none: its requests are
 * paused by its page's Fetch (measured, Chromium 156).
 */
const INTERCEPTED = new Set(["page", "iframe", "shared_worker", "service_worker"]);
/** Targets whose frames and workers attach to them. */
const PARENTS = new Set(["page", "iframe"]);
const REDIRECT_STATUS = 307;

type Header = { name: string; value: string };

/** Only the host goes into logs: a URL's path and query may carry tokens. */
const hostOf = (url: string) => URL.parse(url)?.host ?? "";

interface Paused {
  requestId: string;
  request: { url: string; method: string; headers: Record<string, string> };
  resourceType: string;
  responseStatusCode?: number;
  responseStatusText?: string;
  responseErrorReason?: string;
  responseHeaders?: Header[];
}

export interface RuleEngineOptions {
  sessionId: string;
  /** A lease on the session's shared CDP link. */
  connect(): Promise<CdpLease>;
  /** False once the session ended: no reconnect. */
  isLive(): boolean;
  log: Logger;
}

export class RuleEngine {
  private client: CdpLease | null = null;
  private rules: CompiledRule[] = [];
  private patterns: FetchPattern[] = [];
  /** Attached CDP sessions → target type. */
  private targets = new Map<string, string>();
  private setups = new Set<Promise<void>>();
  private closed = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private retryMs = 250;

  constructor(private opts: RuleEngineOptions) {}


  /** Connects and covers every existing target; resolves once their interception is in place. */
  async start(rules: Rule[]): Promise<void> {
    this.setRules(rules);
    await this.attach();
  }

  /** New rules for every attached target (Fetch.enable replaces the patterns). */
  async update(rules: Rule[]): Promise<void> {
    this.setRules(rules);
    const c = this.client;
    if (!c?.isOpen) return;
    await Promise.all([...this.targets].filter(([, type]) => INTERCEPTED.has(type)).map(([s]) => this.enableFetch(c, s).catch((err) => this.opts.log.debug("rule update on a target failed", { sessionId: this.opts.sessionId, err }))));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.client?.release();
    this.client = null;
  }

  private setRules(rules: Rule[]): void {
    this.rules = compileRules(rules);
    this.patterns = fetchPatterns(rules);
  }

  private async attach(): Promise<void> {
    const c = await this.opts.connect();
    if (this.closed) return c.release();
    this.client = c;
    this.targets.clear();
    c.onEvent((method, params, cdpSession) => this.onEvent(c, method, params, cdpSession));
    c.onClose((reason) => this.onClosed(c, reason));
    try {
      await c.send("Target.setDiscoverTargets", { discover: true });
      // Chromium sends attachedToTarget for the existing targets before this reply.
      await c.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: true, flatten: true });
      while (this.setups.size) await Promise.all(this.setups);
    } catch (err) {
      if (this.client === c) this.client = null;
      c.release();
      throw err;
    }
    this.retryMs = 250;
  }

  private onClosed(c: CdpLease, reason: string): void {
    if (this.client !== c) return;
    this.client = null;
    if (this.closed || !this.opts.isLive()) return;
    this.opts.log.warn("rule engine lost its browser connection; reconnecting", { sessionId: this.opts.sessionId, reason });
    this.reconnectSoon();
  }

  private reconnectSoon(): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      if (this.closed || !this.opts.isLive()) return;
      this.attach().catch((err) => {
        this.opts.log.warn("rule engine reconnect failed", { sessionId: this.opts.sessionId, err });
        this.retryMs = Math.min(this.retryMs * 2, 5_000);
        this.reconnectSoon();
      });
    }, this.retryMs);
  }

  private onEvent(c: CdpLease, method: string, params: any, cdpSession: string | undefined): void {
    switch (method) {
      case "Fetch.requestPaused":
        if (cdpSession) void this.onPaused(c, params as Paused, cdpSession);
        return;
      case "Target.attachedToTarget": {
        const setup = this.setUpTarget(c, params.sessionId as string, params.targetInfo?.type as string, params.waitingForDebugger === true);
        this.setups.add(setup);
        void setup.finally(() => this.setups.delete(setup));
        return;
      }
      case "Target.detachedFromTarget":
        this.targets.delete(params.sessionId as string);
        return;
    }
  }

  private enableFetch(c: CdpLease, s: string): Promise<unknown> {
    return this.patterns.length ? c.send("Fetch.enable", { patterns: this.patterns, handleAuthRequests: false }, s) : c.send("Fetch.disable", {}, s);
  }

  /** Interception and child auto-attach first, then the target may run. */
  private async setUpTarget(c: CdpLease, s: string, type: string, waiting: boolean): Promise<void> {
    this.targets.set(s, type);
    try {
      if (INTERCEPTED.has(type) && this.patterns.length) await c.send("Fetch.enable", { patterns: this.patterns, handleAuthRequests: false }, s);
      if (PARENTS.has(type)) await c.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: true, flatten: true }, s);
    } catch (err) {
      if (c.isOpen) this.opts.log.warn("rule engine could not set up a target", { sessionId: this.opts.sessionId, type, err });
    } finally {
      if (waiting) await c.send("Runtime.runIfWaitingForDebugger", {}, s).catch(() => {});
    }
  }

  private async onPaused(c: CdpLease, p: Paused, s: string): Promise<void> {
    const atResponse = p.responseStatusCode !== undefined || p.responseErrorReason !== undefined;
    const d = decide(this.rules, p.request.url, p.resourceType, p.request.method);
    const { requestId } = p;
    try {
      if (atResponse) {
        if (p.responseErrorReason || !d.responseEdits.length) return void (await c.send("Fetch.continueRequest", { requestId }, s));
        const responseHeaders = editHeaders(p.responseHeaders ?? [], d.responseEdits);
        // Chromium 156 takes new headers only together with the status line.
        const status = { responseCode: p.responseStatusCode, ...(p.responseStatusText ? { responsePhrase: p.responseStatusText } : {}) };
        await c.send("Fetch.continueResponse", { requestId, ...status, responseHeaders }, s).catch(async (err) => {
          // continueResponse is experimental; without it, the original body goes out through fulfillRequest.
          if (!/wasn't found/.test(String((err as Error).message))) throw err;
          const { body, base64Encoded } = await c.send<{ body: string; base64Encoded: boolean }>("Fetch.getResponseBody", { requestId }, s);
          await c.send("Fetch.fulfillRequest", { requestId, ...status, responseHeaders, body: base64Encoded ? body : Buffer.from(body).toString("base64") }, s);
        });
        return;
      }
      const a = d.terminal?.rule.action;
      if (!a) {
        if (!d.requestEdits.length) return void (await c.send("Fetch.continueRequest", { requestId }, s));
        const headers = editHeaders(Object.entries(p.request.headers).map(([name, value]) => ({ name, value })), d.requestEdits);
        return void (await c.send("Fetch.continueRequest", { requestId, headers }, s));
      }
      switch (a.type) {
        case "block":
          return void (await c.send("Fetch.failRequest", { requestId, errorReason: "BlockedByClient" }, s));
        case "mock":
          return void (await c.send(
            "Fetch.fulfillRequest",
            { requestId, responseCode: a.status, responseHeaders: Object.entries(a.headers ?? {}).map(([name, value]) => ({ name, value })), body: d.terminal!.mockBody },
            s,
          ));
        case "redirect":
          return void (await c.send("Fetch.fulfillRequest", { requestId, responseCode: REDIRECT_STATUS, responseHeaders: [{ name: "Location", value: a.url }], body: "" }, s));
      }
    } catch (err) {
      if (!c.isOpen) return;
      this.opts.log.warn("rule action refused by the browser", { sessionId: this.opts.sessionId, host: hostOf(p.request.url), err });
      const blocking = !atResponse && d.terminal !== undefined;
      await c.send(blocking ? "Fetch.failRequest" : "Fetch.continueRequest", blocking ? { requestId, errorReason: "Failed" } : { requestId }, s).catch(() => {});
    }
  }
}
