// POST /api/v1/sessions/:id/uploads — puts one file into a running session's browser, for
// <input type=file> (CDP DOM.setFileInputFiles with the answered path). Only the session's owner
// or an admin: a file in someone's browser is input to their page.
import { Elysia, t } from "elysia";
import type { AppDeps } from "../../http/context";
import { authMacro, requestIp } from "../../http/plugins/auth";
import { strictObject } from "../../http/strict-object";
import { DomainError } from "../../lib/errors";
import { audit } from "../audit/audit.service";
import { visibleSession } from "../sessions/sessions.routes";
import { ErrorSchema } from "../users/users.schema";
import { uploadToSession } from "./uploads.service";
import { PLAIN_FILE_NAME } from "../../providers/tar-entry";

class LengthRequired extends DomainError {
  constructor() {
    super("length_required", "Send the file as the request body with a Content-Length header (chunked uploads are not accepted).", 411);
  }
}

/** The body as it streams; a client that sends more than it declared is cut off by the archive builder. */
async function* bodyChunks(request: Request): AsyncGenerator<Uint8Array> {
  if (!request.body) return;
  const reader = request.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

export function uploadRoutes(deps: AppDeps) {
  return new Elysia({ name: "session-uploads", prefix: "/api/v1/sessions" }).use(authMacro).post(
    "/:id/uploads",
    async (ctx) => {
      const { params, query, request, actor } = ctx;
      // Members reach only their own sessions, admins every one; viewers are refused by `auth`.
      const row = visibleSession(deps.db, actor, params.id);
      const length = request.headers.get("content-length");
      if (length === null || !/^\d{1,12}$/.test(length) || request.headers.has("transfer-encoding")) throw new LengthRequired();
      const file = await uploadToSession(deps, row, { name: query.name, size: Number(length), body: bodyChunks(request) });
      audit(deps, actor, "session.upload", row.id, { name: file.name, size: file.size }, requestIp(ctx));
      ctx.set.status = 201;
      return file;
    },
    {
      auth: "member",
      parse: "none",
      params: t.Object({ id: t.String({ maxLength: 64 }) }),
      query: strictObject({
        name: t.String({ minLength: 1, maxLength: 100, pattern: PLAIN_FILE_NAME.source, description: "Plain file name (no path, no \"..\"); an existing upload of that name is replaced" }),
      }),
      response: {
        201: t.Object({
          name: t.String(),
          path: t.String({ description: "Path inside the browser: pass it to CDP DOM.setFileInputFiles (Playwright: setInputFiles on a remote browser)" }),
          size: t.Number(),
        }),
        400: ErrorSchema,
        404: ErrorSchema,
        409: ErrorSchema,
        411: ErrorSchema,
        413: ErrorSchema,
      },
      detail: {
        tags: ["sessions"],
        summary: "Upload a file into a running session's browser",
        requestBody: { required: false, description: "The file; an empty body makes an empty file", content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } },
        description:
          "The raw request body is the file (any content type; Content-Length required). It lands in the browser's uploads directory as `name`, the only place DOM.setFileInputFiles may name. Size: up to the pool's `storageMb` for one file and for all of a session's uploads together (413 past it). Only the session's owner or an admin.",
      },
    },
  );
}
