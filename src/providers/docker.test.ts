// The Docker provider against a real engine and the real browser images
// (scripts/setup-docker.sh && scripts/build-images.sh). Nothing here skips: without Docker or
// the images the tests fail and say what to run.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Docker from "dockerode";
import { randomId } from "../lib/ids";
import { CDP_PORT, DockerProvider, LABELS } from "./docker";
import type { BrowserFlavour, BrowserSpec, ProviderEvent } from "./provider";

const SOCKET = process.env.DOCKER_SOCKET ?? "/var/run/docker.sock";
const FLAVOURS: BrowserFlavour[] = ["headless-shell", "chromium"];
const docker = new Docker({ socketPath: SOCKET });
const installId = `test-${randomId(8)}`;
const workerId = `w-${randomId(6)}`;
/** These tests start browsers outside BrowserGrid: no egress guard to wait for. */
const noGuard = { assertReady: async () => {} };
// As BrowserGrid builds it for a local engine: by socket path (reads through fetch, the rest through dockerode).
const provider = new DockerProvider(SOCKET, { installId, workerId, egressGuard: noGuard });
const events: ProviderEvent[] = [];
const foreign: string[] = [];
let unsubscribe = () => {};

function spec(flavour: BrowserFlavour, extra: Partial<BrowserSpec> = {}): BrowserSpec {
  return { sessionId: `t-${randomId(10)}`, poolId: "pool-test", workerId, flavour, viewport: { width: 1280, height: 720 }, ...extra };
}

async function containersOf(sessionId: string) {
  return docker.listContainers({ all: true, filters: { label: [`${LABELS.session}=${sessionId}`] } });
}

/** One CDP command over a fresh WebSocket (no Origin header: Chromium would refuse it). */
async function cdp(wsUrl: string, method: string, params: object = {}): Promise<{ result?: any; error?: unknown }> {
  const ws = new WebSocket(wsUrl);
  try {
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error(`WebSocket to ${wsUrl} failed`));
    });
    const reply = new Promise<any>((resolve, reject) => {
      ws.onmessage = (m) => {
        const msg = JSON.parse(String(m.data));
        if (msg.id === 1) resolve(msg);
      };
      ws.onclose = () => reject(new Error("WebSocket closed before the reply"));
    });
    ws.send(JSON.stringify({ id: 1, method, params }));
    return await reply;
  } finally {
    ws.close();
  }
}

function viaRelay(url: string, host: string): string {
  const u = new URL(url);
  u.host = `${host}:${CDP_PORT}`;
  return u.toString();
}

beforeAll(async () => {
  try {
    await docker.ping();
  } catch (err) {
    throw new Error(`No Docker engine answers on ${SOCKET} (${(err as Error).message}); run scripts/setup-docker.sh`);
  }
  for (const flavour of FLAVOURS) {
    const image = `browsergrid/browser:${flavour}`;
    await docker.getImage(image).inspect().catch(() => {
      throw new Error(`image ${image} is missing; run scripts/build-images.sh`);
    });
  }
  unsubscribe = provider.onEvent((e) => events.push(e));
});

