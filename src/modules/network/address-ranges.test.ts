import { expect, test } from "bun:test";
import { isBlockedAddress, embeddedIpv4 } from "./address-ranges";
test("x", () => {
  for (const ip of ["10.1.2.3", "127.0.0.1", "169.254.169.254", "100.64.1.1", "172.20.0.1", "192.168.1.1", "::1", "::ffff:10.0.0.1", "::ffff:a00:1", "fe80::1", "fd00::2", "0.0.0.0", "not-an-ip"]) expect([ip, isBlockedAddress(ip)]).toEqual([ip, true]);
  for (const ip of ["203.0.113.10", "8.8.8.8", "2001:4860::8888", "::ffff:8.8.8.8", "172.32.0.1"]) expect([ip, isBlockedAddress(ip)]).toEqual([ip, false]);
  expect(embeddedIpv4("::ffff:10.0.0.1")).toBe("10.0.0.1");
});
