// Fakes of the ports the run lifecycle uses (src/modules/runs/runs.ports.ts), for fast unit and
// route tests: deployments held in memory (with a real `deployments` row, which runs reference),
// runner "containers" that play a script (lines, output files, an exit code, or hanging until
// killed), and a clock the test moves. The real runner and deployments modules have their own
// tests; test/e2e drives the whole thing with real containers.
import { pack } from "tar-stream";
import type { Db } from "../../src/db/client";
import { deployments } from "../../src/db/schema";
import { BadRequest, NotFound } from "../../src/lib/errors";
import { newId } from "../../src/lib/ids";
import type { LogLine, OwnedRunner, ResolvedVersion, RunClock, RunDeployments, RunManifest, RunnerSpec, RunRunners } from "../../src/modules/runs/runs.ports";

export class FakeDeployments implements RunDeployments {
  private byName = new Map<string, { id: string; name: string; current: number; versions: Map<number, RunManifest>; secrets: Record<string, string> }>();

  constructor(private db: Db) {}

  /** A deployment (row and all) with one version; returns its id. */
  add(name: string, manifest: Partial<RunManifest> = {}, secrets: Record<string, string> = {}): string {
    const id = newId("dep");
    this.db.insert(deployments).values({ id, name, currentVersion: 1 }).run();
    this.byName.set(name, { id, name, current: 1, versions: new Map([[1, { entry: "main.ts", runtime: "bun", ...manifest }]]), secrets });
    return id;
  }

  /** The version is gone (deleted with its deployment's history). */
  removeVersion(name: string, version: number): void {
    this.byName.get(name)?.versions.delete(version);
  }

  async resolveVersion(name: string, version?: number): Promise<ResolvedVersion> {
    const d = this.byName.get(name);
    if (!d) throw new NotFound(`Deployment ${name}`);
    const v = version ?? d.current;
    const manifest = d.versions.get(v);
    if (!manifest) throw new NotFound(`Version ${v} of deployment ${name}`);
    // The version as a row, as the deployments module answers it.
    return { deployment: { id: d.id, name }, version: { version: v }, manifest };
  }

  bundle(): Uint8Array {
    return new Uint8Array([0x1f, 0x8b]);
  }

  /** A small stand-in for the JSON Schema validator: required keys, property types, defaults. */
  validateParams(manifest: RunManifest, params: Record<string, unknown>): Record<string, unknown> {
    const schema = (manifest.params ?? {}) as { required?: string[]; properties?: Record<string, { type?: string; default?: unknown }> };
    const out: Record<string, unknown> = { ...params };
    for (const [k, p] of Object.entries(schema.properties ?? {})) {
      if (out[k] === undefined && p.default !== undefined) out[k] = p.default;
      if (out[k] !== undefined && p.type && typeof out[k] !== p.type) throw new BadRequest(`params.${k} must be a ${p.type}`, "invalid_params");
    }
    for (const k of schema.required ?? []) if (out[k] === undefined) throw new BadRequest(`params.${k} is required`, "invalid_params");
    return out;
  }

  secretsEnv(deploymentId: string): Record<string, string> {
    for (const d of this.byName.values()) if (d.id === deploymentId) return d.secrets;
    return {};
  }
}

/** What a fake runner does: print `lines`, leave `output` files, exit with `exitCode` after `runMs` — or run until killed. */
export interface RunnerScript {
  lines?: Omit<LogLine, "at">[];
  output?: Record<string, string>;
  exitCode?: number;
  runMs?: number;
  hang?: boolean;
}

interface FakeContainer {
  spec: RunnerSpec;
  workerId: string;
  exitCode: number | null;
  exited: PromiseWithResolvers<number>;
  lines: LogLine[];
  wake: (() => void) | null;
  output: Record<string, string>;
  removed: boolean;
}

export class FakeRunners implements RunRunners {
  readonly started: RunnerSpec[] = [];
  readonly stopped: string[] = [];
  readonly containers = new Map<string, FakeContainer>();
  script: (spec: RunnerSpec) => RunnerScript = () => ({ exitCode: 0 });
  door: { http: string; ws: string } | null = { http: "http://door.test:7070", ws: "ws://door.test:7070" };
  private seq = 0;

  constructor(private readonly workerIds: () => string[]) {}

