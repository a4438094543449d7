// Refuses requests addressed to a host name that is not ours (DNS rebinding, see
// src/security/host-allow-list.ts), before routing, authentication or body parsing.
//
// Exempt, on purpose:
// - GET /healthz and /readyz: probes from load balancers and orchestrators address the server
//   by whatever reaches it (a container IP), and the answers carry nothing a page could use.
// - Requests with `Authorization: Bearer`: a rebinding page has no API key to send, and SDKs,
//   CI runners and containers address the API by any name that routes to it. A bad key is
//   still refused by the auth plugin.
// CDP and other WebSocket upgrades authenticated by a token in the URL are taken before this
// app (src/http/server.ts) and are not Host-checked for the same reason; cookie-authenticated
// upgrades must carry one of our origins (csrf.ts, checkWebSocketOrigin).
import { Elysia } from "elysia";
import type { AppDeps } from "../context";
import { DomainError } from "../../lib/errors";
import { isAllowedHost, requestHost } from "../../security/host-allow-list";
import { bearerOf } from "./auth";

export const HOST_EXEMPT_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz"]);

export class MisdirectedRequest extends DomainError {
  constructor(host: string, publicUrl: string) {
    super(
      "misdirected_request",
      `This server does not answer to the host "${host.slice(0, 100)}". Open it at ${publicUrl}, or add the name to BROWSERGRID_PUBLIC_URL or BROWSERGRID_ALLOWED_HOSTS.`,
      421,
    );
  }
}

/** Path of an absolute request URL without building a URL object. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const end = url.indexOf("?", start);
  return end < 0 ? url.slice(start) : url.slice(start, end);
}

export function hostGuard(deps: AppDeps) {
  return new Elysia({ name: "host-guard", seed: deps.config }).onRequest(({ request }) => {
    if (HOST_EXEMPT_PATHS.has(pathOf(request.url))) return;
    const authorization = request.headers.get("authorization");
    if (authorization !== null && bearerOf(authorization) !== null) return;
    const host = requestHost(request);
    if (!isAllowedHost(host, deps.config)) throw new MisdirectedRequest(host, deps.config.publicUrl);
  });
}
