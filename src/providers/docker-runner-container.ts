// What a runner container looks like (RunnerSpec, provider.ts): labels, environment and the
// limits that keep a deployment's script inside it. Every spec value is checked here, before
// anything exists on the engine. The image's side of the contract: runner-image/entrypoint.sh.
import type Docker from "dockerode";
import { BadRequest } from "../lib/errors";
import { LABELS } from "./docker-container";
import { RUNNER_PATHS, type RunnerRuntime, type RunnerSpec } from "./provider";

/** Value of LABELS.kind on runner containers (browsers carry no kind label). */
export const RUNNER_KIND = "runner";

export const RUNNER_RUNTIMES: readonly RunnerRuntime[] = ["bun", "python"];

const MiB = 1024 * 1024;
/** Defaults (docs/runners.md): a script drives a remote browser, it does not render pages itself. */
export const DEFAULT_RUNNER_MEMORY_BYTES = 512 * MiB;
const MIN_RUNNER_MEMORY_BYTES = 64 * MiB;
export const DEFAULT_RUNNER_NANO_CPUS = 1_000_000_000;
const MIN_NANO_CPUS = 100_000_000;
const MAX_NANO_CPUS = 64_000_000_000;
export const DEFAULT_RUNNER_PIDS = 256;
const MIN_PIDS = 16;
const MAX_PIDS = 4096;
const TMP_BYTES = 64 * MiB;

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** A relative path of plain names: no leading slash, no `.`/`..` segment, no odd characters. */
const ENTRY = /^[A-Za-z0-9_][A-Za-z0-9_.\-]*(\/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$/;
const MAX_ENV_BYTES = 256 * 1024;

export function checkEntry(entry: string): string {
  if (typeof entry !== "string" || entry.length > 256 || !ENTRY.test(entry) || entry.split("/").some((part) => part === ".." || part === ".")) {
    throw new BadRequest(`entry must be a relative path inside the bundle (letters, digits, _ . - and /, no ".."), got "${String(entry).slice(0, 80)}"`);
  }
  return entry;
}

function runnerEnv(env: Record<string, string>): string[] {
  const out: string[] = [];
  let bytes = 0;
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) throw new BadRequest(`environment variable name "${name.slice(0, 80)}" must be letters, digits and _ (not starting with a digit)`);
    if (typeof value !== "string" || value.includes("\0")) throw new BadRequest(`environment variable ${name} must be a string without NUL bytes`);
    bytes += name.length + value.length + 2;
    out.push(`${name}=${value}`);
  }
  if (bytes > MAX_ENV_BYTES) throw new BadRequest(`the runner's environment is ${bytes} bytes; at most ${MAX_ENV_BYTES} fit`);
  return out;
}

function intIn(value: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new BadRequest(what);
  return value;
}

/** The container's name: one per run attempt, so a second start of the same attempt fails (409). */
export function runnerContainerName(runId: string, attempt: number): string {
  return `bg-run-${runId}-${attempt}`;
}

export function runnerContainerConfig(
  spec: RunnerSpec,
  at: { image: string; installId: string; workerId: string; network: string; dns?: string[] },
): Docker.ContainerCreateOptions {
  if (!RUN_ID.test(spec.runId)) throw new BadRequest(`invalid run id "${String(spec.runId).slice(0, 80)}"`);
  if (!RUN_ID.test(spec.sessionId)) throw new BadRequest(`invalid session id "${String(spec.sessionId).slice(0, 80)}"`);
  intIn(spec.attempt, 1, 1000, "attempt must be an integer from 1 to 1000");
  if (!RUNNER_RUNTIMES.includes(spec.runtime)) throw new BadRequest(`runtime must be one of ${RUNNER_RUNTIMES.join(", ")}, got "${String(spec.runtime)}"`);
  const entry = checkEntry(spec.entry);
  const env = runnerEnv(spec.env ?? {});
  const memory = intIn(spec.limits?.memoryBytes ?? DEFAULT_RUNNER_MEMORY_BYTES, MIN_RUNNER_MEMORY_BYTES, Number.MAX_SAFE_INTEGER, "the runner's memory limit must be an integer of at least 64 MiB");
  const nanoCpus = intIn(spec.limits?.nanoCpus ?? DEFAULT_RUNNER_NANO_CPUS, MIN_NANO_CPUS, MAX_NANO_CPUS, "the runner's CPU limit must be 0.1 to 64 CPUs");
  const pids = intIn(spec.limits?.pids ?? DEFAULT_RUNNER_PIDS, MIN_PIDS, MAX_PIDS, `the runner's pids limit must be ${MIN_PIDS} to ${MAX_PIDS}`);
  return {
    name: runnerContainerName(spec.runId, spec.attempt),
    Image: at.image,
    Cmd: [entry],
    Env: env,
    Labels: {
      [LABELS.install]: at.installId,
      [LABELS.worker]: at.workerId,
      [LABELS.kind]: RUNNER_KIND,
      [LABELS.run]: spec.runId,
      [LABELS.attempt]: String(spec.attempt),
      [LABELS.runSession]: spec.sessionId,
      [LABELS.pool]: spec.poolId,
    },
    HostConfig: {
      // The browsers' bridge: inter-container traffic off (the runner cannot reach its browser
      // directly) and the same egress guard; the door on the bridge's gateway is its way in.
      NetworkMode: at.network,
      ...(at.dns?.length ? { Dns: at.dns } : {}),
      NanoCpus: nanoCpus,
      Memory: memory,
      MemorySwap: memory,
      PidsLimit: pids,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      ReadonlyRootfs: true,
      // No bind mount and no Docker socket, ever. The app and output directories are anonymous
      // volumes (removed with the container): the archive API fills the app before start and
      // reads the output after exit, which it cannot do on tmpfs. The image makes the app
      // root-owned (read-only for the script) and the output the runner user's.
      Mounts: [
        { Type: "volume", Source: "", Target: RUNNER_PATHS.app, ReadOnly: false },
        { Type: "volume", Source: "", Target: RUNNER_PATHS.output, ReadOnly: false },
      ],
      Tmpfs: { "/tmp": `rw,nosuid,nodev,size=${TMP_BYTES},mode=1777` },
      IpcMode: "private",
      RestartPolicy: { Name: "no" },
      LogConfig: { Type: "json-file", Config: { "max-size": "5m", "max-file": "2" } },
    },
  };
}
