// /api/v1/auth: sign in (sets the bg_session cookie), sign out, who am I, change password.
import { Elysia, t } from "elysia";
import { strictObject } from "../../http/strict-object";
import type { AppDeps } from "../../http/context";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { changePassword, login } from "./auth.service";
import { clearSessionCookie, deleteAuthSession, sessionCookie } from "./auth-sessions.service";
import { authState } from "./auth.state";
import { readDeviceCookie } from "./device-cookie";
import { audit } from "../audit/audit.service";
import { getUser, toPublicUser } from "../users/users.service";
import { EmailSchema, ErrorSchema, NewPasswordSchema, PasswordSchema, RoleSchema, UserSchema } from "../users/users.schema";

const meta = (ctx: { request: Request }) => ({ ip: requestIp(ctx), userAgent: ctx.request.headers.get("user-agent") });

export function authRoutes(deps: AppDeps) {
  return new Elysia({ name: "auth-routes", prefix: "/api/v1/auth" })
    .use(authMacro)
    .post(
      "/login",
      async (ctx) => {
        const { body, set } = ctx;
        const r = await login(deps, body.email, body.password, { ...meta(ctx), deviceCookie: readDeviceCookie(ctx.request.headers.get("cookie")) });
        (set.headers as Record<string, string | string[]>)["set-cookie"] = [sessionCookie(deps.config, r.token, r.expiresAt, authState(deps).now()), r.deviceCookie];
        return toPublicUser(r.user);
      },
      {
        body: strictObject({ email: EmailSchema, password: PasswordSchema }),
        response: { 200: UserSchema, 401: ErrorSchema, 429: ErrorSchema },
        detail: { tags: ["auth"], summary: "Sign in with email and password; sets the bg_session cookie and a bg_device cookie that lets this browser sign in while its address is throttled", security: [] },
      },
    )
    .post(
      "/logout",
      (ctx) => {
        const { actor, set } = ctx;
        if (actor.authSessionId) deleteAuthSession(deps, actor.authSessionId);
        audit(deps, actor, "auth.logout", actor.userId, null, requestIp(ctx));
        set.headers["set-cookie"] = clearSessionCookie(deps.config);
        set.status = 204;
        return null;
      },
      { auth: "viewer", detail: { tags: ["auth"], summary: "Sign out: ends this UI session and clears the cookie", responses: { 204: { description: "Signed out" } } } },
    )
    .get(
      "/me",
      ({ actor }) => ({
        type: actor.type,
        role: actor.role,
        via: actor.via,
        keyId: actor.keyId ?? null,
        user: actor.userId ? toPublicUser(getUser(deps, actor.userId)) : null,
      }),
      {
        auth: "viewer",
        response: t.Object({ type: t.String(), role: RoleSchema, via: t.String(), keyId: t.Union([t.String(), t.Null()]), user: t.Union([UserSchema, t.Null()]) }),
        detail: { tags: ["auth"], summary: "Who is calling: the user, role and how they authenticated" },
      },
    )
    .post(
      "/password",
      async (ctx) => {
        const { actor, body, set } = ctx;
        await changePassword(deps, actor, body.currentPassword, body.newPassword, meta(ctx));
        set.status = 204;
        return null;
      },
      {
        auth: "viewer",
        body: strictObject({ currentPassword: PasswordSchema, newPassword: NewPasswordSchema }),
        detail: { tags: ["auth"], summary: "Change your password; ends your other sessions", description: "400 when the current password is wrong or the new one is refused.", responses: { 204: { description: "Changed" } } },
      },
    );
}
