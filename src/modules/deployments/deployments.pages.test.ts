// The /deployments pages through the whole app with the admin's cookie: upload by form, the
// list and the deployment page, make current, secrets by form (values never rendered), refusals
// shown next to the form with nothing stored, and the slot the runs module fills.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { makeTestApp, ORIGIN, type TestApp } from "../../../test/helpers/app";
import { zipOf } from "../../../test/helpers/zip";
import { deployments, deploymentVersions } from "../../db/schema";

let h: TestApp;
beforeAll(async () => void (h = await makeTestApp()));
afterAll(() => {
  h.deps.db.$client.close();
  rmSync(h.deps.config.dataDir, { recursive: true, force: true });
});

const manifest = (m: Record<string, unknown> = {}) => JSON.stringify({ name: "nightly", entry: "main.py", runtime: "python", timeoutSec: 90, ...m });
const zip = (m: Record<string, unknown> = {}) => zipOf([{ name: "browsergrid.json", body: manifest(m) }, { name: "main.py", body: "print('hi')" }]);

async function send(path: string, body: FormData | URLSearchParams, auth = h.cookie) {
  const res = await h.app.handle(new Request(`${ORIGIN}${path}`, { method: "POST", headers: { cookie: auth, origin: ORIGIN }, body }));
  return { status: res.status, location: res.headers.get("location"), text: await res.text() };
}
const get = async (path: string) => (await h.call("GET", path, { auth: h.cookie })).body as string;
const bundleForm = (bytes: Uint8Array, activate = true) => {
  const f = new FormData();
  f.append("bundle", new Blob([bytes as Uint8Array<ArrayBuffer>]), "bot.zip");
  if (activate) f.append("activate", "on");
  return f;
};
const counts = () => [h.deps.db.select().from(deployments).all().length, h.deps.db.select().from(deploymentVersions).all().length];

describe("deployment pages", () => {
  test("the nav links the list; an empty list says how to start", async () => {
    const page = await get("/deployments");
    expect(page).toContain('href="/deployments" aria-current="page">Deployments</a>');
    expect(page).toContain("No deployments yet.");
    expect(page).toContain('enctype="multipart/form-data"');
  });

  test("a refused upload is shown by its form and stores nothing", async () => {
    const bad = await send("/deployments", bundleForm(zipOf([{ name: "browsergrid.json", body: manifest() }, { name: "../main.py", body: "x" }])));
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("points outside the directory");
    expect(bad.text).toContain('aria-invalid="true"');
    const none = await send("/deployments", new FormData());
    expect(none.status).toBe(400);
    expect(none.text).toContain("Choose a .tar.gz or .zip bundle.");
    expect(counts()).toEqual([0, 0]);
  });

  test("upload, list, detail, new version without activating, make current", async () => {
    const created = await send("/deployments", bundleForm(zip()));
    expect(created.status).toBe(303);
    expect(created.location).toBe("/deployments/nightly");
    const list = await get("/deployments");
    expect(list).toContain('<a href="/deployments/nightly">nightly</a>');
    expect(list).toMatch(/<td>1<\/td>\s*<td>python<\/td>/);

    const second = await send("/deployments/nightly/versions", bundleForm(zip({ timeoutSec: 120 }), false));
    expect(second.status).toBe(303);
    let detail = await get("/deployments/nightly");
    expect(detail).toContain("<h2>Current version 1</h2>");
    expect(detail).toContain("90 s");
    expect(detail).toContain('aria-label="Make version 2 current"');
    expect(detail).toContain('id="deployment-runs" data-slot="runs"');

    const other = await send("/deployments/nightly/versions", bundleForm(zip({ name: "else" })));
    expect(other.status).toBe(400);
    expect(other.text).toContain("names deployment &quot;else&quot;, not &quot;nightly&quot;");

    const made = await send("/deployments/nightly/current", new URLSearchParams({ version: "2" }));
    expect(made.status).toBe(303);
    detail = await get("/deployments/nightly");
    expect(detail).toContain("<h2>Current version 2</h2>");
    expect(detail).toContain("120 s");
    expect(counts()).toEqual([1, 2]);
  });

  test("secrets by form: names shown, values never; a bad name is shown by its field", async () => {
    const set = await send("/deployments/nightly/secrets", new URLSearchParams({ name: "DB_PASSWORD", value: "hunter2-very-secret" }));
    expect(set.status).toBe(303);
    const detail = await get("/deployments/nightly");
    expect(detail).toContain("<code>DB_PASSWORD</code>");
    expect(detail).not.toContain("hunter2");
    const bad = await send("/deployments/nightly/secrets", new URLSearchParams({ name: "BROWSERGRID_X", value: "v" }));
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("is reserved");
    expect(bad.text).not.toContain('value="v"');
    expect((await send("/deployments/nightly/secrets/DB_PASSWORD/delete", new URLSearchParams())).status).toBe(303);
    expect(await get("/deployments/nightly")).not.toContain("<code>DB_PASSWORD</code>");
  });

  test("viewers read but get no forms; members get no delete button", async () => {
    const viewer = await h.app.handle(new Request(`${ORIGIN}/deployments/nightly`, { headers: { authorization: `Bearer ${h.viewerKey}` } }));
    const text = await viewer.text();
    expect(viewer.status).toBe(200);
    expect(text).not.toContain("Upload a new version");
    expect(text).not.toContain("Secrets");
    expect(text).not.toContain("Delete deployment");
    const member = await (await h.app.handle(new Request(`${ORIGIN}/deployments/nightly`, { headers: { authorization: `Bearer ${h.memberKey}` } }))).text();
    expect(member).toContain("Upload a new version");
    expect(member).not.toContain("Delete deployment");
  });

  test("the admin deletes from the page", async () => {
    const r = await send("/deployments/nightly/delete", new URLSearchParams());
    expect(r.status).toBe(303);
    expect(counts()).toEqual([0, 0]);
  });
});
