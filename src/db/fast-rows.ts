// Hot-path reads without the query builder. drizzle's builder re-renders the SQL and bun:sqlite
// re-prepares the statement on every call (≈ 100–230 µs for a one-row select here, measured in
// bench/api.ts); a statement from `$client.query()` is compiled once and cached by its SQL text
// (≈ 1–10 µs). The row mapping is derived from the drizzle table, so rows come back exactly as
// `db.select().from(table)` returns them (camelCase keys, JSON and boolean columns decoded) and a
// column added to the schema is picked up without touching this file.
import { getTableColumns, getTableName, type Table } from "drizzle-orm";

export interface RowMapper<Row> {
  /** `"col_a", "col_b", …` in the table's column order. */
  columns: string;
  /** Maps one row from `.values()` (an array in `columns` order). */
  map(values: unknown[]): Row;
}

// One description per table, derived from the drizzle columns: how each value is decoded from
// and encoded for SQLite. Plain text and integer columns pass as they are; JSON and boolean
// columns go through drizzle's own mapping, so rows and writes match the builder's.
type ColumnInfo = {
  key: string;
  name: string;
  decode: ((v: unknown) => unknown) | null;
  encode: ((v: unknown) => unknown) | null;
  defaultFn: (() => unknown) | null;
};
const columnInfos = new WeakMap<Table, ColumnInfo[]>();

function columnsOf(table: Table): ColumnInfo[] {
  let cols = columnInfos.get(table);
  if (cols) return cols;
  cols = Object.entries(getTableColumns(table)).map(([key, col]) => {
    const c = col as unknown as { name: string; columnType: string; mapFromDriverValue(v: unknown): unknown; mapToDriverValue(v: unknown): unknown; defaultFn?: () => unknown };
    const plain = c.columnType === "SQLiteText" || c.columnType === "SQLiteInteger";
    return { key, name: c.name, decode: plain ? null : (v) => c.mapFromDriverValue(v), encode: plain ? null : (v) => c.mapToDriverValue(v), defaultFn: c.defaultFn ?? null };
  });
  columnInfos.set(table, cols);
  return cols;
}

const cache = new WeakMap<Table, RowMapper<unknown>>();

export function rowMapper<T extends Table>(table: T): RowMapper<T["$inferSelect"]> {
  let m = cache.get(table) as RowMapper<T["$inferSelect"]> | undefined;
  if (m) return m;
  const cols = columnsOf(table);
  m = {
    columns: cols.map((c) => `"${c.name}"`).join(", "),
    map(values) {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < cols.length; i++) {
        const c = cols[i]!;
        const v = values[i];
        row[c.key] = v === null || v === undefined || c.decode === null ? (v ?? null) : c.decode(v);
      }
      return row as T["$inferSelect"];
    },
  };
  cache.set(table, m as RowMapper<unknown>);
  return m;
}

// Writes on the session hot path (a warm claim, a state change) go the same way: the builder
// cost ≈ 150–350 µs per statement, a cached statement ≈ 10–30 µs. A key left out, or undefined,
// takes the column's SQL default (or its $defaultFn), as with the builder.
type SqlValue = string | number | bigint | boolean | null | Uint8Array;
type Writer = { query(sql: string): { values(...params: SqlValue[]): unknown[][]; run(...params: SqlValue[]): unknown } };

/** The columns and encoded values of `values` (undefined keys dropped, $defaultFn applied). */
function assignments(table: Table, values: Record<string, unknown>): { names: string[]; params: SqlValue[] } {
  const columns = columnsOf(table);
  for (const k of Object.keys(values)) if (!columns.some((c) => c.key === k)) throw new Error(`${getTableName(table)} has no column "${k}"`);
  const names: string[] = [];
  const params: SqlValue[] = [];
  for (const c of columns) {
    let v = values[c.key];
    if (v === undefined && c.defaultFn) v = c.defaultFn();
    if (v === undefined) continue;
    names.push(`"${c.name}"`);
    params.push((v === null || c.encode === null ? v : c.encode(v)) as SqlValue);
  }
  return { names, params };
}