  async startRunner(workerId: string, spec: RunnerSpec): Promise<{ handle: string }> {
    const handle = `runner-${++this.seq}`;
    const s = this.script(spec);
    const c: FakeContainer = { spec, workerId, exitCode: null, exited: Promise.withResolvers<number>(), lines: [], wake: null, output: s.output ?? {}, removed: false };
    this.containers.set(handle, c);
    this.started.push(spec);
    for (const l of s.lines ?? []) c.lines.push({ ...l, at: Date.now() });
    if (!s.hang) setTimeout(() => this.exit(handle, s.exitCode ?? 0), s.runMs ?? 0);
    return { handle };
  }

  /** The container stops by itself with `code`. */
  exit(handle: string, code: number): void {
    const c = this.containers.get(handle);
    if (!c || c.exitCode !== null) return;
    c.exitCode = code;
    c.exited.resolve(code);
    c.wake?.();
  }

  async *runnerLogs(_workerId: string, handle: string): AsyncIterable<LogLine> {
    const c = this.containers.get(handle);
    if (!c) return;
    let i = 0;
    for (;;) {
      while (i < c.lines.length) yield c.lines[i++]!;
      if (c.exitCode !== null) return;
      await new Promise<void>((r) => (c.wake = r));
    }
  }

  async waitRunner(_workerId: string, handle: string, timeoutMs: number): Promise<{ exitCode: number } | null> {
    const c = this.containers.get(handle);
    if (!c) return { exitCode: 137 };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const code = await Promise.race([c.exited.promise, new Promise<null>((r) => (timer = setTimeout(() => r(null), timeoutMs)))]);
    clearTimeout(timer);
    return code === null ? null : { exitCode: code };
  }

  /**
   * How long a removal takes. Like Docker (a second remove while one is under way answers 409,
   * which the provider takes as done), a stopRunner meanwhile returns at once.
   */
  removalMs = 0;
  /** Runners whose removal finished. */
  readonly gone = new Set<string>();

  async stopRunner(_workerId: string, handle: string): Promise<void> {
    const c = this.containers.get(handle);
    if (!c || c.removed) return;
    this.stopped.push(handle);
    this.exit(handle, 137);
    c.removed = true;
    if (this.removalMs) await Bun.sleep(this.removalMs);
    this.gone.add(handle);
  }

  async copyOut(_workerId: string, handle: string, path: string): Promise<NodeJS.ReadableStream> {
    const c = this.containers.get(handle);
    if (!c || c.removed) throw new Error(`no such container: ${handle}`);
    const base = path.split("/").pop()!;
    const p = pack();
    p.entry({ name: `${base}/`, type: "directory" });
    for (const [name, text] of Object.entries(c.output)) p.entry({ name: `${base}/${name}` }, text);
    p.finalize();
    return p as unknown as NodeJS.ReadableStream;
  }

  workers(): string[] {
    return this.workerIds();
  }

  /** Workers whose engine does not answer (listOwnedRunners throws). */
  readonly unreachable = new Set<string>();

  async listOwnedRunners(workerId: string): Promise<OwnedRunner[]> {
    if (this.unreachable.has(workerId)) throw new Error(`worker ${workerId} does not answer`);
    return [...this.containers.entries()].filter(([, c]) => c.workerId === workerId && !c.removed).map(([handle, c]) => ({ handle, runId: c.spec.runId, attempt: c.spec.attempt, running: c.exitCode === null }));
  }

  doorUrls(): { http: string; ws: string } | null {
    return this.door;
  }

  /** The container started for a run's attempt. */
  handleOf(runId: string, attempt = 1): string | undefined {
    for (const [h, c] of this.containers) if (c.spec.runId === runId && c.spec.attempt === attempt) return h;
    return undefined;
  }
}

/** A clock the test moves: `later` callbacks fire when `advance` passes their time. */
export class ManualClock implements RunClock {
  private timers: { at: number; fn: () => void }[] = [];
  constructor(public t = 1_800_000_000_000) {}
  now(): number {
    return this.t;
  }
  later(ms: number, fn: () => void): () => void {
    const timer = { at: this.t + ms, fn };
    this.timers.push(timer);
    return () => void (this.timers = this.timers.filter((x) => x !== timer));
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const x of due) x.fn();
  }
}
