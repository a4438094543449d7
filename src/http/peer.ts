// The TCP peer address of a request. Elysia only knows it when it owns the server (app.listen);
// our Bun.serve in server.ts records it here so rate limits, the audit log and trusted-proxy
// checks see the real peer and not "unknown".
import type { Server } from "bun";

const peers = new WeakMap<Request, string>();

export function rememberPeer(req: Request, server: Pick<Server<unknown>, "requestIP">): void {
  const addr = server.requestIP(req)?.address;
  if (addr) peers.set(req, addr);
}

export function peerOf(req: Request): string | undefined {
  return peers.get(req);
}

/** The same peer for a request rebuilt from another (a body re-wrapped by the body gate). */
export function carryPeer(from: Request, to: Request): void {
  const addr = peers.get(from);
  if (addr) peers.set(to, addr);
}
