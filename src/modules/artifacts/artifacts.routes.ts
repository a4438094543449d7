// /api/v1/sessions/:id/artifacts — files a session produced (screenshots, downloads, later
// recordings and run logs), and POST /api/v1/sessions/:id/screenshot to take one. Who may see
// a session may see its artifacts. Downloads are served as attachments in a sandbox: a file
// a page downloaded is untrusted content and must never run as BrowserGrid's origin.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import { authMacro } from "../../http/plugins/auth";
import { strictObject } from "../../http/strict-object";
import { Conflict } from "../../lib/errors";
import { visibleSession } from "../sessions/sessions.routes";
import { connectToBrowser, storageOf } from "../profiles/session-storage";
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

const MAX_SCREENSHOT_BYTES = 64 * 1024 * 1024;

export function artifactRoutes(deps: AppDeps) {
  const { artifacts } = storageOf(deps);
  const { db, sessions } = deps;
  return new Elysia({ name: "session-artifacts", prefix: "/api/v1/sessions" })
    .use(authMacro)
    .get(
      "/:id/artifacts",
      ({ params, actor }) => {
        visibleSession(db, actor, params.id);
        return { artifacts: artifacts.list(params.id).map((a) => artifacts.toPublic(a)) };
      },
      {
        auth: "viewer",
        params: t.Object({ id: t.String({ maxLength: 64 }) }),
        response: { 200: t.Object({ artifacts: t.Array(ArtifactSchema) }), 404: ErrorSchema },
        detail: { tags: ["artifacts"], summary: "A session's artifacts, oldest first" },
      },
    )
    .get(
      "/:id/artifacts/:artifactId",
      ({ params, actor }) => {
        visibleSession(db, actor, params.id);
        const a = artifacts.get(params.id, params.artifactId);
        return new Response(artifacts.open(a), {
          headers: {
            "content-type": a.contentType,
            "content-length": String(a.size),
            "content-disposition": `attachment; filename="${a.name.replace(/[^A-Za-z0-9._-]/g, "_")}"`,
            "content-security-policy": "sandbox; default-src 'none'",
            "x-checksum-sha256": a.sha256,
          },
        });
      },
      {
        auth: "viewer",
        params: t.Object({ id: t.String({ maxLength: 64 }), artifactId: t.String({ maxLength: 64 }) }),
        detail: { tags: ["artifacts"], summary: "Download one artifact" },
      },
    )
    .post(
      "/:id/screenshot",
      async (ctx) => {
        const { params, body, actor } = ctx;
        const row = visibleSession(db, actor, params.id);
        if (row.status !== "running") throw new Conflict(`Session ${row.id} is ${row.status}; screenshots need a running browser.`, "session_not_running");
        const client = await connectToBrowser(row, sessions.providerOf(row));
        try {
          const { targetInfos } = await client.send<{ targetInfos: { targetId: string; type: string; url: string }[] }>("Target.getTargets");
          const page = targetInfos.find((x) => x.type === "page");
          if (!page) throw new Conflict("The browser has no open page to capture.", "no_page");
          const { sessionId } = await client.send<{ sessionId: string }>("Target.attachToTarget", { targetId: page.targetId, flatten: true });
          const format = body.format ?? "png";
          const shot = await client.send<{ data: string }>(
            "Page.captureScreenshot",
            { format, ...(format === "jpeg" ? { quality: body.quality ?? 80 } : {}), captureBeyondViewport: body.fullPage === true },
            sessionId,
            30_000,
          );
          const bytes = Buffer.from(shot.data, "base64");
          const a = await artifacts.add(row.id, "screenshot", `screenshot-${Date.now()}.${format === "jpeg" ? "jpg" : "png"}`, new Uint8Array(bytes), { maxBytes: MAX_SCREENSHOT_BYTES });
          ctx.set.status = 201;
          return artifacts.toPublic(a);
        } finally {
          client.close();
        }
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
