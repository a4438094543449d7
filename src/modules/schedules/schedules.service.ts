// Schedules of deployments: create, read, change, delete, each checked fully before anything is
// stored (the deployment exists, the cron parses in its time zone, the params pass the
// deployment's schema), and the clock re-armed at once after every change. Params are stored as
// given; each run applies the defaults of the version it runs.
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import { newId } from "../../lib/ids";
import { NotFound } from "../../lib/errors";
import { ScheduleClock, type ClockState } from "./schedules.clock";
import { nextFireTimes, parseCron } from "./schedules.cron";
import type { ScheduleDeployments, ScheduleRuns, ScheduleTimers, SystemAudit } from "./schedules.ports";
import { scheduleStats, type ScheduleStats } from "./schedules.stats";
import * as store from "./schedules.store";

export const NEXT_RUNS = 5;

export interface ScheduleInput {
  cron: string;
  timezone?: string;
  params?: Record<string, unknown>;
  overlap?: store.OverlapPolicy;
  enabled?: boolean;
  catchUp?: number;
}
export type SchedulePatch = Partial<ScheduleInput>;

/** A schedule as the API and the UI show it. Times are epoch ms here; the routes render them. */
export interface ScheduleView {
  row: store.ScheduleWithDeployment;
  nextRuns: number[];
  stats: ScheduleStats;
  clock: ClockState;
}

export interface ScheduleServiceDeps {
  db: Db;
  log: Logger;
  runs: ScheduleRuns;
  deployments: ScheduleDeployments;
  timers: ScheduleTimers;
  audit: SystemAudit;
}

export class ScheduleService {
  readonly clock: ScheduleClock;

  constructor(private readonly deps: ScheduleServiceDeps) {
    this.clock = new ScheduleClock(deps);
  }

  async create(deploymentName: string, input: ScheduleInput, createdBy: string | null = null): Promise<ScheduleView> {
    const { db, timers } = this.deps;
    if (!store.deploymentByName(db, deploymentName)) throw new NotFound(`Deployment "${deploymentName}"`);
    const timezone = input.timezone ?? "UTC";
    parseCron(input.cron, timezone);
    const params = input.params ?? {};
    await this.checkParams(deploymentName, params);
    // Looked up again after the await: a deployment deleted meanwhile is a 404, not a foreign-key error.
    const deployment = store.deploymentByName(db, deploymentName);
    if (!deployment) throw new NotFound(`Deployment "${deploymentName}"`);
    const now = timers.now();
    const id = newId("sch");
    store.insertSchedule(db, {
      id,
      deploymentId: deployment.id,
      cron: input.cron.trim(),
      timezone,
      params,
      overlap: input.overlap ?? "skip",
      enabled: input.enabled ?? true,
      catchUp: input.catchUp ?? 1,
      createdBy,
      createdAt: now,
      updatedAt: now,
    });
    this.clock.reschedule(id);
    return this.get(id);
  }

  get(id: string): ScheduleView {
    const row = store.getSchedule(this.deps.db, id);
    if (!row) throw new NotFound(`Schedule "${id}"`);
    return this.views([row])[0]!;
  }

  /** Oldest first; `deployment` (a name) narrows the list (404 when it does not exist). */
  list(opts: { deployment?: string } = {}): ScheduleView[] {
    let deploymentId: string | undefined;
    if (opts.deployment !== undefined) {
      deploymentId = store.deploymentByName(this.deps.db, opts.deployment)?.id;
      if (!deploymentId) throw new NotFound(`Deployment "${opts.deployment}"`);
    }
    return this.views(store.listSchedules(this.deps.db, { deploymentId }));
  }

  async update(id: string, patch: SchedulePatch): Promise<ScheduleView> {
    const before = store.getSchedule(this.deps.db, id);
    if (!before) throw new NotFound(`Schedule "${id}"`);
    const cron = patch.cron ?? before.cron;
    const timezone = patch.timezone ?? before.timezone;
    if (patch.cron !== undefined || patch.timezone !== undefined) parseCron(cron, timezone);
    if (patch.params !== undefined) await this.checkParams(before.deploymentName, patch.params);
    const changes: Parameters<typeof store.updateSchedule>[2] = {};
    if (patch.cron !== undefined) changes.cron = cron.trim();
    if (patch.timezone !== undefined) changes.timezone = timezone;
    if (patch.params !== undefined) changes.params = patch.params;
    if (patch.overlap !== undefined) changes.overlap = patch.overlap;
    if (patch.enabled !== undefined) changes.enabled = patch.enabled;
    if (patch.catchUp !== undefined) changes.catchUp = patch.catchUp;
    if (!store.updateSchedule(this.deps.db, id, changes, this.deps.timers.now())) throw new NotFound(`Schedule "${id}"`);
    this.clock.reschedule(id);
    return this.get(id);
  }

  remove(id: string): store.ScheduleWithDeployment {
    const row = store.getSchedule(this.deps.db, id);
    if (!row || !store.deleteSchedule(this.deps.db, id)) throw new NotFound(`Schedule "${id}"`);
    this.clock.forget(id);
    return row;
  }

  /** Deployment names for the UI's create form. */
  deploymentNames(): string[] {
    return store.listDeploymentNames(this.deps.db);
  }

  private async checkParams(deploymentName: string, params: Record<string, unknown>): Promise<void> {
    const { manifest } = await this.deps.deployments.resolveVersion(deploymentName);
    this.deps.deployments.validateParams(manifest, params);
  }

  private views(rows: store.ScheduleWithDeployment[]): ScheduleView[] {
    const stats = scheduleStats(this.deps.db, rows.map((r) => r.id));
    const now = this.deps.timers.now();
    return rows.map((row) => ({
      row,
      nextRuns: row.enabled ? nextRunsOf(row, now) : [],
      stats: stats.get(row.id)!,
      clock: this.clock.state(row.id),
    }));
  }
}

function nextRunsOf(row: store.ScheduleRow, now: number): number[] {
  try {
    return nextFireTimes(parseCron(row.cron, row.timezone), Math.max(now, row.lastFireAt ?? 0), NEXT_RUNS);
  } catch {
    return []; // a stored cron the runtime cannot evaluate any more: the clock records why
  }
}
