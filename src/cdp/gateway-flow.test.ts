// Flow control: a client that stops reading must not make the gateway buffer without bound.
import { afterAll, beforeAll, setDefaultTimeout, expect, test } from "bun:test";
import { startChromium, type HostChromium } from "../../test/helpers/chromium";
import { RawClient, startFixture, type Fixture } from "./test-fixture";

setDefaultTimeout(60_000);
let browser: HostChromium;
let fx: Fixture;
const TOKEN = "tok-flow";
const MiB = 1024 * 1024;
const HIGH_WATER = 4 * MiB;

beforeAll(async () => {
  browser = await startChromium();
  fx = await startFixture(null, { clientHighWaterBytes: HIGH_WATER, clientLowWaterBytes: MiB });
  fx.addSession("s1", TOKEN, { host: browser.host, port: browser.port });
});
afterAll(async () => {
  await fx?.stop();
  await browser?.stop();
});

test("a client that stops reading pauses its browser connection; memory stays bounded; it all arrives later", async () => {
  const c = await RawClient.open(fx.port, `/cdp/s1?token=${TOKEN}`);
  expect(c.status).toBe(101);
  const reply = async (id: number) => {
    await c.waitFor(() => c.messages.some((m) => m.startsWith(`{"id":${id},`)));
    return JSON.parse(c.messages.find((m) => m.startsWith(`{"id":${id},`))!) as { result: Record<string, string> };
  };
  c.send(JSON.stringify({ id: 1, method: "Target.createTarget", params: { url: "about:blank" } }));
  const targetId = (await reply(1)).result.targetId!;
  c.send(JSON.stringify({ id: 2, method: "Target.attachToTarget", params: { targetId, flatten: true } }));
  const sessionId = (await reply(2)).result.sessionId!;

  c.socket.pause(); // stop reading: the kernel buffers fill, then the gateway's
  const N = 40;
  const each = 4 * MiB;
  for (let i = 0; i < N; i++) {
    c.send(JSON.stringify({ id: 100 + i, sessionId, method: "Runtime.evaluate", params: { expression: `"${i}".padEnd(${each}, "z")`, returnByValue: true } }));
  }
  const mine = () => fx.gw.stats().perClient.find((p) => p.sessionId === "s1")!;
  const deadline = Date.now() + 20_000;
  while (!mine().browserReadPaused && Date.now() < deadline) await Bun.sleep(20);
  expect(mine().browserReadPaused).toBe(true);
  // Bounded: what Bun holds for the client never passes the high-water mark by more than the
  // messages of one TCP read from the browser, and the frame reader holds at most one message.
  let maxBuffered = 0;
  for (let i = 0; i < 20; i++) {
    const s = mine();
    maxBuffered = Math.max(maxBuffered, s.bufferedToClient);
    expect(s.heldFromBrowser).toBeLessThanOrEqual(each + 1024);
    await Bun.sleep(50);
  }
  expect(maxBuffered).toBeGreaterThan(0);
  expect(maxBuffered).toBeLessThan(HIGH_WATER + 2 * each);
  const total = N * each;
  expect(maxBuffered).toBeLessThan(total / 4);

  c.socket.resume();
  await c.waitFor(() => c.messages.filter((m) => /^\{"id":1\d\d,/.test(m)).length >= N, 60_000);
  const ids = c.messages.filter((m) => /^\{"id":1\d\d,/.test(m)).map((m) => Number(m.slice(6, 9)));
  expect(ids).toEqual(Array.from({ length: N }, (_, i) => 100 + i));
  const sample = JSON.parse(c.messages.find((m) => m.startsWith('{"id":139,'))!) as { result: { result: { value: string } } };
  expect(sample.result.result.value.length).toBe(each);
  expect(sample.result.result.value.startsWith("39z")).toBe(true);
  await Bun.sleep(50);
  expect(mine().browserReadPaused).toBe(false);
  c.socket.end();
});
