import { loadConfigOrReport, type Command } from "./command";
import { boot } from "../boot";
import { log } from "../lib/logger";
import { SHUTDOWN_TOTAL_MS } from "../modules/sessions/sessions.shutdown";
import { writeServerPid } from "./server-pid";

/** Past the bounded session shutdown, the rest of the stop (closing connections, the database) gets this long. */
const SHUTDOWN_BACKSTOP_MS = SHUTDOWN_TOTAL_MS + 5_000;

export const serveCommand: Command = {
  name: "serve",
  summary: "Run the appliance (API, UI, CDP gateway, background loops) — the default",
  usage: `browsergrid serve

Runs BrowserGrid: the REST API under /api/v1, the admin UI, the CDP gateway and the
background loops. Configuration comes from the environment:

  BROWSERGRID_HOST            listen address (default 127.0.0.1)
  BROWSERGRID_PORT            listen port (default 7070)
  BROWSERGRID_DATA_DIR        database and storage (default /var/lib/browsergrid as root,
                              else ~/.local/share/browsergrid)
  BROWSERGRID_PUBLIC_URL      base URL put into the URLs it hands out
  BROWSERGRID_ALLOWED_HOSTS   more host names the UI answers to (comma-separated); other
                              Host headers than these, the public URL's, loopback and the
                              listen address get 421 (DNS rebinding)
  BROWSERGRID_LOG_LEVEL       debug | info | warn | error (default info)
  BROWSERGRID_DOCKER_SOCKET   local Docker engine socket (default /var/run/docker.sock)
  BROWSERGRID_ENGINE_TIMEOUT_MS
                              deadline of a quick Docker engine call, ms (default 10000;
                              create/start/stop/remove 3x, archive copies 12x); past it the
                              request gets 503 engine_timeout and the worker turns unhealthy
  BROWSERGRID_HEARTBEAT_MS    how often workers' engines are checked, ms (default 5000)
  BROWSERGRID_BROWSER_IMAGE   browser image repository (default browsergrid/browser)
  BROWSERGRID_ADMIN_EMAIL, BROWSERGRID_ADMIN_PASSWORD
                              create the first admin unattended (used once)
  BROWSERGRID_API_KEYS        static API keys bg_<id>_<secret>, comma-separated
  BROWSERGRID_TRUSTED_PROXIES addresses allowed to set X-Forwarded-For / the auth header
  BROWSERGRID_AUTH_PROXY_HEADER header carrying the user's email from a trusted SSO proxy
  BROWSERGRID_API_RATE_LIMIT  API requests per key per minute (default 600)
  BROWSERGRID_EGRESS_GUARD    on (default) | off: the nftables guard that keeps browsers
                              off private networks, cloud metadata and the Docker host
  BROWSERGRID_EGRESS_ALLOW    allow-list for every pool, comma-separated: CIDR, IP[:port],
                              hostname[:port], docker-host[:port]
  BROWSERGRID_BROWSER_DNS     DNS servers of browser containers (IPv4, comma-separated)
  BROWSERGRID_DOCKER_NETWORK  Docker network of browser containers (default browsergrid-default)
  BROWSERGRID_EGRESS_TABLE    nftables table of the guard (default browsergrid)
  BROWSERGRID_RUNNER_PORT     port of the runner door, the listener on the browser network's
                              gateway through which deployments' scripts reach the CDP
                              gateway and the API (default 0: a free port, kept across
                              restarts); docs/runners.md

Network features (egress guard, proxies, rule sets): docs/network.md.

SIGTERM or SIGINT stops it: sessions without keepAlive end (reason "server shut down") and
their browsers and the warm browsers are removed, within 20 s; keep-alive sessions keep
running and the next start adopts them. A second signal exits at once. The data dir holds
browsergrid.pid while it runs; "browsergrid cleanup" removes what an install left behind.`,
  async run(args) {
    const config = loadConfigOrReport();
    if (!config) return 2;
    const removePid = writeServerPid(config.dataDir);
    let running;
    try {
      running = await boot(config);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (err.code === "EADDRINUSE" || /address.*in use|EADDRINUSE/i.test(String(err.message)))
        console.error(`browsergrid: BROWSERGRID_PORT: ${config.host}:${config.port} is already in use; stop the other process or choose another port`);
      else console.error(`browsergrid: failed to start: ${err.message ?? e}`);
      removePid();
      return 1;
    }
    const code = await new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          log.warn("second signal: exiting now; `browsergrid cleanup` removes browsers left behind", { signal });
          return resolve(1);
        }
        stopping = true;
        log.info("shutting down", { signal });
        // The stop bounds its own work (sessions.shutdown.ts); this is the backstop for a stuck close.
        const backstop = setTimeout(() => {
          log.error("shutdown did not finish in time; exiting", { ms: SHUTDOWN_BACKSTOP_MS });
          resolve(1);
        }, SHUTDOWN_BACKSTOP_MS);
        running.stop().then(
          () => resolve(0),
          (err) => {
            log.error("shutdown failed", { err });
            resolve(1);
          },
        ).finally(() => clearTimeout(backstop));
      };
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGINT", () => stop("SIGINT"));
    });
    removePid();
    return code;
  },
};
