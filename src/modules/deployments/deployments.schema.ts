// Request and response schemas of the deployments API, with limits; unknown fields are refused.
// Secret values are accepted, never returned.
import { t } from "elysia";
import { strictObject, wholeNumber } from "../../http/strict-object";

export const DeploymentParams = t.Object({ name: t.String({ minLength: 1, maxLength: 64, description: "Deployment name (or id)" }) });
export const VersionParams = t.Object({ name: t.String({ minLength: 1, maxLength: 64, description: "Deployment name (or id)" }), version: wholeNumber("version", 1, 1e9) });
export const SecretParams = t.Object({
  name: t.String({ minLength: 1, maxLength: 64, description: "Deployment name (or id)" }),
  key: t.String({ minLength: 1, maxLength: 64, description: "Secret name: uppercase letters, digits and _, not starting with a digit or BROWSERGRID_" }),
});

export const DeployQuery = strictObject({
  activate: t.Optional(t.Union([t.Literal("true"), t.Literal("false")], { description: "false: add the version without making it current (the first version is always current)" })),
});

export const PatchDeploymentBody = strictObject({ currentVersion: t.Integer({ minimum: 1, maximum: 1e9, description: "An existing version to make current (pin or roll back)" }) });
export const PutSecretBody = strictObject({ value: t.String({ minLength: 1, maxLength: 32 * 1024, description: "Stored encrypted under the install key; never returned" }) });

const Json = t.Record(t.String(), t.Unknown(), { description: "The validated browsergrid.json" });

export const DeploymentResponse = t.Object({
  id: t.String(),
  name: t.String(),
  currentVersion: t.Nullable(t.Number()),
  versions: t.Number({ description: "How many versions are kept" }),
  runtime: t.Nullable(t.String({ description: "The current version's runtime: bun or python" })),
  entry: t.Nullable(t.String()),
  manifest: t.Nullable(Json),
  createdBy: t.Nullable(t.String()),
  createdAt: t.String(),
  updatedAt: t.String(),
});

export const VersionResponse = t.Object({
  version: t.Number(),
  current: t.Boolean(),
  manifest: Json,
  sha256: t.String({ description: "SHA-256 of the stored (normalised) tar.gz" }),
  size: t.Number({ description: "Bytes of the stored tar.gz" }),
  files: t.Number(),
  unpackedBytes: t.Number(),
  createdBy: t.Nullable(t.String()),
  createdAt: t.String(),
});

export const DeployResponse = t.Object({
  id: t.String(),
  name: t.String(),
  version: t.Number({ description: "The version this upload added" }),
  currentVersion: t.Nullable(t.Number()),
  created: t.Boolean({ description: "true when this upload created the deployment" }),
  runtime: t.String(),
  entry: t.String(),
  sha256: t.String(),
  size: t.Number(),
  files: t.Number(),
  unpackedBytes: t.Number(),
  strippedDir: t.Nullable(t.String({ description: "The single top-level directory removed from every path, if the bundle had one" })),
});

export const SecretListResponse = t.Object({ secrets: t.Array(t.Object({ name: t.String(), updatedAt: t.String() })) });
export const SecretPutResponse = t.Object({ name: t.String(), created: t.Boolean() });