/** `db.insert(table).values(values).returning().get()`, on a cached statement. */
export function insertReturning<T extends Table>(client: Writer, table: T, values: T["$inferInsert"]): T["$inferSelect"] {
  const m = rowMapper(table);
  const { names, params } = assignments(table, values as Record<string, unknown>);
  const sql = `INSERT INTO "${getTableName(table)}" (${names.join(", ")}) VALUES (${names.map(() => "?").join(", ")}) RETURNING ${m.columns}`;
  return m.map(client.query(sql).values(...params)[0]!);
}

/**
 * `db.select().from(table).where(…)` on a cached statement, for reads on the session hot path
 * (pools, workers, settings, warm browsers). `where` and `tail` (ORDER BY …) are SQL text with
 * `?` for `params`; keep the number of distinct texts small.
 */
export function selectRows<T extends Table>(client: Writer, table: T, where: string, params: SqlValue[] = [], tail = ""): T["$inferSelect"][] {
  const m = rowMapper(table);
  return client
    .query(`SELECT ${m.columns} FROM "${getTableName(table)}" WHERE ${where}${tail ? ` ${tail}` : ""}`)
    .values(...params)
    .map(m.map);
}

/**
 * `UPDATE table SET … WHERE <where> RETURNING *` on a cached statement: the updated row, or
 * undefined when no row matched. `where` is SQL text with `?` for `whereParams` (keep the
 * number of distinct texts small: each is compiled once and kept).
 */
export function updateReturning<T extends Table>(client: Writer, table: T, set: Partial<T["$inferInsert"]>, where: string, whereParams: SqlValue[]): T["$inferSelect"] | undefined {
  const m = rowMapper(table);
  const { names, params } = assignments(table, set as Record<string, unknown>);
  const sql = `UPDATE "${getTableName(table)}" SET ${names.map((n) => `${n} = ?`).join(", ")} WHERE ${where} RETURNING ${m.columns}`;
  const v = client.query(sql).values(...params, ...whereParams)[0];
  return v ? m.map(v) : undefined;
}

/** How long another connection's commit may stay unseen by cached reads (see dataGeneration). */
export const OTHER_WRITERS_WINDOW_MS = 1;

type Client = { query(sql: string): { values(): unknown[][] } };
const dataVersions = new WeakMap<object, { at: number; v: unknown }>();

/**
 * A value that changes whenever the database may have changed: this connection's writes
 * (total_changes(), ≈ 0.5 µs to ask, always exact) and commits by any other connection, e.g. a
 * CLI command (data_version). Asking data_version opens a read transaction — two file-lock
 * syscalls, ≈ 5 µs, the largest cost of a cached read — so it is asked at most once per
 * OTHER_WRITERS_WINDOW_MS: another process's commit reaches cached reads within 1 ms, as if
 * the read had come that much earlier. Cached reads are otherwise exactly what a new read returns.
 */
export function dataGeneration(client: Client): string {
  const now = performance.now();
  let d = dataVersions.get(client);
  if (!d || now - d.at >= OTHER_WRITERS_WINDOW_MS) {
    const v = client.query("SELECT data_version FROM pragma_data_version").values()[0]![0];
    if (d) (d.at = now), (d.v = v);
    else dataVersions.set(client, (d = { at: now, v }));
  }
  return `${client.query("SELECT total_changes()").values()[0]![0]}:${d.v}`;
}

/**
 * Remembers rows per key for as long as the database generation stays the same. Rows are
 * frozen: a cached row is shared by every reader, so nobody may change it in place.
 */
export class GenerationCache<Row> {
  private entries = new Map<string, { generation: string; rows: readonly Row[] }>();

  constructor(private max = 256) {}

  get(key: string, generation: string, read: () => Row[], inTransaction = false): readonly Row[] {
    // Inside a transaction a read may see writes that are rolled back later, which would leave
    // them cached under a generation that does not move back: such reads bypass the cache.
    if (inTransaction) return read();
    const hit = this.entries.get(key);
    if (hit && hit.generation === generation) return hit.rows;
    const rows = read();
    for (const r of rows) Object.freeze(r);
    if (this.entries.size >= this.max && !hit) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { generation, rows });
    return rows;
  }
}
