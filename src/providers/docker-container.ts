// What a browser container looks like: labels, environment (the contract of
// browser-image/entrypoint.sh) and the limits that keep a hostile page inside it.
// Every spec value is checked here, before anything exists on the engine.
import type Docker from "dockerode";
import { BadRequest } from "../lib/errors";
import { BROWSER_PATHS, type BrowserSpec } from "./provider";

export const LABELS = {
  install: "browsergrid.install",
  worker: "browsergrid.worker",
  session: "browsergrid.session",
  pool: "browsergrid.pool",
  /** Present on warm browsers (started ahead, not yet claimed): value = the warm browser's id. */
  warm: "browsergrid.warm",
  /** "runner" on runner containers (docker-runner-container.ts); browsers carry none. */
  kind: "browsergrid.kind",
  /** On runners: the run, its attempt and the session whose browser it drives. */
  run: "browsergrid.run",
  attempt: "browsergrid.attempt",
  runSession: "browsergrid.run.session",
} as const;

/** Inside every browser container, a relay on this port reaches Chromium's DevTools endpoint. */
export const CDP_PORT = 9222;

const MiB = 1024 * 1024;
const DEFAULT_MEMORY_BYTES = 1024 * MiB;
const MIN_MEMORY_BYTES = 128 * MiB;
const SHM_BYTES = 256 * MiB;
/** Counts threads, not processes: idle headless-shell ≈ 60, full Chromium ≈ 105, each tab ≈ 20 more. */
const PIDS_LIMIT = 1024;
/** One core: a session cannot take every core of its worker (a pool may set more or less). */
export const DEFAULT_NANO_CPUS = 1_000_000_000;
const MIN_NANO_CPUS = 100_000_000;
const MAX_NANO_CPUS = 64_000_000_000;
/** Default cap of each writable place a session fills (downloads, uploads). */
export const DEFAULT_STORAGE_BYTES = 256 * MiB;
const MIN_STORAGE_BYTES = 16 * MiB;
const TMP_BYTES = 64 * MiB;

const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}$/;
const LOCALE = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$/;
const TIMEZONE = /^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/;
const PRINTABLE = /^[\x20-\x7e]{1,512}$/;
/** Only ever the grid's own relay: an address and port, never credentials. */
const PROXY_SERVER = /^http:\/\/[0-9a-fA-F.:\[\]]{2,64}:\d{1,5}$/;

/** Container environment from a spec; rejects values the entrypoint would refuse anyway. */
export function containerEnv(spec: BrowserSpec): string[] {
  const { width, height } = spec.viewport;
  for (const v of [width, height]) {
    if (!Number.isInteger(v) || v < 100 || v > 10_000) throw new BadRequest(`viewport size must be 100..10000 pixels, got ${width}x${height}`);
  }
  const env = [`BG_WINDOW_WIDTH=${width}`, `BG_WINDOW_HEIGHT=${height}`];
  if (spec.userAgent !== undefined) {
    if (!PRINTABLE.test(spec.userAgent)) throw new BadRequest("userAgent must be 1-512 printable ASCII characters");
    env.push(`BG_USER_AGENT=${spec.userAgent}`);
  }
  if (spec.locale !== undefined) {
    if (!LOCALE.test(spec.locale)) throw new BadRequest(`locale must be a BCP 47 tag like de-DE, got "${spec.locale}"`);
    env.push(`BG_LANG=${spec.locale}`);
  }
  if (spec.timezone !== undefined) {
    if (!TIMEZONE.test(spec.timezone) || spec.timezone.includes("..")) {
      throw new BadRequest(`timezone must be an IANA name like Europe/Berlin, got "${spec.timezone}"`);
    }
    env.push(`TZ=${spec.timezone}`);
  }
  // The profile is handed over through the archive API once the container runs (docker-archive.ts handOverProfile).
  if (spec.profile) env.push("BG_PROFILE_HANDOFF=1");
  if (spec.proxyServer !== undefined) {
    if (!PROXY_SERVER.test(spec.proxyServer)) throw new BadRequest(`proxyServer must look like http://<ip>:<port>, got "${spec.proxyServer}"`);
    env.push(`BG_PROXY_SERVER=${spec.proxyServer}`);
  }
  return env;
}

