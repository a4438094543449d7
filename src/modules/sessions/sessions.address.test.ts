import { describe, expect, test } from "bun:test";
import type { BrowserProvider } from "../../providers/provider";
import { browserAddress, formatBrowserEndpoint, parseBrowserEndpoint } from "./sessions.address";

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
