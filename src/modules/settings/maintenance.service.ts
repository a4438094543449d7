// Maintenance mode: an admin switch and scheduled windows. While one is active new sessions get
// 503 with the message, running sessions finish, and /readyz says not ready (a load balancer
// stops sending new work). Kept in the settings table under one key.
import type { Db } from "../../db/client";
import { BadRequest } from "../../lib/errors";
import { getSetting, setSetting } from "./settings.service";

export interface MaintenanceWindow {
  start: string;
  end: string;
  message?: string;
}

export interface Maintenance {
  enabled: boolean;
  message: string;
  windows: MaintenanceWindow[];
}

const KEY = "maintenance";
const DEFAULT_MESSAGE = "BrowserGrid is under maintenance; new sessions are refused for now.";
const EMPTY: Maintenance = { enabled: false, message: DEFAULT_MESSAGE, windows: [] };

export function getMaintenance(db: Db): Maintenance {
  return { ...EMPTY, ...(getSetting<Maintenance>(db, KEY) ?? {}) };
}

export function setMaintenance(db: Db, input: Partial<Maintenance>): Maintenance {
  const next = { ...getMaintenance(db), ...input };
  for (const w of next.windows) {
    const start = Date.parse(w.start);
    const end = Date.parse(w.end);
    if (Number.isNaN(start) || Number.isNaN(end)) throw new BadRequest("Each window needs ISO 8601 start and end times (e.g. 2030-01-31T22:00:00Z).");
    if (end <= start) throw new BadRequest(`A window must end after it starts (${w.start} → ${w.end}).`);
  }
  // Windows that are over are dropped on every save, so the list stays short.
  next.windows = next.windows.filter((w) => Date.parse(w.end) > Date.now()).sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  setSetting(db, KEY, next);
  return next;
}

/** The active maintenance (switch or window), or null. */
export function activeMaintenance(db: Db, now = Date.now()): { message: string; until: string | null } | null {
  const m = getSetting<Maintenance>(db, KEY);
  if (!m) return null;
  if (m.enabled) return { message: m.message || DEFAULT_MESSAGE, until: null };
  for (const w of m.windows ?? []) if (Date.parse(w.start) <= now && now < Date.parse(w.end)) return { message: w.message || m.message || DEFAULT_MESSAGE, until: w.end };
  return null;
}