/**
 * A size-capped place in memory that the Docker archive API still reaches while the container
 * runs: an anonymous volume of the local driver mounted as tmpfs. Anonymous, so it goes with the
 * container (remove v=true). Measured on Docker 20.10: putArchive and getArchive work on it while
 * the container runs; before start and after exit they see a fresh, empty tmpfs (each mount is a
 * new one), so only places filled and read while the browser runs can live here.
 */
function cappedVolume(target: string, bytes: number): Docker.MountSettings {
  return {
    Type: "volume",
    Source: "", // anonymous
    Target: target,
    VolumeOptions: {
      NoCopy: true,
      Labels: {},
      DriverConfig: { Name: "local", Options: { type: "tmpfs", device: "tmpfs", o: `size=${bytes},uid=1000,gid=1000,mode=0700,nosuid,nodev,noexec` } },
    },
  };
}

export function browserContainerConfig(
  spec: BrowserSpec,
  at: { image: string; installId: string; workerId: string; network: string; dns?: string[] },
): Docker.ContainerCreateOptions {
  if (!SESSION_ID.test(spec.sessionId)) throw new BadRequest(`invalid session id "${spec.sessionId}"`);
  const env = containerEnv(spec);
  const memory = spec.memoryBytes ?? DEFAULT_MEMORY_BYTES;
  if (!Number.isInteger(memory) || memory < MIN_MEMORY_BYTES) throw new BadRequest("memoryBytes must be an integer of at least 128 MiB");
  const nanoCpus = spec.limits?.nanoCpus ?? DEFAULT_NANO_CPUS;
  if (!Number.isInteger(nanoCpus) || nanoCpus < MIN_NANO_CPUS || nanoCpus > MAX_NANO_CPUS) throw new BadRequest("the CPU limit must be 0.1 to 64 CPUs");
  const storage = spec.limits?.storageBytes ?? DEFAULT_STORAGE_BYTES;
  // tmpfs pages are charged to the container's memory cgroup: a cap at or above the memory limit would end in an OOM kill instead of a full disk.
  if (!Number.isInteger(storage) || storage < MIN_STORAGE_BYTES || storage > memory * 0.75) {
    throw new BadRequest(`the storage cap must be 16 MiB to ${Math.floor((memory * 0.75) / MiB)} MiB (three quarters of the memory limit)`);
  }
  return {
    name: `bg-${spec.sessionId}`,
    Image: at.image,
    Env: env,
    Labels: {
      [LABELS.install]: at.installId,
      [LABELS.worker]: at.workerId,
      [LABELS.session]: spec.sessionId,
      [LABELS.pool]: spec.poolId,
      ...(spec.warm ? { [LABELS.warm]: spec.sessionId } : {}),
    },
    HostConfig: {
      NetworkMode: at.network, // no published ports: the grid reaches the container's address
      NanoCpus: nanoCpus,
      ...(at.dns?.length ? { Dns: at.dns } : {}), // the egress guard lets port 53 through to exactly these
      Memory: memory,
      MemorySwap: memory,
      PidsLimit: PIDS_LIMIT,
      ShmSize: SHM_BYTES,
      CapDrop: ["ALL"], // Chromium runs as uid 1000 and needs none (its own sandbox is off, see the entrypoint)
      SecurityOpt: ["no-new-privileges"],
      ReadonlyRootfs: true,
      // Every other writable place is in memory, size-capped and charged to the container's
      // memory limit, so no session can fill the worker's disk, however many run at once.
      // Downloads and uploads travel through the archive API while the browser runs, hence
      // tmpfs volumes (cappedVolume) rather than plain tmpfs mounts, which that API cannot see.
      Tmpfs: {
        "/tmp": `rw,nosuid,nodev,size=${TMP_BYTES}`,
        "/home/browser": `rw,nosuid,nodev,size=${memory},uid=1000,gid=1000,mode=0700`,
      },
      // A session's profile too, capped like /home/browser below it: filled after start, before
      // Chromium runs, and read after Chromium exited while the entrypoint holds the container.
      Mounts: [
        cappedVolume(BROWSER_PATHS.downloads, storage),
        cappedVolume(BROWSER_PATHS.uploads, storage),
        ...(spec.profile ? [cappedVolume(BROWSER_PATHS.profile, Math.floor(memory * 0.75))] : []),
      ],
      IpcMode: "private",
      RestartPolicy: { Name: "no" },
      LogConfig: { Type: "json-file", Config: { "max-size": "1m", "max-file": "1" } },
    },
  };
}
