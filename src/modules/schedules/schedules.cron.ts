// Cron expressions and time zones, through croner: parsed fully or refused with a message that
// says what to fix. Supported: 5 fields (minute precision), 6 (a leading seconds field) or 7 (a
// trailing year), croner's L, W, #, + and @nicknames. Refused: one-shot dates, @reboot, and
// expressions that never fire again (a closed year range, 30 February).
import { Cron } from "croner";
import { BadRequest } from "../../lib/errors";

export const MAX_CRON_LENGTH = 200;
/** How many ticks of a downtime are counted one by one; beyond it the count reads "at least". */
export const MAX_COUNTED_TICKS = 10_000;

/** A valid IANA time zone name (Europe/Berlin, UTC), or a 400 saying so. */
export function checkTimezone(timezone: string): string {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch {
    throw new BadRequest(`Unknown timezone "${timezone}": use an IANA name such as "UTC", "Europe/Berlin" or "America/New_York".`, "invalid_timezone");
  }
  return timezone;
}

/** A cron that fires on its own clock; never runs anything itself (paused, no callback). */
export function parseCron(cron: string, timezone: string): Cron {
  checkTimezone(timezone);
  const text = cron.trim();
  if (!text || text.length > MAX_CRON_LENGTH) throw new BadRequest(`Field "cron": give a cron expression of 1-${MAX_CRON_LENGTH} characters.`, "invalid_cron");
  if (!/^@[a-z]+$/i.test(text) && !/^\S+(\s+\S+){4,6}$/.test(text))
    throw new BadRequest(`Cron "${text}" does not parse: give 5 fields (minute hour day month weekday), 6 with a leading seconds field, or 7 with a trailing year.`, "invalid_cron");
  let job: Cron;
  try {
    job = new Cron(text, { paused: true, timezone });
  } catch (err) {
    const why = String((err as Error).message ?? err).replace(/^Cron\w*:\s*/, "");
    throw new BadRequest(`Cron "${text}" does not parse: ${why}`, "invalid_cron");
  }
  let next: Date | null;
  try {
    next = job.nextRun();
  } catch {
    throw new BadRequest(`Cron "${text}" cannot be evaluated in timezone "${timezone}".`, "invalid_cron");
  }
  if (!next) throw new BadRequest(`Cron "${text}" never fires again: check its day, month and year fields.`, "invalid_cron");
  return job;
}

/** The next `count` fire times strictly after `after` (epoch ms). */
export function nextFireTimes(job: Cron, after: number, count: number): number[] {
  return job.nextRuns(count, new Date(after)).map((d) => d.getTime());
}

/** The first fire time strictly after `after`, or null when the expression never fires again. */
export function nextFireTime(job: Cron, after: number): number | null {
  return job.nextRun(new Date(after))?.getTime() ?? null;
}

/**
 * The ticks in (`from`, `to`]: how many (counted up to MAX_COUNTED_TICKS; `atLeast` when there
 * were more) and the latest one.
 */
export function ticksBetween(job: Cron, from: number, to: number): { count: number; atLeast: boolean; latest: number | null } {
  // croner looks back from a whole second, strictly before it: start a second later, keep what is ≤ to.
  const latest = job.previousRuns(2, new Date(to + 1000)).map((d) => d.getTime()).find((t) => t <= to) ?? null;
  if (latest === null || latest <= from) return { count: 0, atLeast: false, latest: null };
  let count = 0;
  for (let t = nextFireTime(job, from); t !== null && t <= latest; t = nextFireTime(job, t)) {
    if (++count >= MAX_COUNTED_TICKS) return { count, atLeast: t < latest, latest };
  }
  return { count, atLeast: false, latest };
}
