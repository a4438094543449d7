// /api/v1/deployments — upload automation code as immutable versions, pin or roll back, download
// a bundle, keep secrets for its runs. Viewers read deployments and versions; members upload,
// pin, download bundles and manage secrets (names only are ever shown); admins delete. Every
// change is audited with names and versions, never secret values.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { errorFor, ErrorSchema } from "../../http/errors";
import { audit } from "../audit/audit.service";
import type { DeployResult } from "./deployments.service";
import { readUpload } from "./deployments.upload";
import {
  DeploymentParams,
  DeploymentResponse,
  DeployQuery,
  DeployResponse,
  PatchDeploymentBody,
  PutSecretBody,
  SecretListResponse,
  SecretParams,
  SecretPutResponse,
  VersionParams,
  VersionResponse,
} from "./deployments.schema";

const tags = ["deployments"];

export function deployResponse(r: DeployResult) {
  const m = r.version.manifest as { runtime: string; entry: string };
  return {
    id: r.deployment.id,
    name: r.deployment.name,
    version: r.version.version,
    currentVersion: r.deployment.currentVersion,
    created: r.created,
    runtime: m.runtime,
    entry: m.entry,
    sha256: r.version.bundleSha256,
    size: r.version.bundleSize,
    files: r.version.fileCount,
    unpackedBytes: r.version.unpackedBytes,
    strippedDir: r.strippedDir,
  };
}

const UPLOAD_DESCRIPTION =
  "The bundle is `.tar.gz`, `.tar` or `.zip` with `browsergrid.json` at its top (or inside one top-level directory, which is then stripped). Send it as multipart/form-data (one file field `bundle`), as the raw body (Content-Type application/gzip, application/zip or application/octet-stream), or as JSON `{\"manifest\": {…}, \"files\": {\"main.ts\": \"…\"}}` for a small script (at most 16 text files, 1 MiB). The manifest's `name` says which deployment: a new name creates it (version 1), an existing one gets the next version, current unless `?activate=false`. Refused with 400 naming the problem, and nothing stored: entries outside the directory, links, devices, duplicate names, encrypted or ZIP64 zips, more than 50,000 entries, more than BROWSERGRID_DEPLOYMENT_UNPACKED_MAX_MB unpacked, no manifest, an unknown key or runtime, an entry that is not a file of the bundle, a params schema using keywords outside the supported subset, a pool, profile, proxy or rule set that does not exist. Over BROWSERGRID_DEPLOYMENT_BUNDLE_MAX_MB: 413. docs/deployments.md has the manifest reference.";

