// What every route module receives: the frozen config, the database, the logger and the
// services. Built once by boot.ts (appDeps; tests build theirs through the same function) and
// passed down; nothing is a global and nothing is built on first use.
import type { Config } from "../config";
import type { Db } from "../db/client";
import type { Logger } from "../lib/logger";
import type { SessionService } from "../modules/sessions/sessions.service";
import type { WorkerFleet } from "../modules/workers/fleet";
import type { WarmPool } from "../scheduler/warm-pool";
import type { Scheduler } from "../scheduler/scheduler";
import type { EgressGuard } from "../security/egress/guard";
import type { AuthState } from "../modules/auth/auth.state";
import type { Storage } from "../modules/profiles/session-storage";
import type { RuleEngines } from "../modules/rule-sets/session-rules";
import type { LiveHub } from "../modules/live/live.hub";
import type { SessionLinks } from "../cdp/session-links";
import type { DeploymentsService } from "../modules/deployments/deployments.service";
import type { ScheduleService } from "../modules/schedules/schedules.service";
import type { RunsService } from "../modules/runs/runs.service";

export interface ProbeResult {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface AppDeps {
  config: Readonly<Config>;
  db: Db;
  log: Logger;
  /** Extra readiness probes (e.g. "a worker is reachable"), registered by later modules. */
  readinessProbes: (() => Promise<ProbeResult>)[];
  startedAt: number;
  version: string;
  /** The session lifecycle (browsers, timeouts, queue). */
  sessions: SessionService;
  /** The install's secret key (data dir secret.key): signs connect tokens. */
  installKey: Buffer;
  /** Worker providers and heartbeats (absent in tests that start no browsers). */
  fleet?: WorkerFleet;
  /** Warm browsers, slots and the queue: where every session's browser comes from. */
  scheduler: Scheduler;
  /** The scheduler's warm pools (absent in tests that start no browsers). */
  warm?: WarmPool;
  /** The egress guard (absent in tests that start no browsers). */
  egress?: EgressGuard;
  /** Sign-in and API-key limits, the verified-key cache, the static keys. */
  auth: AuthState;
  /** Profiles, artifacts and their blob store. */
  storage: Storage;
  /** The running rule engines, one per session with rule sets. */
  rules: RuleEngines;
  /** The live views being watched, one per session. */
  live: LiveHub;
  /** BrowserGrid's own CDP link to each live session's browser, shared by the live view, rule sets, profile saves and screenshots. */
  links: SessionLinks;
  /** Deployments: bundles, versions, manifests, secrets. */
  deployments: DeploymentsService;
  /** Cron schedules of deployments and their clock (absent on a server built without the runs service). */
  schedules?: ScheduleService;
  /** Deployment runs (absent where no deployments and runners are wired). */
  runs?: RunsService;
  /** Clock in epoch ms; tests inject one to move time without sleeping. Default Date.now. */
  now?: () => number;
  /**
   * The runner door's base URLs as a runner on `workerId` reaches them (src/http/runner-door.ts):
   * the local Docker worker's while the door is open; null otherwise (runners of SSH workers
   * have no way in yet). Absent in tests that start no grid.
   */
  runnerDoorUrls?: (workerId: string) => { http: string; ws: string } | null;
}
