// /quickstart, the "Connect" panel (/connect itself is the gateway's quick-connect URL):
// copy-paste snippets for Playwright (Node and Python), Puppeteer and the REST API, filled
// with this install's public URL. The API key stays a placeholder (an environment
// variable): a page never holds a secret.
import { Elysia } from "elysia";
import type { AppDeps } from "../../http/context";
import { authMacro } from "../../http/plugins/auth";
import { html, type SafeHtml } from "../../../views/html";
import { page } from "../../../views/ui";
import { wsBase } from "../sessions/sessions.model";

function snippet(id: string, title: string, lang: string, code: string): SafeHtml {
  return html`<section class="card snippet" aria-labelledby="${id}-h">
<div class="page-head"><h2 id="${id}-h" class="inline-h">${title}</h2><button type="button" class="secondary small" data-copy="${id}" aria-label="Copy the ${title} snippet">Copy</button></div>
<pre><code id="${id}" class="language-${lang}">${code}</code></pre></section>`;
}

export function connectSnippets(publicUrl: string) {
  const http = publicUrl.replace(/\/$/, "");
  const ws = wsBase(http);
  const quick = `${ws}/connect?token=`;
  return {
    node: `// npm i playwright-core   ·   export BROWSERGRID_API_KEY=bg_…
import { chromium } from "playwright-core";

const browser = await chromium.connectOverCDP(
  "${quick}" + process.env.BROWSERGRID_API_KEY,
);
const page = await browser.contexts()[0].newPage();
await page.goto("https://example.com");
console.log(await page.title());
await browser.close(); // ends the session`,
    python: `# pip install playwright   ·   export BROWSERGRID_API_KEY=bg_…
import os
from playwright.sync_api import sync_playwright

with sync_playwright() as p:
    browser = p.chromium.connect_over_cdp(
        "${quick}" + os.environ["BROWSERGRID_API_KEY"]
    )
    page = browser.contexts[0].new_page()
    page.goto("https://example.com")
    print(page.title())
    browser.close()  # ends the session`,
    puppeteer: `// npm i puppeteer-core   ·   export BROWSERGRID_API_KEY=bg_…
import puppeteer from "puppeteer-core";

const browser = await puppeteer.connect({
  browserWSEndpoint: "${quick}" + process.env.BROWSERGRID_API_KEY,
});
const page = await browser.newPage();
await page.goto("https://example.com");
console.log(await page.title());
await browser.close();`,
    rest: `# A session that outlives one connection: create it, connect to its cdpUrl, stop it.
curl -s -X POST ${http}/api/v1/sessions \\
  -H "Authorization: Bearer $BROWSERGRID_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"keepAlive": true, "timeoutSec": 600}'
# → {"id": "ses_…", "cdpUrl": "${ws}/cdp/ses_…?token=…", "liveUrl": "${http}/live/ses_…?…", …}

curl -s -X DELETE ${http}/api/v1/sessions/ses_… -H "Authorization: Bearer $BROWSERGRID_API_KEY"`,
  };
}

export function connectPages(deps: AppDeps) {
  return new Elysia({ name: "connect-pages" }).use(authMacro).get(
    "/quickstart",
    ({ actor }) => {
      const s = connectSnippets(deps.config.publicUrl);
      return page(
        actor,
        "Connect",
        "/quickstart",
        html`<div class="page-head"><h1>Connect a script</h1><a class="button" href="/api-keys">Create an API key</a></div>
<p>Each connection to <code>${wsBase(deps.config.publicUrl)}/connect</code> gets its own browser, for as long as the connection lasts.
Set <code>BROWSERGRID_API_KEY</code> to a key from <a href="/api-keys">API keys</a>; add <code>&amp;pool=…</code>, <code>&amp;timeout=…</code> or <code>&amp;keepAlive=true</code> to the URL as needed.</p>
${snippet("snippet-node", "Playwright (Node.js)", "js", s.node)}
${snippet("snippet-python", "Playwright (Python)", "python", s.python)}
${snippet("snippet-puppeteer", "Puppeteer", "js", s.puppeteer)}
${snippet("snippet-rest", "REST API + cdpUrl", "sh", s.rest)}
<p class="muted">Full reference: <a href="/api/docs">API documentation</a>.</p>`,
      );
    },
    { auth: "viewer", detail: { hide: true } },
  );
}
