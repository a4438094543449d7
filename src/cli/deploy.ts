// `browsergrid deploy` and `browsergrid deployments`: upload automation code to a running
// BrowserGrid and manage its versions, over the HTTP API (api-client.ts).
import { basename, resolve } from "node:path";
import { parseFlags, type Command } from "./command";
import { ApiClient, apiTarget, printTable, runApiCommand, UsageError } from "./api-client";
import { packDirectory } from "./bundle-dir";

const CONNECTION = `Connection: --url <appliance URL> and --key <API key>, or BROWSERGRID_URL and BROWSERGRID_KEY
(default http://127.0.0.1:$BROWSERGRID_PORT, no key). Exit codes: 0 done, 1 the server refused
(its message is printed), 2 usage error, 3 the server could not be reached.`;

/** A list answer: `{<plural>: [...]}` or a bare array. */
export function listOf<T = Record<string, unknown>>(body: unknown, key: string): T[] {
  if (Array.isArray(body)) return body as T[];
  const v = (body as Record<string, unknown> | null)?.[key];
  return Array.isArray(v) ? (v as T[]) : [];
}

export const enc = encodeURIComponent;

export const deployCommand: Command = {
  name: "deploy",
  summary: "Upload a directory with a browsergrid.json manifest as a new deployment version",
  usage: `browsergrid deploy <dir> [--no-activate] [--json] [--url URL] [--key KEY]

Packs <dir> (regular files; .git/ left out) into a .tar.gz bundle and uploads it. The manifest
<dir>/browsergrid.json names the deployment ({name, entry, runtime, params?, browser?, ...};
docs/deployments.md). A new name creates the deployment; an existing one gets the next version,
which becomes current unless --no-activate is given.

${CONNECTION}`,
  run(args) {
    return runApiCommand("deploy", this.usage, async () => {
      const { flags, positional } = parseFlags(args);
      const dir = positional[0];
      if (!dir || positional.length > 1) throw new UsageError("give exactly one directory");
      const api = new ApiClient(apiTarget(flags));
      const packed = await packDirectory(resolve(dir));
      if (!flags.json) console.error(`packed ${packed.files} files (${packed.bytes} bytes, ${packed.tarGz.byteLength} bytes compressed); uploading to ${api.target.url}`);
      const form = new FormData();
      form.append("bundle", new Blob([packed.tarGz], { type: "application/gzip" }), `${basename(resolve(dir)) || "bundle"}.tar.gz`);
      const query = flags["no-activate"] ? "?activate=false" : "";
      const created = await api.request<Record<string, unknown>>(`/api/v1/deployments${query}`, { body: form, timeoutMs: 300_000 });
      if (flags.json) console.log(JSON.stringify(created, null, 2));
      else console.log(`deployed ${created.name} version ${created.version}${flags["no-activate"] ? " (not made current)" : ""}`);
      return 0;
    });
  },
};

export const deploymentsCommand: Command = {
  name: "deployments",
  summary: "List deployments, show one, its versions; roll back; delete",
  usage: `browsergrid deployments list [--json]
browsergrid deployments get <name> [--json]
browsergrid deployments versions <name> [--json]
browsergrid deployments use <name> <version>     make a kept version current (pin or roll back)
browsergrid deployments delete <name>

${CONNECTION}`,
  run(args) {
    return runApiCommand("deployments", this.usage, async () => {
      const { flags, positional } = parseFlags(args);
      const [action, name, version] = positional;
      const api = new ApiClient(apiTarget(flags));
      const out = (v: unknown, human: () => void) => (flags.json ? console.log(JSON.stringify(v, null, 2)) : human());
      const needName = () => {
        if (!name) throw new UsageError(`${action} needs a deployment name`);
        return enc(name);
      };
      switch (action) {
        case "list": {
          const body = await api.request("/api/v1/deployments");
          out(body, () => printTable(listOf(body, "deployments"), ["name", "currentVersion", "runtime", "updatedAt"]));
          return 0;
        }
        case "get": {
          const body = await api.request<Record<string, unknown>>(`/api/v1/deployments/${needName()}`);
          out(body, () => console.log(JSON.stringify(body, null, 2)));
          return 0;
        }
        case "versions": {
          const body = await api.request(`/api/v1/deployments/${needName()}/versions`);
          out(body, () => printTable(listOf(body, "versions"), ["version", "current", "createdAt", "size", "files"]));
          return 0;
        }
        case "use": {
          const n = Number(version);
          if (!Number.isInteger(n) || n < 1) throw new UsageError("use needs <name> <version number>");
          const body = await api.request(`/api/v1/deployments/${needName()}`, { method: "PATCH", json: { currentVersion: n } });
          out(body, () => console.log(`${name} now runs version ${n}`));
          return 0;
        }
        case "delete": {
          await api.request(`/api/v1/deployments/${needName()}`, { method: "DELETE" });
          out({ deleted: name }, () => console.log(`deleted ${name}`));
          return 0;
        }
        default:
          throw new UsageError(action ? `unknown action "${action}"` : "give an action");
      }
    });
  },
};
