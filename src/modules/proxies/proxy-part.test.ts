// The "proxy" network part with a real relay on a Docker network's gateway and a real test
// proxy: what prepare() hands the session (config, relay address, cold), the refusal on workers
// that cannot reach the relay, re-registration after a restart, and byte counts written at end.
import { afterAll, beforeAll, expect, test } from "bun:test";
import Docker from "dockerode";
import { openMemoryDatabase } from "../../db/client";
import { sessions } from "../../db/schema";
import { DomainError } from "../../lib/errors";
import { log } from "../../lib/logger";
import type { BrowserProvider } from "../../providers/provider";
import { startHttpProxy, type TestProxy } from "../../../test/helpers/test-proxies";
import { ensureDefaultPool } from "../pools/pools.service";
import { getSession } from "../sessions/sessions.store";
import { createProxy } from "./proxies.service";
import { LOCAL_DOCKER_ONLY, ProxyPart } from "./proxy-part";

const NETWORK = "browsergrid-proxies-unit";
const docker = new Docker({ socketPath: "/var/run/docker.sock" });
const db = openMemoryDatabase();
const installKey = Buffer.alloc(32, 7);
const pool = ensureDefaultPool(db);
let proxy: TestProxy;
let part: ProxyPart;

beforeAll(async () => {
  proxy = startHttpProxy({ username: "u", password: "p" });
  createProxy(db, installKey, { name: "p1", url: `http://u:p@127.0.0.1:${proxy.port}` });
  part = new ProxyPart({ db, log, installKey, installId: "unit", dockerSocket: "/var/run/docker.sock", network: NETWORK });
  await part.start();
});

afterAll(async () => {
  part.stop();
  proxy.stop();
  await docker.getNetwork(NETWORK).remove().catch(() => {});
});

const owner = { type: "api_key", id: null };
const row = (id: string, cdpEndpoint: string) =>
  db.insert(sessions).values({ id, poolId: pool.id, ownerType: "api_key", status: "running", cdpEndpoint, config: { proxy: { id: "x" } }, metadata: {}, timeoutSec: 60, idleTimeoutSec: 60 }).returning().get();

test("prepare: the relay's address for Chromium, the proxy in the config, no warm browser; nothing without a proxy", async () => {
  const gw = (await docker.getNetwork(NETWORK).inspect()).IPAM!.Config![0]!.Gateway!;
  expect(part.relayAddress).toBe(`${gw}:${part.relayPort}`);
  const p = (await part.prepare(owner, "ses_a", pool, { proxy: "p1" }))!;
  expect(p.spec).toEqual({ proxyServer: `http://${gw}:${part.relayPort}` });
  expect(p.config).toMatchObject({ proxy: { name: "p1" } });
  expect(p.cold).toBe(true);
  expect(await part.prepare(owner, "ses_b", pool, {})).toBeNull();
  expect(await part.prepare(owner, "ses_b", pool, { proxy: null })).toBeNull();
});

test("a session on an SSH or local-process worker fails with a clear message", async () => {
  const p = (await part.prepare(owner, "ses_c", pool, { proxy: "p1" }))!;
  for (const kind of ["ssh", "local"] as const) {
    const err = await p.started!(row(`ses_c_${kind}`, "10.9.0.2:9222"), { kind } as BrowserProvider).catch((e) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(err.status).toBe(400);
    expect(err.message).toContain(LOCAL_DOCKER_ONLY);
  }
});

test("resume re-registers a running session on the relay's network; an address outside it is refused", async () => {
  const net = (await docker.getNetwork(NETWORK).inspect()).IPAM!.Config![0]!;
  const inside = net.Subnet!.replace(/\.0\/\d+$/, ".77");
  const id = createProxy(db, installKey, { name: "p2", url: `http://u:p@127.0.0.1:${proxy.port}` }).id;
  const config = { proxy: { id, name: "p2" } };
  const ok = db.insert(sessions).values({ id: "ses_r", poolId: pool.id, ownerType: "api_key", status: "running", cdpEndpoint: `${inside}:9222`, config, metadata: {}, timeoutSec: 60, idleTimeoutSec: 60 }).returning().get();
  await part.resume(ok);
  const outside = db.insert(sessions).values({ id: "ses_o", poolId: pool.id, ownerType: "api_key", status: "running", cdpEndpoint: "203.0.113.9:9222", config, metadata: {}, timeoutSec: 60, idleTimeoutSec: 60 }).returning().get();
  const err = await part.resume(outside).catch((e) => e);
  expect(err.message).toContain("is not on the relay's network");
  part.ended("ses_r");
  expect(getSession(db, "ses_r")!.bytesSent).toBe(0);
});
