// /api/v1/sessions/:id/artifacts — files a session produced (screenshots, downloads as soon as
// they finished, later recordings and run logs), and POST /api/v1/sessions/:id/screenshot to
// take one. Who may see a session may see its artifacts. Downloads are served as attachments in
// a sandbox: a file a page downloaded is untrusted content and must never run as BrowserGrid's
// origin.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import { authMacro } from "../../http/plugins/auth";
import { strictObject } from "../../http/strict-object";
import { visibleSession } from "../sessions/sessions.routes";
import { storageOf } from "../profiles/session-storage";
import { captureScreenshot } from "./artifacts.capture";
import type { ArtifactRow, ArtifactService } from "./artifacts.service";
import { ErrorSchema } from "../users/users.schema";

const ArtifactSchema = t.Object({
  id: t.String(),
  sessionId: t.String(),
  kind: t.String({ description: "screenshot | download | recording | log" }),
  name: t.String(),
  contentType: t.String(),
  size: t.Number(),
  sha256: t.String(),
  createdAt: t.String(),
  url: t.String({ description: "Path to download the file" }),
});

/**
 * An artifact as a download: an attachment (a browser never renders it), sandboxed by CSP, with
 * its SHA-256. Artifacts are untrusted content (a page's download, a run's output).
 */
export function artifactAttachment(artifacts: Pick<ArtifactService, "open">, a: ArtifactRow): Response {
  return new Response(artifacts.open(a), {
    headers: {
      "content-type": a.contentType,
      "content-length": String(a.size),
      "content-disposition": `attachment; filename="${a.name.replace(/[^A-Za-z0-9._-]/g, "_")}"`,
      "content-security-policy": "sandbox; default-src 'none'",
      "x-checksum-sha256": a.sha256,
    },
  });
}

export function artifactRoutes(deps: AppDeps) {
  const { artifacts } = storageOf(deps);
  const { db } = deps;
  return new Elysia({ name: "session-artifacts", prefix: "/api/v1/sessions" })
    .use(authMacro)
    .get(
      "/:id/artifacts",
      async ({ params, actor }) => {
        visibleSession(db, actor, params.id);
        await artifacts.settled(params.id); // a session that just ended: its downloads are being copied
        return { artifacts: artifacts.list(params.id).map((a) => artifacts.toPublic(a)) };
      },
      {
        auth: "viewer",
        params: t.Object({ id: t.String({ maxLength: 64 }) }),
        response: { 200: t.Object({ artifacts: t.Array(ArtifactSchema) }), 404: ErrorSchema },
        detail: {
          tags: ["artifacts"],
          summary: "A session's artifacts, oldest first",
          description:
            "A download is listed as soon as Chromium finished it, while the session runs: the copy starts before the CDP client hears of the completion, and this listing waits for copies under way, so a script that waited for its download (Playwright: download.failure()) finds it here. For a session that has just ended, answers once its remaining downloads have been copied in (right after DELETE answers). A second download with the same file name is a second artifact.",
        },
      },
    )
    .get(
      "/:id/artifacts/:artifactId",
      ({ params, actor }) => {
        visibleSession(db, actor, params.id);
        return artifactAttachment(artifacts, artifacts.get(params.id, params.artifactId));
      },
      {
        auth: "viewer",
        params: t.Object({ id: t.String({ maxLength: 64 }), artifactId: t.String({ maxLength: 64 }) }),
        detail: {
          tags: ["artifacts"],
          summary: "Download one artifact",
          description: "The file's bytes as an attachment (sandboxed), with its SHA-256 in X-Checksum-SHA256; works while the session runs and after it ended, until retention deletes it.",
          responses: {
            200: {
              description: "The file, as an attachment with its own Content-Type; X-Checksum-Sha256 is its SHA-256",
              headers: { "X-Checksum-Sha256": { schema: { type: "string" } } },
              content: { "*/*": { schema: { type: "string", format: "binary" } } },
            },
          },
        },
      },
    )
    .post(
      "/:id/screenshot",
      async (ctx) => {
        const { params, body, actor } = ctx;
        const row = visibleSession(db, actor, params.id);
        const a = await captureScreenshot(deps, row, body);
        ctx.set.status = 201;
        return artifacts.toPublic(a);
      },
      {
        auth: "member",
        params: t.Object({ id: t.String({ maxLength: 64 }) }),
        body: strictObject({
          fullPage: t.Optional(t.Boolean()),
          format: t.Optional(t.Union([t.Literal("png"), t.Literal("jpeg")])),
          quality: t.Optional(t.Integer({ minimum: 1, maximum: 100 })),
        }),
        response: { 201: ArtifactSchema, 404: ErrorSchema, 409: ErrorSchema },
        detail: { tags: ["artifacts"], summary: "Capture the session's first page as an artifact", description: "Taken on BrowserGrid's own CDP connection; the clients see nothing of it." },
      },
    );
}
