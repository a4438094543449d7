// Builds the DeploymentsService of one app from its config, database and blob store, with the
// manifest's name checks wired to the pools, profiles, proxies and rule-sets modules.
import type { Config } from "../../config";
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import type { BlobStore } from "../../storage/blob-store";
import { findPoolByName } from "../pools/pools.service";
import { getProfile } from "../profiles/profiles.store";
import { findProxy } from "../proxies/proxies.service";
import { resolveRuleSets } from "../rule-sets/rule-sets.service";
import type { ManifestRefs } from "./manifest";
import { DeploymentsService } from "./deployments.service";

/** Most entries a bundle may hold (files and directories; a node_modules tree counts). */
export const BUNDLE_MAX_ENTRIES = 50_000;

export function manifestRefs(db: Db): ManifestRefs {
  return {
    poolExists: (name) => findPoolByName(db, name) !== undefined,
    profileExists: (ref) => getProfile(db, ref) !== undefined,
    proxyExists: (ref) => findProxy(db, ref) !== undefined,
    ruleSetExists: (ref) => {
      try {
        return resolveRuleSets(db, [ref]).length === 1;
      } catch {
        return false;
      }
    },
  };
}

export function createDeployments(deps: { config: Readonly<Config>; db: Db; log: Logger; installKey: Buffer; blobs: BlobStore; now?: () => number }): DeploymentsService {
  const { config } = deps;
  return new DeploymentsService({
    db: deps.db,
    log: deps.log,
    blobs: deps.blobs,
    installKey: deps.installKey,
    now: deps.now,
    refs: manifestRefs(deps.db),
    limits: {
      maxUploadBytes: config.deploymentBundleMaxBytes,
      maxTotalBytes: config.deploymentUnpackedMaxBytes,
      maxFileBytes: config.deploymentUnpackedMaxBytes,
      maxEntries: BUNDLE_MAX_ENTRIES,
    },
  });
}
