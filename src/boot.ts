// Boot order, nothing else: config → logger → database + migrations → services →
// reconcile → HTTP → background loops. Returns a handle that shuts everything down.
import type { Server } from "bun";
import type { Config } from "./config";
import { openDatabase, databasePath } from "./db/client";
import { log, setLogLevel } from "./lib/logger";
import type { AppDeps } from "./http/context";
import { createApp } from "./http/app";
import { listen } from "./http/server";
import { loadAssets } from "./modules/assets/assets.routes";
import { VERSION } from "./version";

export interface Running {
  deps: AppDeps;
  server: Server<unknown>;
  url: string;
  stop(): Promise<void>;
}

export async function boot(config: Readonly<Config>): Promise<Running> {
  const startedAt = Date.now();
  setLogLevel(config.logLevel);
  const db = openDatabase(databasePath(config.dataDir));
  const deps: AppDeps = { config, db, log, readinessProbes: [], startedAt, version: VERSION };
  await loadAssets();
  const app = createApp(deps);
  const server = listen({ host: config.host, port: config.port, app });
  const url = `http://${server.hostname}:${server.port}`;
  log.info("browsergrid ready", { url, publicUrl: config.publicUrl, dataDir: config.dataDir, version: VERSION, bootMs: Date.now() - startedAt });
  return {
    deps,
    server,
    url,
    async stop() {
      server.stop(true);
      db.$client.close();
    },
  };
}
