// The "which pools does this worker serve" part of the Workers page: one fieldset (an "all
// pools" box and a box per pool) used by the add form and by each worker's own form, and the
// reading of what it posts. Nothing ticked is refused, as in the API: drain a worker instead.
import { t } from "elysia";
import { html, type SafeHtml } from "../../../views/html";
import type { Db } from "../../db/client";
import { BadRequest } from "../../lib/errors";
import { listPools } from "../pools/pools.service";
import { MAX_WORKER_POOLS, resolvePoolNames, type PoolSet } from "./worker-pools";

/** Form fields: `allPools=on`, and `pools` once per ticked pool (a string, or an array when several). */
export const PoolsFormFields = {
  allPools: t.Optional(t.String({ maxLength: 3 })),
  pools: t.Optional(t.Union([t.String({ maxLength: 63 }), t.Array(t.String({ maxLength: 63 }), { maxItems: MAX_WORKER_POOLS })])),
};

/** What the ticked boxes say, as names ("all" or a list; never empty). */
export function poolNamesFromForm(body: { allPools?: string; pools?: string | string[] }): "all" | string[] {
  if (body.allPools) return "all";
  const names = body.pools === undefined ? [] : Array.isArray(body.pools) ? body.pools : [body.pools];
  if (names.length === 0) throw new BadRequest('Tick "All pools" or at least one pool. To stop sending a worker sessions, drain it.', "no_pools");
  return names;
}

export function poolSetFromForm(db: Db, body: { allPools?: string; pools?: string | string[] }): PoolSet {
  return resolvePoolNames(db, poolNamesFromForm(body));
}

/** `selected`: the names served now ("all" or a list). `id` keeps the boxes of several forms apart. */
export function poolsFieldset(db: Db, id: string, selected: "all" | readonly string[], error?: string): SafeHtml {
  const all = selected === "all";
  const box = (name: string, value: string, label: string, checked: boolean, i: number) =>
    html`<label class="check" for="${id}-${i}"><input id="${id}-${i}" type="checkbox" name="${name}" value="${value}"${checked ? html` checked` : ""}> ${label}</label>`;
  return html`<fieldset class="field" id="${id}" aria-describedby="${id}-hint${error ? ` ${id}-error` : ""}"${error ? html` aria-invalid="true"` : ""}><legend>Pools it serves</legend>
${box("allPools", "on", "All pools (pools created later too)", all, 0)}
${listPools(db).map((p, i) => box("pools", p.name, p.name, !all && selected.includes(p.name), i + 1))}
<p class="hint" id="${id}-hint">Ticked pools are ignored while "All pools" is ticked. Its capacity is shared by the pools it serves.</p>
${error ? html`<p class="error" id="${id}-error">${error}</p>` : ""}</fieldset>`;
}
