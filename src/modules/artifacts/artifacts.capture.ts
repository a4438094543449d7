// Screenshots of a running session's first page, stored as artifacts. Taken on a lease of
// BrowserGrid's own CDP link to the browser (src/cdp/session-links.ts; the session's clients
// see nothing of it, and releasing the lease detaches the page it attached to); used by the API
// (POST /api/v1/sessions/:id/screenshot) and the session page's "Take screenshot" button.
import type { AppDeps } from "../../http/context";
import { Conflict } from "../../lib/errors";
import type { SessionRow } from "../sessions/sessions.store";
import { storageOf } from "../profiles/session-storage";
import type { ArtifactRow } from "./artifacts.service";

const MAX_SCREENSHOT_BYTES = 64 * 1024 * 1024;

export interface ScreenshotOptions {
  fullPage?: boolean;
  format?: "png" | "jpeg";
  quality?: number;
}

export async function captureScreenshot(deps: AppDeps, row: SessionRow, opts: ScreenshotOptions = {}): Promise<ArtifactRow> {
  if (row.status !== "running") throw new Conflict(`Session ${row.id} is ${row.status}; screenshots need a running browser.`, "session_not_running");
  const client = await deps.links.link(row.id);
  try {
    const { targetInfos } = await client.send<{ targetInfos: { targetId: string; type: string; url: string }[] }>("Target.getTargets");
    const page = targetInfos.find((x) => x.type === "page");
    if (!page) throw new Conflict("The browser has no open page to capture.", "no_page");
    const { sessionId } = await client.send<{ sessionId: string }>("Target.attachToTarget", { targetId: page.targetId, flatten: true });
    const format = opts.format ?? "png";
    const shot = await client.send<{ data: string }>(
      "Page.captureScreenshot",
      { format, ...(format === "jpeg" ? { quality: opts.quality ?? 80 } : {}), captureBeyondViewport: opts.fullPage === true },
      sessionId,
      30_000,
    );
    const bytes = Buffer.from(shot.data, "base64");
    return await storageOf(deps).artifacts.add(row.id, "screenshot", `screenshot-${Date.now()}.${format === "jpeg" ? "jpg" : "png"}`, new Uint8Array(bytes), { maxBytes: MAX_SCREENSHOT_BYTES });
  } finally {
    client.release();
  }
}
