// A run's log in memory: redaction before anything is kept, the line and total caps, the
// stderr tail, and followers.
import { expect, test } from "bun:test";
import { LOG_LIMITS, redactor, RunLog } from "./runs.log";

test("redaction: every occurrence, longest secret first, short values left alone", () => {
  const r = redactor(["abcd1234", "abcd1234-long-form", "xy"]);
  expect(r("a abcd1234-long-form b abcd1234 c abcd1234 xy")).toBe("a *** b *** c *** xy");
  expect(redactor([])("unchanged")).toBe("unchanged");
});

test("a long line is cut and marked; past the total cap one notice, then nothing", () => {
  const log = new RunLog();
  log.push(0, "stdout", "x".repeat(LOG_LIMITS.maxLineChars + 10));
  expect(log.text()).toContain(`… [line cut at ${LOG_LIMITS.maxLineChars} characters]`);
  const line = "y".repeat(LOG_LIMITS.maxLineChars - 100);
  for (let i = 0; i < (LOG_LIMITS.maxBytes / line.length) * 1.2; i++) log.push(0, "stdout", line);
  const text = log.text();
  expect(Buffer.byteLength(text)).toBeLessThanOrEqual(LOG_LIMITS.maxBytes + 200);
  expect(text.endsWith(`[log cut: more than ${LOG_LIMITS.maxBytes} bytes; later lines are not kept]\n`)).toBe(true);
  log.push(0, "stdout", "after the cap");
  expect(log.text()).not.toContain("after the cap");
});

test("the stderr tail keeps the last lines of the current attempt; followers get the past, the new, and the end", () => {
  const log = new RunLog();
  log.setSecrets(["topsecret"]);
  for (let i = 1; i <= 50; i++) log.push(1000, i % 2 ? "stderr" : "stdout", `line ${i} topsecret`);
  const tail = log.stderrTail().split("\n");
  expect(tail.length).toBe(LOG_LIMITS.stderrTailLines);
  expect(tail.at(-1)).toBe("line 49 ***");
  log.resetTail();
  expect(log.stderrTail()).toBe("");
  const got: (string | null)[] = [];
  log.follow((c) => got.push(c));
  log.push(2000, "stdout", "new");
  log.end();
  log.push(3000, "stdout", "too late");
  expect(got[0]).toContain("1970-01-01T00:00:01.000Z stderr line 1 ***");
  expect(got.at(-2)).toBe("1970-01-01T00:00:02.000Z stdout new\n");
  expect(got.at(-1)).toBeNull();
});
