// Where a session's browser answers CDP. The session row stores the address the provider gave
// at start ("host:port", `cdp_endpoint`); BrowserGrid reaches it through `provider.reach`
// (on SSH workers a loopback tunnel). Everything that connects to a session's browser asks
// here: the gateway's connect target, and BrowserGrid's own link (src/cdp/session-links.ts,
// shared by the live view, rule sets, profile saves and screenshots) through
// `sessionBrowserAddresses`.
import type { Db } from "../../db/client";
import type { BrowserProvider } from "../../providers/provider";
import type { ProviderRegistry } from "../../providers/registry";
import { getSession, type SessionRow } from "./sessions.store";

export interface BrowserAddress {
  host: string;
  port: number;
}

/** The stored form of a started browser's address (what `parseBrowserEndpoint` reads back). */
export function formatBrowserEndpoint(cdp: BrowserAddress): string {
  return `${cdp.host}:${cdp.port}`;
}

/**
 * The address as stored, or null when there is none or it is not "host:port" with a host and a
 * port from 1 to 65535 (what cannot be read is not connected to). The port is after the last
 * colon, so an IPv6 host keeps its colons.
 */
export function parseBrowserEndpoint(endpoint: string | null | undefined): BrowserAddress | null {
  if (!endpoint) return null;
  const i = endpoint.lastIndexOf(":");
  const host = endpoint.slice(0, i);
  const portText = endpoint.slice(i + 1);
  if (i <= 0 || !/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  return port >= 1 && port <= 65535 ? { host, port } : null;
}

/**
 * The address BrowserGrid connects to for this session's browser: the stored one through its
 * worker's `provider.reach` (when the provider has one). Null when the row has no readable
 * address; the status of the session is the caller's to check.
 */
export function browserAddress(row: Pick<SessionRow, "cdpEndpoint">, provider: BrowserProvider | undefined): BrowserAddress | null {
  const stored = parseBrowserEndpoint(row.cdpEndpoint);
  if (!stored) return null;
  return provider?.reach ? provider.reach(stored) : stored;
}

/** Statuses in which a session's browser is there to talk to (a profile save at the end still does). */
const REACHABLE = new Set(["running", "paused", "stopping"]);

/**
 * The resolver of BrowserGrid's session links: the session's browser address, or null when
 * the session is unknown, has no browser up (queued, starting, ended) or no readable address.
 */
export function sessionBrowserAddresses(db: Db, providers: ProviderRegistry): (sessionId: string) => BrowserAddress | null {
  return (sessionId) => {
    const row = getSession(db, sessionId);
    if (!row || !REACHABLE.has(row.status)) return null;
    return browserAddress(row, row.workerId ? providers.get(row.workerId) : undefined);
  };
}
