// /api/v1/profiles — persistent browser profiles: create, list, rename, delete, versions and
// restore, export and import. Members manage their own; viewers and admins read all; admins
// change any. Exports hold cookies (credentials), so reading one needs write rights too.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import type { Actor } from "../../security/actor";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { strictObject, wholeNumber } from "../../http/strict-object";
import { BadRequest } from "../../lib/errors";
import { audit } from "../audit/audit.service";
import { ownerOf } from "../sessions/sessions.model";
import { storageOf } from "./session-storage";
import { ErrorSchema } from "../users/users.schema";

const ProfileSchema = t.Object({
  id: t.String(),
  name: t.String(),
  description: t.String(),
  currentVersion: t.Nullable(t.Number()),
  versions: t.Number(),
  size: t.Number({ description: "Stored (compressed) bytes of the current version" }),
  contentBytes: t.Number({ description: "Bytes of the files in the current version" }),
  lockedBy: t.Nullable(t.String({ description: "The persisting session holding the profile" })),
  createdAt: t.String(),
  updatedAt: t.String(),
  lastUsedAt: t.Nullable(t.String()),
});

const VersionSchema = t.Object({
  version: t.Number(),
  size: t.Number(),
  contentBytes: t.Number(),
  files: t.Number(),
  sha256: t.String(),
  source: t.String({ description: "session | save | import | restore" }),
  sessionId: t.Nullable(t.String()),
  createdAt: t.String(),
  current: t.Boolean(),
});

const Params = t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) });
const Name = t.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$" });
const Description = t.String({ maxLength: 1000 });

const readAll = (a: Actor) => a.role === "admin" || a.role === "viewer";

