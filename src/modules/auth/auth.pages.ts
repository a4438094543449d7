// The sign-in pages: /setup (first run only), /login, POST /logout and /account (change
// password). Plain forms that work without JavaScript; errors sit next to their field.
import { Elysia, t } from "elysia";
import { strictObject } from "../../http/strict-object";
import type { AppDeps } from "../../http/context";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { DomainError, TooManyRequests } from "../../lib/errors";
import { html, htmlResponse } from "../../../views/html";
import { layout } from "../../../views/layout";
import { PASSWORD_MAX_LENGTH } from "../../security/passwords";
import { sameOriginPath } from "../../security/redirect-target";
import { changePassword, login, LoginFailed, setupAdmin } from "./auth.service";
import { clearSessionCookie, deleteAuthSession, sessionCookie } from "./auth-sessions.service";
import { authState } from "./auth.state";
import { readDeviceCookie } from "./device-cookie";
import { announceSetupToken, ensureSetupToken, SETUP_TOKEN_MAX_LENGTH } from "./setup-token";
import { audit } from "../audit/audit.service";
import { hasAnyUser } from "../users/users.service";
import { loginForm, passwordForm, setupForm, type FieldErrors } from "./auth.forms";

function redirect(location: string, ...cookies: string[]): Response {
  const headers = new Headers({ location });
  for (const c of cookies) headers.append("set-cookie", c);
  return new Response(null, { status: 303, headers });
}

const page = (title: string, body: ReturnType<typeof html>, status = 200, headers: Record<string, string> = {}) =>
  htmlResponse(layout({ title, user: null }, body), { status, headers });

/** A domain error shown on the form: 4xx keeps its status, the message goes next to `field`. */
function formError(e: unknown, field: string): { status: number; errors: FieldErrors; headers: Record<string, string> } {
  if (!(e instanceof DomainError) || e.status >= 500) throw e;
  const f = e.code === "weak_password" ? "password" : e.code === "invalid_email" || e.code === "email_taken" ? "email" : e.code === "setup_token" ? "token" : field;
  return { status: e.status, errors: { [f]: e.message }, headers: e.headers };
}

const FormStrings = {
  email: t.String({ maxLength: 254 }),
  password: t.String({ maxLength: PASSWORD_MAX_LENGTH }),
};

export function authPages(deps: AppDeps) {
  const hasUsers = () => authState(deps).hasUsers || hasAnyUser(deps);
  const ua = (r: Request) => r.headers.get("user-agent");
  const cookieFor = (token: string, expiresAt: number) => sessionCookie(deps.config, token, expiresAt, authState(deps).now());

  return new Elysia({ name: "auth-pages" })
    .use(authMacro)
    .get(
      "/setup",
      (ctx) => {
        if (hasUsers()) return redirect("/login");
        // Makes sure a token exists for the operator to find (announced if it had to be made).
        const issued = ensureSetupToken(deps.config);
        if (issued.created) announceSetupToken(deps, issued.token, issued.path);
        return page("Set up", setupForm({ values: { token: ctx.query.token } }));
      },
      { query: t.Object({ token: t.Optional(t.String({ maxLength: SETUP_TOKEN_MAX_LENGTH })) }, { additionalProperties: false }), detail: { hide: true } },
    )
    .post(
      "/setup",
      async (ctx) => {
        const { body, request } = ctx;
        if (hasUsers()) return redirect("/login");
        const values = { email: body.email, token: body.token };
        if (body.password !== body.confirm) return page("Set up", setupForm({ values, errors: { confirm: "The two passwords differ." } }), 400);
        try {
          const r = await setupAdmin(deps, body.token, body.email, body.password, { ip: requestIp(ctx), userAgent: ua(request) });
          return redirect("/", cookieFor(r.token, r.expiresAt));
        } catch (e) {
          const f = formError(e, "email");
          // A refused token is not echoed back: the field is shown empty, with the error.
          const shown = f.errors.token ? { email: body.email } : values;
          return page("Set up", setupForm({ values: shown, errors: f.errors }), f.status, f.headers);
        }
      },
      {
        body: strictObject({ ...FormStrings, confirm: t.String({ maxLength: PASSWORD_MAX_LENGTH }), token: t.Optional(t.String({ maxLength: SETUP_TOKEN_MAX_LENGTH })) }),
        detail: { hide: true },
      },
    )
    .get(
      "/login",
      (ctx) => {
        if (!hasUsers()) return redirect("/setup");
        const next = sameOriginPath(ctx.query.next, deps.config.publicUrl);
        if ((ctx as { actor?: unknown }).actor) return redirect(next);
        return page("Sign in", loginForm({ next }));
      },
      { query: t.Object({ next: t.Optional(t.String({ maxLength: 2048 })) }, { additionalProperties: false }), detail: { hide: true } },
    )
    .post(
      "/login",
      async (ctx) => {
        const { body, request } = ctx;
        const next = sameOriginPath(body.next, deps.config.publicUrl);
        const values = { email: body.email };
        try {
          const r = await login(deps, body.email, body.password, { ip: requestIp(ctx), userAgent: ua(request), deviceCookie: readDeviceCookie(request.headers.get("cookie")) });
          return redirect(next, cookieFor(r.token, r.expiresAt), r.deviceCookie);
        } catch (e) {
          if (e instanceof TooManyRequests)
            return page("Sign in", loginForm({ next, values, notice: e.message }), 429, e.headers);
          const f = formError(e, "password");
          return page("Sign in", loginForm({ next, values, errors: e instanceof LoginFailed ? { password: e.message } : f.errors }), f.status);
        }
      },
      {
        body: strictObject({ ...FormStrings, next: t.Optional(t.String({ maxLength: 2048 })) }),
        detail: { hide: true },
      },
    )
    .post(
      "/logout",
      (ctx) => {
        const { actor } = ctx;
        if (actor.authSessionId) deleteAuthSession(deps, actor.authSessionId);
        audit(deps, actor, "auth.logout", actor.userId, null, requestIp(ctx));
        return redirect("/login", clearSessionCookie(deps.config));
      },
      { auth: "viewer", detail: { hide: true } },
    )
    .get("/account", ({ actor }) => htmlResponse(layout({ title: "Account", user: { email: actor.email ?? actor.type, role: actor.role } }, passwordForm({}))), {
      auth: "viewer",
      detail: { hide: true },
    })
    .post(
      "/account/password",
      async (ctx) => {
        const { actor, body, request } = ctx;
        const user = { email: actor.email ?? actor.type, role: actor.role };
        if (body.newPassword !== body.confirm)
          return htmlResponse(layout({ title: "Account", user }, passwordForm({ errors: { confirm: "The two passwords differ." } })), { status: 400 });
        try {
          await changePassword(deps, actor, body.currentPassword, body.newPassword, { ip: requestIp(ctx), userAgent: ua(request) });
          return htmlResponse(layout({ title: "Account", user }, passwordForm({ notice: "Password changed. Your other sessions were signed out." })));
        } catch (e) {
          const f = formError(e, "currentPassword");
          const errors = f.errors.password ? { newPassword: f.errors.password } : f.errors;
          return htmlResponse(layout({ title: "Account", user }, passwordForm({ errors })), { status: f.status, headers: f.headers });
        }
      },
      {
        auth: "viewer",
        body: strictObject(
          { currentPassword: FormStrings.password, newPassword: FormStrings.password, confirm: FormStrings.password },
          {},
        ),
        detail: { hide: true },
      },
    );
}
