// The page shell shared by every UI page: navigation, the stylesheet and htmx from /assets
// (embedded in the binary, never a CDN).
import { html, type SafeHtml } from "./html";

export interface LayoutOptions {
  title: string;
  /** Signed-in user's email; null on setup/login pages (no navigation shown). */
  user?: { email: string; role: string } | null;
  active?: string;
  csrfToken?: string;
}

const NAV: [string, string][] = [
  ["/", "Dashboard"],
  ["/sessions", "Sessions"],
  ["/deployments", "Deployments"],
  ["/runs", "Runs"],
  ["/schedules", "Schedules"],
  ["/pools", "Pools"],
  ["/workers", "Workers"],
  ["/profiles", "Profiles"],
  ["/rule-sets", "Rule sets"],
  ["/proxies", "Proxies"],
  ["/api-keys", "API keys"],
  ["/quickstart", "Connect"],
  ["/users", "Users"],
  ["/audit", "Audit log"],
  ["/settings", "Settings"],
  ["/api/docs", "API"],
];

/** Entries only admins can open: not offered to anyone else. */
const ADMIN_ONLY = new Set(["/settings"]);
/** Entries viewers cannot open (members and admins can). */
const MEMBER_UP = new Set(["/proxies", "/rule-sets"]);

export function layout(opts: LayoutOptions, body: SafeHtml): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · BrowserGrid</title>
<link rel="stylesheet" href="/assets/app.css">
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<meta name="htmx-config" content='{"allowEval":false,"includeIndicatorStyles":false,"historyCacheSize":0,"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"422","swap":true,"error":false},{"code":"...","swap":false,"error":true}]}'>
<script src="/assets/htmx.min.js" defer></script>
<script src="/assets/app.js" defer></script>
</head>
<body>
<header class="topbar">
  <a class="brand" href="/"><img src="/assets/favicon.svg" alt="" width="22" height="22"> BrowserGrid</a>
  ${
    opts.user
      ? html`<nav aria-label="Main">${NAV.filter(([href]) => (opts.user!.role === "admin" || !ADMIN_ONLY.has(href)) && (opts.user!.role !== "viewer" || !MEMBER_UP.has(href))).map(
          ([href, label]) => html`<a href="${href}"${opts.active === href ? html` aria-current="page"` : ""}>${label}</a>`,
        )}</nav>
  <form method="post" action="/logout" class="logout"><span class="who">${opts.user.email} · ${opts.user.role}</span><button type="submit" class="link">Log out</button></form>`
      : ""
  }
</header>
<main id="main">${body}</main>
</body>
</html>`;
}
