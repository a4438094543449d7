// A schedule clock in a process of its own, for the kill -9 test (schedules.kill.test.ts):
// opens the database file given, starts the clock on real time with a trigger that records
// each run as a `runs` row whose id is the tick it was claimed for (a second trigger of one
// tick would collide on the primary key), and prints "TRIGGERED <tick>". From the tick
// numbered by argv[3] on, the trigger prints "CLAIMED <tick>" and never returns, so the test
// can kill the process between a tick's claim and its run.
import { eq } from "drizzle-orm";
import { openDatabase } from "../../src/db/client";
import { runs, schedules } from "../../src/db/schema";
import { log } from "../../src/lib/logger";
import { ScheduleClock } from "../../src/modules/schedules/schedules.clock";
import { realTimers } from "../../src/modules/schedules/schedules.ports";

const [path, hangFrom] = [process.argv[2]!, Number(process.argv[3] ?? Infinity)];
const db = openDatabase(path);
let n = 0;
const clock = new ScheduleClock({
  db,
  log,
  audit: () => {},
  timers: realTimers,
  runs: {
    activeRunCount: () => 0,
    trigger: ({ scheduleId, deploymentId }) => {
      const tick = db.select().from(schedules).where(eq(schedules.id, scheduleId)).get()!.lastFireAt!;
      if (++n >= hangFrom) {
        console.log(`CLAIMED ${tick}`);
        return new Promise(() => {});
      }
      db.insert(runs).values({ id: `run_${tick}`, deploymentId, version: 1, status: "queued", params: {}, trigger: "schedule", scheduleId }).run();
      console.log(`TRIGGERED ${tick}`);
      return { id: `run_${tick}` };
    },
  },
});
await clock.start();
