import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { extract } from "tar-stream";
import { ApiClient, ApiRefused, ApiUnreachable, apiTarget, paramsFrom, UsageError } from "./api-client";
import { packDirectory } from "./bundle-dir";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "bg-cli-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function names(tarGz: Uint8Array): Promise<string[]> {
  const out: string[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on("entry", (h, stream, next) => {
      out.push(h.name);
      stream.on("end", next);
      stream.resume();
    });
    ex.on("finish", resolve);
    ex.on("error", reject);
  });
  ex.end(gunzipSync(tarGz));
  await done;
  return out;
}

describe("paramsFrom", () => {
  test("JSON values stay typed, others are strings, repeated flags add up", () => {
    expect(paramsFrom(["--param", "n=3", "--param=url=https://x.test/?a=b", "--param", "flag=true", "--json"])).toEqual({ n: 3, url: "https://x.test/?a=b", flag: true });
  });
  test("a flag without key=value is a usage error naming it", () => {
    expect(() => paramsFrom(["--param", "novalue"])).toThrow(UsageError);
    expect(() => paramsFrom(["--param", "../x=1"])).toThrow(/not a plain name/);
  });
});

describe("apiTarget", () => {
  test("flags win over the environment; the default is the local port", () => {
    expect(apiTarget({}, { BROWSERGRID_PORT: "9000" })).toEqual({ url: "http://127.0.0.1:9000", key: undefined });
    expect(apiTarget({ url: "https://grid.test/base/", key: "k1" }, { BROWSERGRID_URL: "http://other", BROWSERGRID_KEY: "k2" })).toEqual({ url: "https://grid.test/base", key: "k1" });
    expect(apiTarget({}, { BROWSERGRID_URL: "http://other:1", BROWSERGRID_KEY: "k2" })).toEqual({ url: "http://other:1", key: "k2" });
  });
  test("refuses what is not an http(s) URL, and credentials in it", () => {
    expect(() => apiTarget({ url: "ftp://x" })).toThrow(/http:\/\/ or https/);
    expect(() => apiTarget({ url: "not a url" })).toThrow(/not a URL/);
    expect(() => apiTarget({ url: "https://u:p@x.test" })).toThrow(/credentials/);
  });
});

describe("ApiClient", () => {
  const seen: { auth: string | null; path: string }[] = [];
  const server = Bun.serve({
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      seen.push({ auth: req.headers.get("authorization"), path: url.pathname + url.search });
      if (url.pathname === "/api/v1/ok") return Response.json({ fine: true });
      if (url.pathname === "/api/v1/bad") return Response.json({ error: { code: "invalid_params", message: "params.url: must be a string" } }, { status: 400 });
      return new Response("nope", { status: 500 });
    },
  });
  afterAll(() => server.stop(true));

  test("sends the key as a Bearer header and returns JSON", async () => {
    const api = new ApiClient({ url: `http://127.0.0.1:${server.port}`, key: "bg_k_s" });
    expect(await api.request("/api/v1/ok")).toEqual({ fine: true });
    expect(seen.at(-1)).toEqual({ auth: "Bearer bg_k_s", path: "/api/v1/ok" });
  });
  test("a refusal carries the server's code and message", async () => {
    const api = new ApiClient({ url: `http://127.0.0.1:${server.port}` });
    const err = await api.request("/api/v1/bad").catch((e) => e);
    expect(err).toBeInstanceOf(ApiRefused);
    expect(err).toMatchObject({ status: 400, code: "invalid_params", message: "params.url: must be a string" });
  });
  test("an unreachable server is told apart from a refusal", async () => {
    const api = new ApiClient({ url: "http://127.0.0.1:1" });
    expect(await api.request("/x").catch((e) => e)).toBeInstanceOf(ApiUnreachable);
  });
});

describe("packDirectory", () => {
  test("packs regular files with relative names and leaves .git out", async () => {
    const d = tmp();
    writeFileSync(join(d, "browsergrid.json"), "{}");
    mkdirSync(join(d, "src"));
    writeFileSync(join(d, "src", "main.ts"), "console.log(1)");
    mkdirSync(join(d, ".git"));
    writeFileSync(join(d, ".git", "HEAD"), "ref");
    const p = await packDirectory(d);
    expect(p.files).toBe(2);
    expect((await names(p.tarGz)).sort()).toEqual(["browsergrid.json", "src/main.ts"]);
  });
  test("refuses a directory without a manifest, and a symbolic link by name", async () => {
    const d = tmp();
    writeFileSync(join(d, "main.ts"), "x");
    await expect(packDirectory(d)).rejects.toThrow(/no browsergrid.json/);
    writeFileSync(join(d, "browsergrid.json"), "{}");
    symlinkSync("/etc/passwd", join(d, "link"));
    await expect(packDirectory(d)).rejects.toThrow(/link is a symbolic link/);
    await expect(packDirectory(join(d, "missing"))).rejects.toThrow(/does not exist/);
  });
});
