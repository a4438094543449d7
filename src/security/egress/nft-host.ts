// The two ways the guard reaches a host's packet filter, behind one small interface:
// - this host: `nft` spawned with an argument vector (never a shell string), ruleset on stdin;
// - a remote Docker engine (SSH workers): through the Docker API alone, with a one-shot helper
//   container on the engine's host network with NET_ADMIN (src/providers/host-helper.ts).
import type { EngineReads } from "../../providers/engine";
import type { HostHelper } from "../../providers/host-helper";
import { HOST_FACT_FILES, localHostFacts, parseHelperFacts, type HostFacts } from "./host-facts";

export interface NftHost {
  readonly where: string;
  /** This host (a `nft` spawn costs a few ms) or a remote engine (a helper container each time). */
  readonly local: boolean;
  /** null unless the engine's bridges are out of this host's packet filter (rootless Docker, Docker Desktop); no nft or no privileges show as apply()'s error. */
  cannotInstall(): Promise<string | null>;
  facts(): Promise<HostFacts>;
  /** Runs `nft -f` with the ruleset; throws with nft's message on failure. */
  apply(ruleset: string): Promise<void>;
  /** `nft -j list table inet <table>` parsed; null when the table does not exist. */
  list(table: string): Promise<unknown | null>;
  /** Deletes `table inet <table>`; false when it did not exist (`browsergrid cleanup`). */
  remove(table: string): Promise<boolean>;
}

const ABSENT = /No such file or directory|does not exist/i;

async function spawnNft(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let proc;
  try {
    proc = Bun.spawn(["nft", ...args], { stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  } catch (err) {
    throw new Error((err as { code?: string }).code === "ENOENT" ? "nft is not installed on this host (apt-get install nftables)" : `cannot run nft: ${(err as Error).message}`);
  }
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr: stderr.trim().slice(0, 2_000) };
}

function nftFailure(stderr: string): Error {
  if (/Operation not permitted|Permission denied/i.test(stderr)) return new Error("nft was refused: BrowserGrid must run as root (or with CAP_NET_ADMIN) to install its packet filter");
  return new Error(`nft failed: ${stderr || "no message"}`);
}

export function localNftHost(engine?: Pick<EngineReads, "info">): NftHost {
  return {
    where: "this host",
    local: true,
    async cannotInstall() {
      // A rootless engine's bridges live in its own network namespace, out of this table's reach.
      // A missing nft or missing privileges show in apply()'s error (nftFailure): no extra spawn.
      const limit = engine ? await engineLimitation(engine).catch(() => null) : null;
      return limit ? `egress guard cannot be installed on this host's engine: ${limit}` : null;
    },
    async facts() {
      return localHostFacts();
    },
    async apply(ruleset) {
      const r = await spawnNft(["-f", "-"], ruleset);
      if (r.code !== 0) throw nftFailure(r.stderr);
    },
    ...tableOps(spawnNft),
  };
}

/** Reading and deleting a table, the same wherever `nft` runs (`run` takes nft's arguments). */
function tableOps(run: (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>): Pick<NftHost, "list" | "remove"> {
  return {
    async list(table) {
      const r = await run(["-j", "list", "table", "inet", table]);
      if (r.code !== 0) {
        if (ABSENT.test(r.stderr)) return null;
        throw nftFailure(r.stderr);
      }
      return JSON.parse(r.stdout);
    },
    async remove(table) {
      const r = await run(["delete", "table", "inet", table]);
      if (r.code === 0) return true;
      if (ABSENT.test(r.stderr)) return false;
      throw nftFailure(r.stderr);
    },
  };
}

/** Rootless Docker and Docker Desktop run the engine in a user namespace or a VM: the host's filter is out of reach. */
export async function engineLimitation(engine: Pick<EngineReads, "info">): Promise<string | null> {
  const info = await engine.info();
  if ((info.SecurityOptions ?? []).some((o) => o.includes("name=rootless"))) return "rootless Docker";
  if ((info.OperatingSystem ?? "").includes("Docker Desktop")) return "Docker Desktop";
  return null;
}

export function remoteNftHost(engine: HostHelper, opts: { where: string; image: string }): NftHost {
  const helper = (cmd: string[], file?: { path: string; content: string }) => engine.run({ image: opts.image, cmd, file });
  return {
    where: opts.where,
    local: false,
    async cannotInstall() {
      const limit = await engineLimitation(engine);
      return limit ? `egress guard cannot be installed on ${opts.where}: ${limit}` : null;
    },
    async facts() {
      const r = await helper(["cat", ...HOST_FACT_FILES]);
      if (r.code !== 0) throw new Error(`reading the network of ${opts.where} failed: ${r.stderr || `exit ${r.code}`}`);
      return parseHelperFacts(r.stdout);
    },
    async apply(ruleset) {
      const r = await helper(["nft", "-f", "/tmp/browsergrid.nft"], { path: "/tmp/browsergrid.nft", content: ruleset });
      if (r.code !== 0) throw nftFailure(r.stderr);
    },
    ...tableOps((args) => helper(["nft", ...args])),
  };
}
