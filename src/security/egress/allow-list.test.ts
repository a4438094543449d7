// The allow-list syntax: every accepted form, and bad entries refused with the entry named.
import { describe, expect, test } from "bun:test";
import { BadRequest } from "../../lib/errors";
import { allowListPermits, normalizeAllowList, parseAllowEntry, resolveAllowList } from "./allow-list";

describe("parseAllowEntry", () => {
  const good: [string, unknown][] = [
    ["10.1.0.0/16", { kind: "cidr", cidr: "10.1.0.0/16" }],
    ["10.1.2.3/16", { kind: "cidr", cidr: "10.1.0.0/16" }],
    ["10.1.2.3", { kind: "ip", ip: "10.1.2.3" }],
    ["10.1.2.3:8080", { kind: "ip", ip: "10.1.2.3", port: 8080 }],
    ["db.internal", { kind: "host", name: "db.internal" }],
    ["DB.Internal.:5432", { kind: "host", name: "db.internal", port: 5432 }],
    ["docker-host", { kind: "docker-host" }],
    ["docker-host:3000", { kind: "docker-host", port: 3000 }],
    ["  192.168.1.5  ", { kind: "ip", ip: "192.168.1.5" }],
  ];
  for (const [raw, want] of good) test(`accepts ${JSON.stringify(raw)}`, () => expect(parseAllowEntry(raw)).toEqual(want as never));

  const bad: [string, RegExp][] = [
    ["fd00::1", /IPv6/],
    ["[::ffff:10.0.0.1]:80", /IPv6/],
    ["fd00::/8", /IPv6/],
    ["10.0.0.0/0", /prefix length/],
    ["10.0.0.0/33", /CIDR/],
    ["10.1.2.3:0", /port/],
    ["10.1.2.3:70000", /port/],
    ["10.1.2.3:http", /port/],
    ["010.1.2.3", /dotted-decimal/],
    ["10.1.2", /dotted-decimal/],
    ["0x0a000001", /dotted-decimal/],
    ["http://10.1.2.3/", /./],
    ["a b", /host name/],
    ["", /empty/],
    ["x".repeat(256), /longer than 255/],
  ];
  for (const [raw, why] of bad)
    test(`refuses ${JSON.stringify(raw.slice(0, 30))}, naming it`, () => {
      let err: unknown;
      try {
        parseAllowEntry(raw);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BadRequest);
      const msg = (err as BadRequest).message;
      expect(msg).toMatch(why);
      expect(msg).toContain(`"${raw.trim().slice(0, 80)}"`);
      expect(msg).toContain("Accepted forms");
      expect((err as BadRequest).status).toBe(400);
    });
});

test("normalizeAllowList trims, drops blanks and duplicates, caps the count", () => {
  expect(normalizeAllowList([" 10.0.0.1 ", "", "10.0.0.1", "docker-host"])).toEqual(["10.0.0.1", "docker-host"]);
  expect(() => normalizeAllowList(Array.from({ length: 257 }, (_, i) => `10.0.${i >> 8}.${i & 255}`))).toThrow(/at most 256/);
  expect(() => normalizeAllowList(["10.0.0.1", "nope::"], "BROWSERGRID_EGRESS_ALLOW")).toThrow(/^BROWSERGRID_EGRESS_ALLOW: entry "nope::"/);
});

test("resolveAllowList resolves names (v4 only), keeps ports, reports names that do not resolve", async () => {
  const entries = ["10.9.0.0/16", "10.1.2.3:80", "app.test:443", "gone.test", "docker-host:3000", "docker-host:3000"].map((e) => parseAllowEntry(e));
  const resolve4 = async (name: string) => (name === "app.test" ? ["10.5.5.5", "10.5.5.6"] : []);
  const r = await resolveAllowList(entries, resolve4);
  expect(r.v4).toEqual([
    { cidr: "10.1.2.3/32", port: 80 },
    { cidr: "10.5.5.5/32", port: 443 },
    { cidr: "10.5.5.6/32", port: 443 },
    { cidr: "10.9.0.0/16" },
  ]);
  expect(r.dockerHost).toEqual({ all: false, ports: [3000] });
  expect(r.unresolved).toEqual(["gone.test"]);
  expect(allowListPermits(r, "10.9.1.1", 5)).toBe(true);
  expect(allowListPermits(r, "10.1.2.3", 80)).toBe(true);
  expect(allowListPermits(r, "10.1.2.3", 81)).toBe(false);
  expect(allowListPermits(r, "10.10.0.1", 80)).toBe(false);
});
