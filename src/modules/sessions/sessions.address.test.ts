import { describe, expect, test } from "bun:test";
import type { BrowserProvider } from "../../providers/provider";
import { openMemoryDatabase } from "../../db/client";
import { ProviderRegistryImpl } from "../../providers/registry";
import { ensureDefaultPool } from "../pools/pools.service";
import { registerWorker } from "../workers/workers.service";
import { browserAddress, formatBrowserEndpoint, parseBrowserEndpoint, sessionBrowserAddresses } from "./sessions.address";
import { insertSession } from "./sessions.store";

/** A provider whose only part used here is `reach`: a tunnel that maps every address to a loopback port. */
const tunnelled = { reach: (cdp: { host: string; port: number }) => ({ host: "127.0.0.1", port: 40000 + (cdp.port % 1000) }) } as unknown as BrowserProvider;

describe("browser address of a session", () => {
  test("reads back what a start stored", () => {
    const stored = formatBrowserEndpoint({ host: "172.18.0.5", port: 9222 });
    expect(stored).toBe("172.18.0.5:9222");
    expect(parseBrowserEndpoint(stored)).toEqual({ host: "172.18.0.5", port: 9222 });
  });

  test("the port is after the last colon, so an IPv6 host keeps its colons", () => {
    expect(parseBrowserEndpoint("fd00::5:9222")).toEqual({ host: "fd00::5", port: 9222 });
  });

  test("what is not host:port is refused, not guessed", () => {
    for (const bad of [null, undefined, "", "172.18.0.5", ":9222", "host:", "host:abc", "host:0", "host:65536", "host:9222x"]) expect(parseBrowserEndpoint(bad)).toBeNull();
  });

  test("goes through the provider's reach when it has one", () => {
    expect(browserAddress({ cdpEndpoint: "10.0.0.7:9222" }, tunnelled)).toEqual({ host: "127.0.0.1", port: 40222 });
    expect(browserAddress({ cdpEndpoint: "10.0.0.7:9222" }, {} as BrowserProvider)).toEqual({ host: "10.0.0.7", port: 9222 });
    expect(browserAddress({ cdpEndpoint: "10.0.0.7:9222" }, undefined)).toEqual({ host: "10.0.0.7", port: 9222 });
  });

  test("a row without an address has none, whatever the provider", () => {
    expect(browserAddress({ cdpEndpoint: null }, tunnelled)).toBeNull();
  });
});

describe("the resolver of BrowserGrid's CDP links", () => {
  test("names the browser of a session that has one up (running, paused, stopping), through its worker's reach; nothing else", () => {
    const db = openMemoryDatabase();
    const pool = ensureDefaultPool(db);
    const ssh = registerWorker(db, { name: "remote", poolId: pool.id, endpoint: "ssh://browser@10.0.0.7", kind: "docker", capacity: 8 });
    const providers = new ProviderRegistryImpl();
    providers.set(ssh.id, tunnelled);
    const add = (id: string, status: string, cdpEndpoint: string | null, workerId: string | null = ssh.id) =>
      insertSession(db, { id, poolId: pool.id, workerId, ownerType: "user", status: status as never, cdpEndpoint, config: {}, metadata: {}, timeoutSec: 60, idleTimeoutSec: 60 } as never, { type: status });
    add("ses_run", "running", "10.0.0.7:9222");
    add("ses_pause", "paused", "10.0.0.7:9223");
    add("ses_stop", "stopping", "10.0.0.7:9224");
    add("ses_local", "running", "172.18.0.5:9222", null);
    add("ses_start", "starting", null);
    add("ses_queue", "queued", null, null);
    add("ses_done", "completed", "10.0.0.7:9225");
    add("ses_bad", "running", "not-an-address");
    const resolve = sessionBrowserAddresses(db, providers);
    expect(resolve("ses_run")).toEqual({ host: "127.0.0.1", port: 40222 });
    expect(resolve("ses_pause")).toEqual({ host: "127.0.0.1", port: 40223 });
    expect(resolve("ses_stop")).toEqual({ host: "127.0.0.1", port: 40224 });
    expect(resolve("ses_local")).toEqual({ host: "172.18.0.5", port: 9222 });
    for (const none of ["ses_start", "ses_queue", "ses_done", "ses_bad", "ses_unknown"]) expect(`${none} ${JSON.stringify(resolve(none))}`).toBe(`${none} null`);
  });
});
