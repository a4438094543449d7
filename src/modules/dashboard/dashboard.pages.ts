// `/`: the signed-in home page. Deliberately small; the dashboard grows here later.
import { Elysia } from "elysia";
import { authMacro } from "../../http/plugins/auth";
import { html, htmlResponse } from "../../../views/html";
import { layout } from "../../../views/layout";

export function dashboardPages() {
  return new Elysia({ name: "dashboard" }).use(authMacro).get(
    "/",
    ({ actor }) => {
      const who = actor.email ?? (actor.type === "static_key" ? `static key ${actor.keyId}` : actor.type);
      return htmlResponse(
        layout(
          { title: "Dashboard", user: { email: who, role: actor.role }, active: "/" },
          html`<h1>Dashboard</h1>
<section class="card">
<p>Signed in as <strong>${who}</strong> (${actor.role}).</p>
<ul>
<li><a href="/api/docs">API reference</a> — create an API key with <code>POST /api/v1/api-keys</code> or <code>browsergrid keys create</code>.</li>
<li><a href="/account">Change your password</a></li>
</ul>
</section>`,
        ),
      );
    },
    { auth: "viewer", detail: { hide: true } },
  );
}
