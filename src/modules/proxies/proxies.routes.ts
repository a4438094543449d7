// /api/v1/proxies — bring-your-own proxies. Members read (without passwords); admins change,
// and every change is audited (names and fields, never credentials).
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { audit } from "../audit/audit.service";
import { ErrorSchema } from "../users/users.schema";
import { CreateProxyBody, ProxyParams, ProxyResponse, UpdateProxyBody } from "./proxies.schema";
import { createProxy, deleteProxy, getProxy, listProxies, toPublicProxy, updateProxy } from "./proxies.service";

const tags = ["proxies"];

/** Which fields a change touched; credentials are named, never shown. */
const fieldsOf = (body: Record<string, unknown>) => Object.keys(body);

export function proxyRoutes(deps: AppDeps) {
  const { db, installKey } = deps;
  return new Elysia({ name: "proxies", prefix: "/api/v1/proxies" })
    .use(authMacro)
    .get("/", () => ({ proxies: listProxies(db).map((p) => toPublicProxy(db, p)) }), {
      auth: "member",
      response: t.Object({ proxies: t.Array(ProxyResponse) }),
      detail: { tags, summary: "List proxies", description: "Passwords are never returned: `hasPassword` says whether one is stored." },
    })
    .get("/:id", ({ params }) => toPublicProxy(db, getProxy(db, params.id)), {
      auth: "member",
      params: ProxyParams,
      response: { 200: ProxyResponse, 404: ErrorSchema },
      detail: { tags, summary: "Get a proxy by id or name" },
    })
    .post(
      "/",
      (ctx) => {
        const p = createProxy(db, installKey, ctx.body);
        audit(deps, ctx.actor, "proxy.created", p.id, { name: p.name, url: `${p.scheme}://${p.host}:${p.port}`, fields: fieldsOf(ctx.body) }, requestIp(ctx));
        ctx.set.status = 201;
        return toPublicProxy(db, p);
      },
      {
        auth: "admin",
        body: CreateProxyBody,
        response: { 201: ProxyResponse, 400: ErrorSchema, 409: ErrorSchema },
        detail: {
          tags,
          summary: "Add a proxy (http, https or socks5, with credentials)",
          description:
            "Credentials go in the URL (`socks5://user:password@host:1080`) or in `username`/`password`, not both. The password is stored encrypted under the install key and never leaves the server: browsers use BrowserGrid's proxy relay, which adds it upstream. `routes` send some domains `direct` or via another proxy (first match wins); routes must not form loops. A `direct` connection leaves from the BrowserGrid host but is held to the egress guard's policy for the session's browser: private and special ranges, the host's own addresses and connected subnets, other sessions' bridges and all IPv6 are refused (403 to the browser) unless the pool's egress allow-list opens them. Use it with `proxy` on POST /api/v1/sessions or as a pool's default.",
        },
      },
    )
    .patch(
      "/:id",
      (ctx) => {
        const p = updateProxy(db, installKey, ctx.params.id, ctx.body);
        audit(deps, ctx.actor, "proxy.updated", p.id, { name: p.name, fields: fieldsOf(ctx.body) }, requestIp(ctx));
        return toPublicProxy(db, p);
      },
      {
        auth: "admin",
        params: ProxyParams,
        body: UpdateProxyBody,
        response: { 200: ProxyResponse, 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema },
        detail: {
          tags,
          summary: "Change a proxy: name, URL, credentials or routes",
          description:
            "A `url` without credentials keeps the stored ones; `password: null` removes the password, `username: null` both. A new `username` without `password` removes the old password. Running sessions use the new settings for their next connections.",
        },
      },
    )
    .delete(
      "/:id",
      (ctx) => {
        const p = deleteProxy(db, ctx.params.id);
        audit(deps, ctx.actor, "proxy.deleted", p.id, { name: p.name }, requestIp(ctx));
        ctx.set.status = 204;
        return null;
      },
      {
        auth: "admin",
        params: ProxyParams,
        response: { 204: t.Null(), 404: ErrorSchema, 409: ErrorSchema },
        detail: { tags, summary: "Delete a proxy", description: "409 while it is a pool's default, used by another proxy's routes or by a live session." },
      },
    );
}
