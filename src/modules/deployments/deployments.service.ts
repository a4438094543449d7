// Deployments: named automation code in immutable, numbered versions. An upload (archive or
// inline files) is checked and normalised (bundle-intake.ts), its manifest validated against
// the bundle and against the pools, profiles, proxies and rule sets that exist now
// (manifest.ts), then its bundle is put in the blob store at bundles/<deploymentId>/<n>.tar.gz
// and only then are the rows written; a failure between the two removes the blob, so a refused
// or failed upload leaves neither row nor blob. Uploads of one name are serialised (per-name
// lock), so two at once get versions n+1 and n+2, never the same number.
//
// What other modules use: resolveVersion, bundle, validateParams, secretsEnv (runs); nothing
// else of a deployment is read outside this module.
import type { Db } from "../../db/client";
import type { Logger } from "../../lib/logger";
import { BadRequest, Conflict, NotFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import type { BlobStore } from "../../storage/blob-store";
import { intakeBundle, intakeInline, type BundleLimits, type InlineBundle, type IntakeResult } from "./bundle-intake";
import { checkManifestRefs, parseManifest, type Manifest, type ManifestRefs } from "./manifest";
import { validateParamsAgainst } from "./params-schema";
import * as store from "./deployments.store";
import type { DeploymentRow, VersionRow } from "./deployments.store";
import { deleteSecret, listSecretNames, putSecret, secretsEnvOf, type SecretName } from "./deployments.secrets";

export interface DeploymentsDeps {
  db: Db;
  log: Logger;
  blobs: BlobStore;
  installKey: Buffer;
  limits: BundleLimits;
  refs: ManifestRefs;
  now?: () => number;
}

export interface PublicDeployment {
  id: string;
  name: string;
  currentVersion: number | null;
  versions: number;
  runtime: string | null;
  entry: string | null;
  /** The current version's manifest (a Manifest). */
  manifest: Record<string, unknown> | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface PublicVersion {
  version: number;
  current: boolean;
  /** The version's manifest (a Manifest). */
  manifest: Record<string, unknown>;
  sha256: string;
  size: number;
  files: number;
  unpackedBytes: number;
  createdBy: string | null;
  createdAt: string;
}

export interface DeployResult {
  deployment: DeploymentRow;
  version: VersionRow;
  /** The upload created the deployment (its first version). */
  created: boolean;
  strippedDir: string | null;
}

export interface ResolvedVersion {
  deployment: DeploymentRow;
  version: VersionRow;
  manifest: Manifest;
}

export const bundleKey = (deploymentId: string, version: number) => `bundles/${deploymentId}/${version}.tar.gz`;

export class DeploymentsService {
  /** The tail of the work on each deployment name (uploads, deletes), so they run one at a time. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** What other modules remove of a deployment before its rows go (run logs and outputs). */
  private readonly deleteHooks: ((d: DeploymentRow) => Promise<void>)[] = [];

  constructor(private readonly deps: DeploymentsDeps) {}

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private async locked<T>(name: string, work: () => Promise<T>): Promise<T> {
    const before = this.locks.get(name) ?? Promise.resolve();
    const mine = before.catch(() => {}).then(work);
    const tail = mine.catch(() => {});
    this.locks.set(name, tail);
    try {
      return await mine;
    } finally {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    }
  }

  // ---- uploads -------------------------------------------------------------------------

  /** An uploaded archive (.tar.gz, .tar, .zip) as a new version; `expectName` refuses a manifest naming another deployment. */
  async deployArchive(upload: Uint8Array, opts: { activate: boolean; createdBy: string | null; expectName?: string }): Promise<DeployResult> {
    return this.deploy(await intakeBundle(upload, this.deps.limits), opts);
  }

  async deployInline(input: InlineBundle, opts: { activate: boolean; createdBy: string | null; expectName?: string }): Promise<DeployResult> {
    return this.deploy(await intakeInline(input, this.deps.limits), opts);
  }

  private async deploy(intake: IntakeResult, opts: { activate: boolean; createdBy: string | null; expectName?: string }): Promise<DeployResult> {
    const manifest = parseManifest(intake.manifestText, intake.listing);
    if (opts.expectName !== undefined && manifest.name !== opts.expectName)
      throw new BadRequest(`browsergrid.json names deployment "${manifest.name}", not "${opts.expectName}": a new version must keep the name.`, "invalid_name");
    checkManifestRefs(manifest, this.deps.refs);
    return this.locked(manifest.name, async () => {
      const existing = store.findDeployment(this.deps.db, manifest.name);
      const id = existing?.id ?? newId("dep");
      const version = existing ? store.latestVersion(this.deps.db, id) + 1 : 1;
      const key = bundleKey(id, version);
      const blob = await this.deps.blobs.put(key, intake.tarGz);
      try {
        const row = { deploymentId: id, version, manifest: manifest as unknown as Record<string, unknown>, bundleKey: key, bundleSha256: blob.sha256, bundleSize: blob.size, fileCount: intake.files, unpackedBytes: intake.bytes, createdBy: opts.createdBy };
        const deployment = store.insertVersion(this.deps.db, { id, name: manifest.name, createdBy: opts.createdBy, isNew: !existing }, row, opts.activate, this.now());
        return { deployment, version: store.findVersion(this.deps.db, id, version)!, created: !existing, strippedDir: intake.strippedDir };
      } catch (err) {
        await this.deps.blobs.delete(key).catch((e) => this.deps.log.error("could not remove the bundle of a failed deploy", { err: e, key }));
        throw err;
      }
    });
  }

  // ---- reads -----------------------------------------------------------------------------

  get(idOrName: string): DeploymentRow {
    const d = store.findDeployment(this.deps.db, idOrName);
    if (!d) throw new NotFound(`Deployment "${idOrName.slice(0, 64)}"`);
    return d;
  }

  list(): PublicDeployment[] {
    const counts = store.versionCounts(this.deps.db);
    return store.listDeployments(this.deps.db).map((d) => this.toPublic(d, counts.get(d.id) ?? 0));
  }

  toPublic(d: DeploymentRow, versions?: number): PublicDeployment {
    const current = d.currentVersion === null ? undefined : store.findVersion(this.deps.db, d.id, d.currentVersion);
    const manifest = (current?.manifest ?? null) as Manifest | null;
    return {
      id: d.id,
      name: d.name,
      currentVersion: d.currentVersion,
      versions: versions ?? store.listVersions(this.deps.db, d.id).length,
      runtime: manifest?.runtime ?? null,
      entry: manifest?.entry ?? null,
      manifest: current?.manifest ?? null,
      createdBy: d.createdBy,
      createdAt: new Date(d.createdAt).toISOString(),
      updatedAt: new Date(d.updatedAt).toISOString(),
    };
  }

  versions(idOrName: string): PublicVersion[] {
    const d = this.get(idOrName);
    return store.listVersions(this.deps.db, d.id).map((v) => toPublicVersion(v, d.currentVersion));
  }

  /** The version a run takes: `version`, or the current one. 404 when the deployment or version does not exist. */
  resolveVersion(idOrName: string, version?: number): ResolvedVersion {
    const deployment = this.get(idOrName);
    const n = version ?? deployment.currentVersion;
    const row = n === null ? undefined : store.findVersion(this.deps.db, deployment.id, n);
    if (!row) throw new NotFound(`Version ${n ?? "(none)"} of deployment "${deployment.name}"`);
    return { deployment, version: row, manifest: row.manifest as unknown as Manifest };
  }

  /** The normalised tar.gz of a version, its SHA-256 checked (a damaged blob throws). */
  async bundle(deploymentId: string, version: number): Promise<Uint8Array> {
    const v = store.findVersion(this.deps.db, deploymentId, version);
    if (!v) throw new NotFound(`Version ${version} of deployment ${deploymentId}`);
    return this.deps.blobs.read(v.bundleKey, { sha256: v.bundleSha256 });
  }

  /** A stream of a version's bundle, for downloads. */
  bundleStream(idOrName: string, version: number): { stream: ReadableStream<Uint8Array>; deployment: DeploymentRow; version: VersionRow } {
    const { deployment, version: v } = this.resolveVersion(idOrName, version);
    const stream = this.deps.blobs.stream(v.bundleKey);
    if (!stream) throw new NotFound(`The bundle of version ${version} of "${deployment.name}"`);
    return { stream, deployment, version: v };
  }

  validateParams(manifest: Manifest, params: unknown): Record<string, unknown> {
    return validateParamsAgainst(manifest.params, params);
  }

  // ---- changes ---------------------------------------------------------------------------

  /** Pin or roll back: makes an existing version current. */
  setCurrent(idOrName: string, version: number): DeploymentRow {
    const d = this.get(idOrName);
    if (!store.findVersion(this.deps.db, d.id, version)) throw new BadRequest(`Deployment "${d.name}" has no version ${version} (GET /api/v1/deployments/${d.name}/versions lists them).`, "unknown_version");
    return store.setCurrentVersion(this.deps.db, d.id, version, this.now());
  }

  /**
   * Registers what must be removed with a deployment that its rows do not cascade to (the runs
   * module: run logs and output blobs). Hooks run in order before the rows go; one that fails
   * stops the delete, so nothing is left half-removed without a row to find it by.
   */
  onDelete(hook: (d: DeploymentRow) => Promise<void>): void {
    this.deleteHooks.push(hook);
  }

  /** Removes the deployment, its versions, secrets and bundles; 409 while runs of it are queued or running. */
  async delete(idOrName: string): Promise<DeploymentRow> {
    const d = this.get(idOrName);
    return this.locked(d.name, async () => {
      const active = store.activeRunCount(this.deps.db, d.id);
      if (active > 0) throw new Conflict(`Deployment "${d.name}" has ${active} queued or running run(s): cancel them or wait until they end.`, "deployment_busy");
      for (const hook of this.deleteHooks) await hook(d);
      store.deleteDeploymentRow(this.deps.db, d.id);
      await this.deps.blobs.deletePrefix(`bundles/${d.id}/`);
      return d;
    });
  }

  // ---- secrets ---------------------------------------------------------------------------

  secretNames(idOrName: string): SecretName[] {
    return listSecretNames(this.deps.db, this.get(idOrName).id);
  }

  putSecret(idOrName: string, name: string, value: string): { deployment: DeploymentRow; created: boolean } {
    const deployment = this.get(idOrName);
    return { deployment, ...putSecret(this.deps.db, this.deps.installKey, deployment.id, name, value, this.now()) };
  }

  deleteSecret(idOrName: string, name: string): DeploymentRow {
    const deployment = this.get(idOrName);
    deleteSecret(this.deps.db, deployment.id, name);
    return deployment;
  }

  /** The decrypted secrets of a deployment, as a run's environment variables. */
  secretsEnv(deploymentId: string): Record<string, string> {
    return secretsEnvOf(this.deps.db, this.deps.installKey, deploymentId);
  }
}

export function toPublicVersion(v: VersionRow, current: number | null): PublicVersion {
  return {
    version: v.version,
    current: v.version === current,
    manifest: v.manifest,
    sha256: v.bundleSha256,
    size: v.bundleSize,
    files: v.fileCount,
    unpackedBytes: v.unpackedBytes,
    createdBy: v.createdBy,
    createdAt: new Date(v.createdAt).toISOString(),
  };
}