afterAll(async () => {
  unsubscribe();
  await provider.close();
  const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.install}=${installId}`] } });
  for (const id of [...left.map((c) => c.Id), ...foreign]) await docker.getContainer(id).remove({ force: true }).catch(() => {});
});

describe.each(FLAVOURS)("flavour %s", (flavour) => {
  test("starts a hardened container whose CDP answers through the relay, and stops it", async () => {
    const s = spec(flavour, { memoryBytes: 768 * 1024 * 1024 });
    const started = await provider.start(s);
    try {
      expect(started.cdp.port).toBe(9222);
      expect(started.cdp.host).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

      const version = (await (await fetch(`http://${started.cdp.host}:9222/json/version`)).json()) as Record<string, string>;
      expect(version.Browser).toContain("Chrome");
      expect(version["User-Agent"]).toContain("Headless");
      const reply = await cdp(viaRelay(version.webSocketDebuggerUrl!, started.cdp.host), "Browser.getVersion");
      expect(reply.result.product).toBe(version.Browser);
      // start() read the browser WebSocket path while waiting for CDP and returns it.
      expect(started.browserPath).toBe(new URL(version.webSocketDebuggerUrl!).pathname);
      expect(started.browserPath).toMatch(/^\/devtools\/browser\/[0-9a-f-]{36}$/);

      const info = await docker.getContainer(started.handle).inspect();
      expect(info.Name).toBe(`/bg-${s.sessionId}`);
      expect(info.Config.Image).toBe(`browsergrid/browser:${flavour}`);
      expect(info.Config.Labels).toMatchObject({
        [LABELS.install]: installId,
        [LABELS.worker]: workerId,
        [LABELS.session]: s.sessionId,
        [LABELS.pool]: "pool-test",
      });
      expect(info.HostConfig.Memory).toBe(768 * 1024 * 1024);
      expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
      expect(info.HostConfig.CapAdd ?? []).toEqual([]);
      expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges");
      expect(info.HostConfig.Privileged).toBe(false);
      expect(info.HostConfig.ReadonlyRootfs).toBe(true);
      expect(info.HostConfig.PublishAllPorts).toBe(false);
      expect(Object.keys(info.HostConfig.PortBindings ?? {})).toEqual([]);
      for (const bindings of Object.values(info.NetworkSettings.Ports ?? {})) expect(bindings).toBeNull();
      expect(Object.keys(info.NetworkSettings.Networks)).toEqual(["browsergrid-default"]);
      const top = await docker.getContainer(started.handle).top({ ps_args: "-o pid,uid,comm" });
      const uidColumn = top.Titles.indexOf("UID");
      expect(top.Processes.length).toBeGreaterThan(2);
      for (const proc of top.Processes) expect(proc[uidColumn]).toBe("1000");

      expect(await provider.inspect(started.handle)).toEqual({ running: true });
    } finally {
      await provider.stop(started.handle);
    }
    expect(await provider.inspect(started.handle)).toBeNull();
    expect(await containersOf(s.sessionId)).toEqual([]);
    await provider.stop(started.handle); // already gone: still fine
  });

  test("applies viewport, user agent, locale and timezone from the spec", async () => {
    const s = spec(flavour, { viewport: { width: 1024, height: 600 }, userAgent: "BrowserGridTest/1.0", locale: "de-DE", timezone: "Asia/Tokyo" });
    const { handle, cdp: at } = await provider.start(s);
    try {
      const targets = (await (await fetch(`http://${at.host}:9222/json/list`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
      const page = targets.find((t) => t.type === "page");
      expect(page).toBeDefined();
      const expression =
        "JSON.stringify({w: outerWidth, h: outerHeight, iw: innerWidth, ih: innerHeight, ua: navigator.userAgent, lang: navigator.language, tz: Intl.DateTimeFormat().resolvedOptions().timeZone})";
      const reply = await cdp(viaRelay(page!.webSocketDebuggerUrl, at.host), "Runtime.evaluate", { expression, returnByValue: true });
      const seen = JSON.parse(reply.result.result.value);
      // The env sets the window size. headless-shell has no browser UI, so the viewport is the
      // window; full Chromium's new headless mode keeps room for its (invisible) toolbar.
      expect(seen).toMatchObject({ w: 1024, h: 600, iw: 1024, ua: "BrowserGridTest/1.0", lang: "de-DE", tz: "Asia/Tokyo" });
      if (flavour === "headless-shell") expect(seen.ih).toBe(600);
      else expect(seen.ih).toBeLessThan(600);
    } finally {
      await provider.stop(handle);
    }
  });
});

describe("ownership", () => {
  test("listOwned finds this worker's containers and nothing else", async () => {
    const base = { Image: "browsergrid/debian-base:bookworm", Entrypoint: ["sleep", "300"], HostConfig: { NetworkMode: "none" } };
    const unlabelled = await docker.createContainer(base);
    const otherWorker = await docker.createContainer({ ...base, Labels: { [LABELS.install]: installId, [LABELS.worker]: "someone-else" } });
    foreign.push(unlabelled.id, otherWorker.id);
    await Promise.all([unlabelled.start(), otherWorker.start()]);

    const s = spec("headless-shell");
    const mine = await provider.start(s);
    const owned = await provider.listOwned();
    expect(owned).toContainEqual({ handle: mine.handle, sessionId: s.sessionId, workerId, running: true });
    expect(owned.every((b) => b.workerId === workerId)).toBe(true);
    expect(owned.map((b) => b.handle)).not.toContain(unlabelled.id);
    expect(owned.map((b) => b.handle)).not.toContain(otherWorker.id);

    // A container of another install is invisible and untouchable.
    expect(await provider.inspect(unlabelled.id)).toBeNull();
    await expect(provider.stop(unlabelled.id)).rejects.toThrow("does not belong");
    expect((await unlabelled.inspect()).State.Running).toBe(true);
    await provider.stop(mine.handle);
    expect((await provider.listOwned()).map((b) => b.handle)).not.toContain(mine.handle);
  });
});

describe("events", () => {
  test("docker kill is reported as died within 1 s; an intended stop is not", async () => {
    const s = spec("headless-shell");
    const killed = await provider.start(s);
    const stopped = await provider.start(spec("headless-shell"));
    events.length = 0;

    await provider.stop(stopped.handle);
    const t0 = performance.now();
    await docker.getContainer(killed.handle).kill();
    while (!events.some((e) => e.handle === killed.handle) && performance.now() - t0 < 1_000) await Bun.sleep(5);
    const event = events.find((e) => e.handle === killed.handle);
    expect(event).toMatchObject({ type: "died", handle: killed.handle, sessionId: s.sessionId, exitCode: 137 });
    await Bun.sleep(200);
    expect(events.filter((e) => e.handle === stopped.handle)).toEqual([]);
    expect(await provider.inspect(killed.handle)).toEqual({ running: false });
    await provider.stop(killed.handle);
  });
});

describe("event stream", () => {
  test("a broken stream reconnects and still delivers a death that happened meanwhile", async () => {
    const s = spec("headless-shell");
    const started = await provider.start(s);
    events.length = 0;
    // Break the live stream the way a daemon restart would, then kill while it is down.
    const watcher = (provider as unknown as { watcher: { stream?: { close(): void } } }).watcher;
    watcher.stream!.close();
    await docker.getContainer(started.handle).kill();
    const t0 = performance.now();
    while (!events.some((e) => e.handle === started.handle) && performance.now() - t0 < 3_000) await Bun.sleep(10);
    expect(events.filter((e) => e.handle === started.handle)).toHaveLength(1);
    await provider.stop(started.handle);
  });
});

describe("crash", () => {
  test("when Chromium dies the container exits and the death is reported", async () => {
    const s = spec("headless-shell");
    const started = await provider.start(s);
    const top = await docker.getContainer(started.handle).top({ ps_args: "-o pid,args" });
    const browser = top.Processes.find((p: string[]) => p[1]!.startsWith("/usr/lib/chromium/") && !p[1]!.includes("--type="));
    expect(browser).toBeDefined();
    events.length = 0;
    process.kill(Number(browser![0]), "SIGSEGV");
    const t0 = performance.now();
    while (!events.some((e) => e.handle === started.handle) && performance.now() - t0 < 2_000) await Bun.sleep(5);
    expect(events.find((e) => e.handle === started.handle)).toMatchObject({ type: "died", sessionId: s.sessionId, exitCode: 139 });
    await provider.stop(started.handle);
  });
});

describe("failures leave nothing behind", () => {
  test("an image that does not exist rejects and creates no container", async () => {
    const broken = new DockerProvider(docker, { installId, workerId, imagePrefix: "browsergrid/no-such-image", egressGuard: noGuard });
    const s = spec("headless-shell");
    await expect(broken.start(s)).rejects.toThrow("not found");
    await Bun.sleep(50);
    expect(await containersOf(s.sessionId)).toEqual([]);
  });

  test("bad input rejects before any container exists", async () => {
    const bad: Partial<BrowserSpec>[] = [
      { viewport: { width: 0, height: 720 } },
      { userAgent: "evil\nHeader: x" },
      { locale: "de_DE; rm -rf /" },
      { timezone: "../../etc/passwd" },
      { memoryBytes: 1024 },
      { sessionId: "../escape" },
    ];
    for (const extra of bad) {
      const s = spec("headless-shell", extra);
      await expect(provider.start(s)).rejects.toThrow();
      expect(await containersOf(s.sessionId)).toEqual([]);
    }
  });

  test("an abort during start removes the container", async () => {
    const s = spec("headless-shell");
    const controller = new AbortController();
    const pending = provider.start(s, controller.signal);
    setTimeout(() => controller.abort(new Error("client went away")), 100);
    await expect(pending).rejects.toThrow("client went away");
    await pending.catch(() => {});
    expect(await containersOf(s.sessionId)).toEqual([]);
  });

  test("two stops at once both resolve only once the container is gone", async () => {
    const s = spec("headless-shell");
    const started = await provider.start(s);
    await Promise.all([provider.stop(started.handle), provider.stop(started.handle), provider.stop(started.handle)]);
    expect(await provider.inspect(started.handle)).toBeNull();
    expect(await containersOf(s.sessionId)).toEqual([]);
  });

  test("a session id that is already taken rejects and leaves the first container alone", async () => {
    const s = spec("headless-shell");
    const first = await provider.start(s);
    await expect(provider.start(s)).rejects.toThrow();
    await Bun.sleep(50);
    expect(await provider.inspect(first.handle)).toEqual({ running: true });
    await provider.stop(first.handle);
  });
});

test("health answers ok while the engine answers", async () => {
  expect(await provider.health()).toEqual({ ok: true });
  const nowhere = new DockerProvider("/nonexistent/docker.sock", { installId, workerId, egressGuard: noGuard });
  const h = await nowhere.health();
  expect(h.ok).toBe(false);
  expect(h.detail).toContain("unreachable");
});
