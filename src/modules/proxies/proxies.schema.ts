// Request and response schemas of the proxies API, with limits; unknown fields are refused.
// The password is accepted, never returned: responses carry `username` and `hasPassword`.
import { t } from "elysia";
import { strictObject } from "../../http/strict-object";
import { MAX_ROUTE_DOMAINS, MAX_ROUTES } from "./proxies.service";
import { PROXY_NAME } from "./proxy-url";

const Name = t.String({
  minLength: 1,
  maxLength: 64,
  pattern: PROXY_NAME.source,
  error: 'Proxy name must be 1-64 letters, digits, ".", "-" or "_", starting with a letter or digit.',
  description: "Unique; letters, digits, \".\", \"-\", \"_\"; starts with a letter or digit",
});
const Url = t.String({
  minLength: 1,
  maxLength: 2048,
  description: "http://host:port, https://host:port or socks5://host:port, optionally with user:password@ before the host (%-encode special characters). No path or query.",
});
const Username = t.Nullable(t.String({ maxLength: 255, description: "Instead of user@ in the URL; null removes the credentials" }));
const Password = t.Nullable(t.String({ maxLength: 255, description: "Stored encrypted, never returned; null removes it" }));
const Route = strictObject({
  domains: t.Array(t.String({ minLength: 1, maxLength: 253 }), { minItems: 1, maxItems: MAX_ROUTE_DOMAINS, description: "example.com (that host), *.example.com (its subdomains) or an IP address" }),
  via: t.String({ minLength: 1, maxLength: 64, description: "\"direct\" or the name of another proxy" }),
});
const Routes = t.Array(Route, { maxItems: MAX_ROUTES, description: "Per-domain routing, first match wins; everything else goes through this proxy" });

export const CreateProxyBody = strictObject({ name: Name, url: Url, username: t.Optional(Username), password: t.Optional(Password), routes: t.Optional(Routes) });
export const UpdateProxyBody = strictObject({ name: t.Optional(Name), url: t.Optional(Url), username: t.Optional(Username), password: t.Optional(Password), routes: t.Optional(Routes) });
export const ProxyParams = t.Object({ id: t.String({ minLength: 1, maxLength: 64, description: "Proxy id or name" }) });

export const ProxyResponse = t.Object({
  id: t.String(),
  name: t.String(),
  url: t.String({ description: "scheme://host:port, without credentials" }),
  scheme: t.String(),
  host: t.String(),
  port: t.Number(),
  username: t.Nullable(t.String()),
  hasPassword: t.Boolean(),
  routes: t.Array(t.Object({ domains: t.Array(t.String()), via: t.String() })),
  usedBy: t.Object({ pools: t.Array(t.String(), { description: "Pools with this proxy as their default" }) }),
  createdAt: t.String(),
  updatedAt: t.String(),
});
