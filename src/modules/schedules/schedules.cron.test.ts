// Cron parsing and evaluation: what croner accepts (seconds, years, nicknames, time zones) and
// what is refused with a message naming the problem; next fire times across a DST change; the
// downtime tick count and its cap.
import { describe, expect, test } from "bun:test";
import { BadRequest } from "../../lib/errors";
import { MAX_COUNTED_TICKS, checkTimezone, nextFireTimes, parseCron, ticksBetween } from "./schedules.cron";

const refusal = (fn: () => unknown): BadRequest => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BadRequest);
    return e as BadRequest;
  }
  throw new Error("expected a refusal");
};
const iso = (ms: number[]) => ms.map((m) => new Date(m).toISOString());

describe("cron expressions", () => {
  test("5, 6 (seconds) and 7 (year) fields and nicknames parse", () => {
    const from = Date.parse("2026-01-01T00:00:00Z");
    expect(iso(nextFireTimes(parseCron("*/15 * * * *", "UTC"), from, 2))).toEqual(["2026-01-01T00:15:00.000Z", "2026-01-01T00:30:00.000Z"]);
    expect(iso(nextFireTimes(parseCron("*/2 * * * * *", "UTC"), from, 3))).toEqual(["2026-01-01T00:00:02.000Z", "2026-01-01T00:00:04.000Z", "2026-01-01T00:00:06.000Z"]);
    expect(iso(nextFireTimes(parseCron("0 0 12 1 1 * 2027", "UTC"), from, 1))).toEqual(["2027-01-01T12:00:00.000Z"]);
    expect(iso(nextFireTimes(parseCron("@daily", "UTC"), from, 1))).toEqual(["2026-01-02T00:00:00.000Z"]);
  });

  test("refusals name the problem", () => {
    for (const [cron, words] of [
      ["61 * * * *", /minute/],
      ["not a cron", /does not parse.*5 fields/],
      ["* * * *", /5 fields/],
      ["* * * * * * * *", /5 fields/],
      ["2030-01-01T00:00:00", /5 fields/],
      ["@reboot", /reboot/],
      ["0 0 30 2 *", /never fires/],
      ["0 0 0 1 1 * 2020", /never fires/],
      ["", /1-200 characters/],
      ["* ".repeat(120), /1-200 characters/],
    ] as const) {
      const e = refusal(() => parseCron(cron, "UTC"));
      expect(e.code).toBe("invalid_cron");
      expect(e.message).toMatch(words);
    }
  });

  test("time zones: IANA names only; fire times follow the zone's DST", () => {
    expect(checkTimezone("Europe/Berlin")).toBe("Europe/Berlin");
    for (const tz of ["Mars/Base", "CEST+2", "", "../etc/passwd"]) {
      const e = refusal(() => parseCron("* * * * *", tz));
      expect(e.code).toBe("invalid_timezone");
      expect(e.message).toContain(`"${tz}"`);
    }
    // 09:00 in New York: 14:00 UTC before the change of 8 March 2026, 13:00 UTC after it.
    const ny = nextFireTimes(parseCron("0 9 * * *", "America/New_York"), Date.parse("2026-03-07T00:00:00Z"), 2);
    expect(iso(ny)).toEqual(["2026-03-07T14:00:00.000Z", "2026-03-08T13:00:00.000Z"]);
    expect(iso(nextFireTimes(parseCron("0 0 9 * * *", "Asia/Kolkata"), Date.parse("2026-01-01T00:00:00Z"), 1))).toEqual(["2026-01-01T03:30:00.000Z"]);
  });

  test("ticksBetween counts ticks in (from, to], the latest included, and caps the count", () => {
    const job = parseCron("*/10 * * * * *", "UTC");
    const t = (s: number) => Date.parse("2026-01-01T00:00:00Z") + s * 1000;
    expect(ticksBetween(job, t(10), t(10))).toEqual({ count: 0, atLeast: false, latest: null });
    expect(ticksBetween(job, t(10), t(19.999))).toEqual({ count: 0, atLeast: false, latest: null });
    expect(ticksBetween(job, t(10), t(20))).toEqual({ count: 1, atLeast: false, latest: t(20) });
    expect(ticksBetween(job, t(5), t(95))).toEqual({ count: 9, atLeast: false, latest: t(90) });
    const everySecond = parseCron("* * * * * *", "UTC");
    const week = ticksBetween(everySecond, t(0), t(7 * 86400));
    expect(week).toEqual({ count: MAX_COUNTED_TICKS, atLeast: true, latest: t(7 * 86400) });
  });
});
