// Deployments for the runs end-to-end test: manifests and scripts that drive their run's real
// browser (playwright-core, puppeteer-core, playwright-python) to a page the test serves, write
// a screenshot and result.json, and a probe that reports what a runner can reach.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { bundleOf } from "./runner-bundles";

/** The params every page-visiting script takes: the page, a label it echoes, a defaulted count. */
export const PAGE_PARAMS = {
  type: "object",
  required: ["url", "label"],
  properties: {
    url: { type: "string", pattern: "^http://" },
    label: { type: "string", minLength: 1, maxLength: 32 },
    n: { type: "integer", minimum: 1, maximum: 10, default: 3 },
  },
  additionalProperties: false,
};

export const PLAYWRIGHT_TS = `import { chromium } from "playwright-core";
import { writeFileSync } from "node:fs";
const params = JSON.parse(process.env.BROWSERGRID_PARAMS!);
const out = process.env.BROWSERGRID_OUTPUT_DIR!;
console.log("params", JSON.stringify(params));
const browser = await chromium.connectOverCDP(process.env.BROWSERGRID_CDP_URL!);
const ctx = browser.contexts()[0] ?? (await browser.newContext());
const page = ctx.pages()[0] ?? (await ctx.newPage());
await page.goto(params.url);
const heading = await page.textContent("#h");
console.log("heading:", heading);
await page.screenshot({ path: out + "/shot.png" });
writeFileSync(out + "/result.json", JSON.stringify({ heading, title: await page.title(), n: params.n, attempt: process.env.BROWSERGRID_ATTEMPT, client: "playwright" }));
console.error("done");
process.exit(0);
`;

export const PUPPETEER_TS = `import puppeteer from "puppeteer-core";
import { writeFileSync } from "node:fs";
const params = JSON.parse(process.env.BROWSERGRID_PARAMS!);
const out = process.env.BROWSERGRID_OUTPUT_DIR!;
const browser = await puppeteer.connect({ browserWSEndpoint: process.env.BROWSERGRID_CDP_URL! });
const page = (await browser.pages())[0] ?? (await browser.newPage());
await page.goto(params.url);
const heading = await page.$eval("#h", (e) => e.textContent);
console.log("heading:", heading);
await page.screenshot({ path: out + "/shot.png" });
writeFileSync(out + "/result.json", JSON.stringify({ heading, title: await page.title(), n: params.n, attempt: process.env.BROWSERGRID_ATTEMPT, client: "puppeteer" }));
process.exit(0);
`;

export const PLAYWRIGHT_PY = `import json, os
from playwright.sync_api import sync_playwright
params = json.loads(os.environ["BROWSERGRID_PARAMS"])
out = os.environ["BROWSERGRID_OUTPUT_DIR"]
with sync_playwright() as p:
    browser = p.chromium.connect_over_cdp(os.environ["BROWSERGRID_CDP_URL"])
    ctx = browser.contexts[0] if browser.contexts else browser.new_context()
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    page.goto(params["url"])
    heading = page.text_content("#h")
    print("heading:", heading, flush=True)
    page.screenshot(path=out + "/shot.png")
    with open(out + "/result.json", "w") as f:
        json.dump({"heading": heading, "title": page.title(), "n": params["n"], "attempt": os.environ["BROWSERGRID_ATTEMPT"], "client": "playwright-python"}, f)
`;

/**
 * From inside a runner: TCP to each target (open / a refusal / timeout), the Docker socket, and
 * the API through the door without a token, with the run's own token on its own run and on
 * another run (params.otherRun); then prints its token (the log must redact it) and leaves it in
 * the output dir (the test checks it is dead once the run ended).
 */
export const PROBE_TS = `import { connect } from "node:net";
import { existsSync } from "node:fs";
const params = JSON.parse(process.env.BROWSERGRID_PARAMS!);
function tcp(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const timer = setTimeout(() => (s.destroy(), resolve("timeout")), 3_000);
    s.on("connect", () => (clearTimeout(timer), s.destroy(), resolve("open")));
    s.on("error", (e: NodeJS.ErrnoException) => (clearTimeout(timer), resolve(e.code ?? "error")));
  });
}
const said: Record<string, unknown> = {};
for (const [name, [host, port]] of Object.entries(params.targets) as [string, [string, number]][]) said[name] = await tcp(host, port);
said.dockerSock = existsSync("/var/run/docker.sock") || existsSync("/run/docker.sock");
const api = process.env.BROWSERGRID_API_URL + "/api/v1/runs/";
const auth = { authorization: "Bearer " + process.env.BROWSERGRID_RUN_TOKEN };
said.noToken = (await fetch(api + process.env.BROWSERGRID_RUN_ID)).status;
const own = await fetch(api + process.env.BROWSERGRID_RUN_ID, { headers: auth });
said.own = [own.status, (await own.json()).status];
said.other = (await fetch(api + params.otherRun, { headers: auth })).status;
said.list = (await fetch(api, { headers: auth })).status;
console.log("probe " + JSON.stringify(said));
console.log("token " + process.env.BROWSERGRID_RUN_TOKEN);
await Bun.write(process.env.BROWSERGRID_OUTPUT_DIR + "/token.txt", process.env.BROWSERGRID_RUN_TOKEN!);
`;

export function manifestOf(name: string, runtime: "bun" | "python", entry: string, extra: Record<string, unknown> = {}) {
  return { name, entry, runtime, ...extra };
}

/** A bundle (tar.gz) of the manifest and files. */
export function bundleWith(manifest: Record<string, unknown>, files: Record<string, string>): Promise<Uint8Array> {
  return bundleOf({ "browsergrid.json": JSON.stringify(manifest), ...files });
}

/** The same as a directory, for `browsergrid deploy <dir>`. */
export function writeDeploymentDir(dir: string, manifest: Record<string, unknown>, files: Record<string, string>): void {
  for (const [name, body] of Object.entries({ "browsergrid.json": JSON.stringify(manifest, null, 2), ...files })) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), body);
  }
}
