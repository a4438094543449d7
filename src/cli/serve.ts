import { loadConfigOrReport, type Command } from "./command";
import { boot } from "../boot";
import { log } from "../lib/logger";

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

Network features (egress guard, proxies, rule sets): docs/network.md.
SIGTERM or SIGINT stops it gracefully.`,
  async run(args) {
    const config = loadConfigOrReport();
    if (!config) return 2;
    let running;
    try {
      running = await boot(config);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (err.code === "EADDRINUSE" || /address.*in use|EADDRINUSE/i.test(String(err.message)))
        console.error(`browsergrid: BROWSERGRID_PORT: ${config.host}:${config.port} is already in use; stop the other process or choose another port`);
      else console.error(`browsergrid: failed to start: ${err.message ?? e}`);
      return 1;
    }
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info("shutting down", { signal });
        running.stop().finally(resolve);
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
    return 0;
  },
};
