import { expect, test } from "bun:test";
import { inCidrV4, ipv6Groups, mergeCidrs } from "./address-ranges";

test("IPv4 CIDR membership, IPv6 groups with a trailing dotted quad", () => {
  expect(inCidrV4("172.31.255.255", "172.16.0.0/12")).toBe(true);
  expect(inCidrV4("172.32.0.1", "172.16.0.0/12")).toBe(false);
  expect(ipv6Groups("::ffff:10.0.0.1")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0a00, 1]);
  expect(ipv6Groups("10.0.0.1")).toBeNull();
});

test("mergeCidrs drops contained and duplicate ranges and aligns to the network; refuses what is not a CIDR", () => {
  expect(mergeCidrs(["10.0.0.0/8", "10.1.0.0/16", "192.0.2.7/24", "192.0.2.0/24", "8.8.8.8/32"])).toEqual(["8.8.8.8/32", "10.0.0.0/8", "192.0.2.0/24"]);
  expect(() => mergeCidrs(["10.0.0.0/33"])).toThrow(/invalid IPv4 CIDR/);
  expect(() => mergeCidrs(["10.0.0/8"])).toThrow(/invalid IPv4 CIDR/);
});
