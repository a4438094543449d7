// The local Docker engine as a worker serving every pool (pools created later included) on a new
// install, so a one-host install runs any number of pools; an admin may narrow it to a list.
// Registration is an upsert on the endpoint, so restarts never add rows; nothing is registered while no engine
// answers (the worker appears on the first start where one does).
import { enginePing } from "../../providers/engine";
import type { Config } from "../../config";
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import { findWorkerByEndpoint, registerWorker } from "./workers.service";

/** Asks the local engine whether it answers; boot starts this before creating a new database. */
export function pingLocalDocker(config: Readonly<Config>): Promise<boolean> {
  return enginePing(config.dockerSocket).then(
    () => true,
    () => false,
  );
}

export async function ensureLocalDockerWorker(deps: { config: Readonly<Config>; db: Db; log: Logger }, engineAnswers?: Promise<boolean>): Promise<void> {
  const { config, db, log } = deps;
  const endpoint = `unix://${config.dockerSocket}`;
  if (findWorkerByEndpoint(db, endpoint)) return;
  if (!(await (engineAnswers ?? pingLocalDocker(config)))) {
    log.warn("no Docker engine answers; sessions cannot start until one does", { socket: config.dockerSocket });
    return;
  }
  registerWorker(db, { name: "local", pools: "all", endpoint, kind: "docker" });
}