export function deploymentRoutes(deps: AppDeps) {
  const svc = deps.deployments;
  return new Elysia({ name: "deployments", prefix: "/api/v1/deployments" })
    .use(authMacro)
    .get("/", () => ({ deployments: svc.list() }), {
      auth: "viewer",
      response: t.Object({ deployments: t.Array(DeploymentResponse) }),
      detail: { tags, summary: "List deployments", description: "Each with its current version's runtime, entry and manifest." },
    })
    .post(
      "/",
      async (ctx) => {
        const { request, query, actor } = ctx;
        const body = await readUpload(request, deps.config.deploymentBundleMaxBytes);
        const opts = { activate: query.activate !== "false", createdBy: actor.userId ?? actor.keyId ?? null };
        const r = body.kind === "archive" ? await svc.deployArchive(body.bytes, opts) : await svc.deployInline(body.input, opts);
        audit(deps, actor, r.created ? "deployment.created" : "deployment.version_added", r.deployment.id, { name: r.deployment.name, version: r.version.version, current: r.deployment.currentVersion === r.version.version, sha256: r.version.bundleSha256 }, requestIp(ctx));
        ctx.set.status = 201;
        return deployResponse(r);
      },
      {
        auth: "member",
        parse: "none",
        query: DeployQuery,
        response: { 201: DeployResponse, 400: ErrorSchema, 409: ErrorSchema, 413: ErrorSchema, 415: ErrorSchema },
        detail: {
          tags,
          summary: "Deploy a bundle: a new deployment or its next version",
          description: UPLOAD_DESCRIPTION,
          requestBody: {
            required: true,
            content: {
              "multipart/form-data": { schema: { type: "object", required: ["bundle"], properties: { bundle: { type: "string", format: "binary", description: "The .tar.gz or .zip" } }, additionalProperties: false } },
              "application/octet-stream": { schema: { type: "string", format: "binary", description: "The raw .tar.gz or .zip (application/gzip and application/zip are accepted too)" } },
              "application/json": {
                schema: {
                  type: "object",
                  required: ["manifest", "files"],
                  additionalProperties: false,
                  properties: {
                    manifest: { type: "object", description: "The browsergrid.json content" },
                    files: { type: "object", additionalProperties: { type: "string" }, maxProperties: 16, description: "Path → file text" },
                  },
                },
              },
            },
          },
        },
      },
    )
    .get("/:name", ({ params }) => svc.toPublic(svc.get(params.name)), {
      auth: "viewer",
      params: DeploymentParams,
      response: { 200: DeploymentResponse, 404: ErrorSchema },
      detail: { tags, summary: "Get a deployment by name or id" },
    })
    .patch(
      "/:name",
      (ctx) => {
        const before = svc.get(ctx.params.name);
        const d = svc.setCurrent(before.id, ctx.body.currentVersion);
        audit(deps, ctx.actor, "deployment.current_changed", d.id, { name: d.name, from: before.currentVersion, to: d.currentVersion }, requestIp(ctx));
        return svc.toPublic(d);
      },
      {
        auth: "member",
        params: DeploymentParams,
        body: PatchDeploymentBody,
        response: { 200: DeploymentResponse, 400: errorFor("No such version"), 404: ErrorSchema },
        detail: { tags, summary: "Pin or roll back: make an existing version current", description: "Runs triggered from now on take this version unless they name one. Versions are never changed or removed by this." },
      },
    )
    .delete(
      "/:name",
      async (ctx) => {
        const d = await svc.delete(ctx.params.name);
        audit(deps, ctx.actor, "deployment.deleted", d.id, { name: d.name }, requestIp(ctx));
        ctx.set.status = 204;
        return null;
      },
      {
        auth: "admin",
        params: DeploymentParams,
        response: { 204: t.Null(), 404: ErrorSchema, 409: errorFor("Runs of the deployment are queued or running") },
        detail: { tags, summary: "Delete a deployment with all its versions, bundles and secrets", description: "409 while any of its runs is queued or running." },
      },
    )
    .get("/:name/versions", ({ params }) => ({ versions: svc.versions(params.name) }), {
      auth: "viewer",
      params: DeploymentParams,
      response: { 200: t.Object({ versions: t.Array(VersionResponse) }), 404: ErrorSchema },
      detail: { tags, summary: "A deployment's versions, newest first", description: "Versions are immutable and kept until the deployment is deleted." },
    })
    .get(
      "/:name/versions/:version/bundle",
      (ctx) => {
        const { stream, deployment, version } = svc.bundleStream(ctx.params.name, ctx.params.version);
        audit(deps, ctx.actor, "deployment.bundle_downloaded", deployment.id, { name: deployment.name, version: version.version }, requestIp(ctx));
        return new Response(stream, {
          headers: {
            "content-type": "application/gzip",
            "content-disposition": `attachment; filename="${deployment.name}-v${version.version}.tar.gz"`,
            "x-browsergrid-bundle-sha256": version.bundleSha256,
          },
        });
      },
      {
        auth: "member",
        params: VersionParams,
        detail: {
          tags,
          summary: "Download a version's bundle (the normalised tar.gz that runs get)",
          responses: {
            200: {
              description: "The bundle; X-Browsergrid-Bundle-Sha256 is its SHA-256",
              headers: { "X-Browsergrid-Bundle-Sha256": { schema: { type: "string" } } },
              content: { "application/gzip": { schema: { type: "string", format: "binary" } } },
            },
            404: { description: "No such deployment or version", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
          },
        },
      },
    )
    .get("/:name/secrets", ({ params }) => ({ secrets: svc.secretNames(params.name) }), {
      auth: "member",
      params: DeploymentParams,
      response: { 200: SecretListResponse, 404: ErrorSchema },
      detail: { tags, summary: "A deployment's secret names (never their values)" },
    })
    .put(
      "/:name/secrets/:key",
      (ctx) => {
        const { deployment, created } = svc.putSecret(ctx.params.name, ctx.params.key, ctx.body.value);
        audit(deps, ctx.actor, created ? "deployment.secret_created" : "deployment.secret_updated", deployment.id, { name: deployment.name, secret: ctx.params.key }, requestIp(ctx));
        ctx.set.status = created ? 201 : 200;
        return { name: ctx.params.key, created };
      },
      {
        auth: "member",
        params: SecretParams,
        body: PutSecretBody,
        response: { 200: SecretPutResponse, 201: SecretPutResponse, 400: ErrorSchema, 404: ErrorSchema },
        detail: {
          tags,
          summary: "Set a secret (an environment variable of the deployment's runs)",
          description:
            "Stored encrypted under the install key; the value is never returned and is redacted from stored run logs. Names are like environment variables (`^[A-Z_][A-Z0-9_]{0,63}$`); BROWSERGRID_* and the variables the runner sets (BROWSER_WS_ENDPOINT, PATH, HOME, USER, HOSTNAME, PWD) are refused. 201 when new, 200 when replaced.",
        },
      },
    )
    .delete(
      "/:name/secrets/:key",
      (ctx) => {
        const d = svc.deleteSecret(ctx.params.name, ctx.params.key);
        audit(deps, ctx.actor, "deployment.secret_deleted", d.id, { name: d.name, secret: ctx.params.key }, requestIp(ctx));
        ctx.set.status = 204;
        return null;
      },
      {
        auth: "member",
        params: SecretParams,
        response: { 204: t.Null(), 404: ErrorSchema },
        detail: { tags, summary: "Delete a secret" },
      },
    );
}