export function profileRoutes(deps: AppDeps) {
  const { profiles } = storageOf(deps);
  const forRead = (a: Actor, id: string) => profiles.visible(id, { ownerId: ownerOf(a).id, seeAll: readAll(a) });
  const forWrite = (a: Actor, id: string) => profiles.visible(id, { ownerId: ownerOf(a).id, seeAll: a.role === "admin" });

  return new Elysia({ name: "profiles", prefix: "/api/v1/profiles" })
    .use(authMacro)
    .get("/", ({ actor }) => ({ profiles: profiles.list(readAll(actor) ? undefined : (ownerOf(actor).id ?? "")).map((p) => profiles.toPublic(p)) }), {
      auth: "viewer",
      response: t.Object({ profiles: t.Array(ProfileSchema) }),
      detail: { tags: ["profiles"], summary: "List profiles (members: their own)" },
    })
    .post(
      "/",
      (ctx) => {
        const p = profiles.create(ownerOf(ctx.actor), ctx.body);
        audit(deps, ctx.actor, "profile.created", p.id, { name: p.name }, requestIp(ctx));
        ctx.set.status = 201;
        return profiles.toPublic(p);
      },
      {
        auth: "member",
        body: strictObject({ name: Name, description: t.Optional(Description) }),
        response: { 201: ProfileSchema, 400: ErrorSchema, 409: ErrorSchema },
        detail: { tags: ["profiles"], summary: "Create an empty profile", description: "Attach it to a session with `profile: {name, persist: true}` to fill it." },
      },
    )
    .post(
      "/import",
      async (ctx) => {
        const { query, request, actor } = ctx;
        // The body arrives as a stream capped by the body gate (src/http/body-limits.ts: the
        // profile size cap, 413 past it) and is checked and stored as it streams.
        if (request.body === null || request.headers.get("content-length") === "0")
          throw new BadRequest("Send the archive (tar or tar.gz of a user-data-dir) as the request body.", "archive_missing");
        let received = 0;
        const counted = request.body.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              received += chunk.byteLength;
              controller.enqueue(chunk);
            },
          }),
        );
        const p = await profiles.importArchive(ownerOf(actor), { name: query.name, description: query.description }, counted);
        audit(deps, actor, "profile.imported", p.id, { name: p.name, bytes: received }, requestIp(ctx));
        ctx.set.status = 201;
        return profiles.toPublic(p);
      },
      {
        auth: "member",
        parse: "none",
        query: strictObject({ name: Name, description: t.Optional(Description) }),
        response: { 201: ProfileSchema, 400: ErrorSchema, 409: ErrorSchema, 413: ErrorSchema },
        detail: {
          tags: ["profiles"],
          summary: "Import a profile from a tar or tar.gz archive (the body)",
          requestBody: { required: true, content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } },
          description:
            "The archive holds the contents of a Chromium user-data-dir (as exported). It is streamed, never held whole: a body over the profile size cap (BROWSERGRID_PROFILE_MAX_MB) gets 413, and only after the API key or cookie was checked is any of it read. Entries that leave the directory, links, devices, fifos, more than 100,000 entries and files over the size limits (also once unpacked) are refused with 400; nothing is kept of a refused archive.",
        },
      },
    )
    .get("/:id", ({ params, actor }) => profiles.toPublic(forRead(actor, params.id)), {
      auth: "viewer",
      params: Params,
      response: { 200: ProfileSchema, 404: ErrorSchema },
      detail: { tags: ["profiles"], summary: "Get a profile by id or name" },
    })
    .patch(
      "/:id",
      (ctx) => {
        const p = profiles.update(forWrite(ctx.actor, ctx.params.id), ctx.body);
        audit(deps, ctx.actor, "profile.updated", p.id, { name: p.name }, requestIp(ctx));
        return profiles.toPublic(p);
      },
      {
        auth: "member",
        params: Params,
        body: strictObject({ name: t.Optional(Name), description: t.Optional(Description) }),
        response: { 200: ProfileSchema, 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema },
        detail: { tags: ["profiles"], summary: "Rename a profile or change its description" },
      },
    )
    .delete(
      "/:id",
      async (ctx) => {
        const p = forWrite(ctx.actor, ctx.params.id);
        await profiles.delete(p);
        audit(deps, ctx.actor, "profile.deleted", p.id, { name: p.name }, requestIp(ctx));
        ctx.set.status = 204;
        return null;
      },
      {
        auth: "member",
        params: Params,
        detail: {
          tags: ["profiles"],
          summary: "Delete a profile and all its versions",
          description: "409 while a persisting session holds it.",
          responses: { 204: { description: "Deleted" }, 409: { description: "A persisting session holds the profile." } },
        },
      },
    )
    .get("/:id/versions", ({ params, actor }) => ({ versions: profiles.versions(forRead(actor, params.id)) }), {
      auth: "viewer",
      params: Params,
      response: { 200: t.Object({ versions: t.Array(VersionSchema) }), 404: ErrorSchema },
      detail: { tags: ["profiles"], summary: "A profile's kept versions, newest first" },
    })
    .post(
      "/:id/versions/:version/restore",
      async (ctx) => {
        const p = forWrite(ctx.actor, ctx.params.id);
        const v = await profiles.restore(p, ctx.params.version);
        audit(deps, ctx.actor, "profile.restored", p.id, { name: p.name, from: ctx.params.version, version: v.version }, requestIp(ctx));
        return profiles.toPublic(profiles.find(p.id)!);
      },
      {
        auth: "member",
        params: t.Object({ id: t.String({ minLength: 1, maxLength: 64 }), version: wholeNumber("version", 1, 1e9) }),
        response: { 200: ProfileSchema, 404: ErrorSchema, 409: ErrorSchema },
        detail: { tags: ["profiles"], summary: "Make an older version current again (saved as a new version)", description: "409 while a persisting session holds the profile." },
      },
    )
    .get(
      "/:id/export",
      async (ctx) => {
        const p = forWrite(ctx.actor, ctx.params.id);
        const { stream, version } = profiles.exportArchive(p, ctx.query.version);
        audit(deps, ctx.actor, "profile.exported", p.id, { name: p.name, version }, requestIp(ctx));
        return new Response(stream, {
          headers: {
            "content-type": "application/gzip",
            "content-disposition": `attachment; filename="${p.name}-v${version}.tar.gz"`,
            "x-browsergrid-profile-version": String(version),
          },
        });
      },
      {
        auth: "member",
        params: Params,
        query: strictObject({ version: t.Optional(wholeNumber("version", 1, 1e9)) }),
        detail: {
          tags: ["profiles"],
          summary: "Download a version (default: current) as tar.gz",
          description: "The archive holds cookies: treat it like a password.",
          responses: {
            200: {
              description: "The archive; X-Browsergrid-Profile-Version says which version it is",
              headers: { "X-Browsergrid-Profile-Version": { schema: { type: "integer" } } },
              content: { "application/gzip": { schema: { type: "string", format: "binary" } } },
            },
            409: { description: "The profile has no saved version yet." },
          },
        },
      },
    );
}
