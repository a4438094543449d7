// Tests' stand-in for boot.ts's audit port: the real audit log of the test's database, as the system.
import type { Db } from "../../src/db/client";
import { log } from "../../src/lib/logger";
import { audit } from "../../src/modules/audit/audit.service";
import type { SystemAudit } from "../../src/modules/schedules/schedules.ports";

export const systemAudit =
  (db: Db): SystemAudit =>
  (action, target, detail) =>
    audit({ db, log }, { type: "system" }, action, target, detail, null);
