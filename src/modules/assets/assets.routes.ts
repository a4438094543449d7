// UI assets embedded in the executable: htmx 2.x (pinned), the stylesheet, the icon and the
// two small scripts of the UI (app.js: live parts, durations, copy; live.js: the live view).
// They are imported as files so `bun build --compile` carries them inside the binary.
import { Elysia } from "elysia";
import htmxPath from "htmx.org/dist/htmx.min.js" with { type: "file" };
import cssPath from "../../../public/app.css" with { type: "file" };
import iconPath from "../../../public/favicon.svg" with { type: "file" };
import appJsPath from "../../../public/app.js" with { type: "file" };
import liveJsPath from "../../../public/live.js" with { type: "file" };

const ASSETS: Record<string, { path: string; type: string }> = {
  "htmx.min.js": { path: htmxPath, type: "text/javascript; charset=utf-8" },
  "app.css": { path: cssPath, type: "text/css; charset=utf-8" },
  "favicon.svg": { path: iconPath, type: "image/svg+xml" },
  "app.js": { path: appJsPath, type: "text/javascript; charset=utf-8" },
  "live.js": { path: liveJsPath, type: "text/javascript; charset=utf-8" },
};

/** Loaded once into memory: a few dozen KiB, served without touching the disk again. */
const cache = new Map<string, ArrayBuffer>();

export async function loadAssets(): Promise<void> {
  for (const [name, a] of Object.entries(ASSETS)) cache.set(name, await Bun.file(a.path).arrayBuffer());
}

export function assetRoutes() {
  return new Elysia({ name: "assets" }).get(
    "/assets/:name",
    async ({ params, set }) => {
      const a = ASSETS[params.name];
      if (!a) {
        set.status = 404;
        return "not found";
      }
      if (!cache.has(params.name)) await loadAssets();
      return new Response(cache.get(params.name)!, {
        headers: { "content-type": a.type, "cache-control": "public, max-age=3600" },
      });
    },
    { detail: { hide: true } },
  );
}

export const ASSET_NAMES = Object.keys(ASSETS);
