// The import-rules check: reads every import of every `src/**/*.ts` file (static, type-only,
// re-exports, `import("…")`, `require("…")`), resolves it, and refuses
//   (a) any import circle, type-only imports included: a circle means no file in it can be
//       read or tested alone;
//   (b) imports against the layer order: providers/, db/ and lib/ never import modules/, http/,
//       cdp/ or scheduler/; scheduler/ imports only db/, providers/ and lib/ (what it needs of
//       the modules — pools, workers — boot.ts hands it by interface); security/ and cdp/ never
//       import modules/ (the gateway and the session links get what they need of sessions by
//       interface); only providers/ imports dockerode (the engine is reached through the provider
//       interface, nowhere else). Tests (`*.test.ts`) may import dockerode: they ask the engine
//       itself whether what the code under test started is gone, a witness independent of the
//       provider. Tests of the scheduler may import modules/: they drive it through the session
//       service and the catalog boot.ts builds. Every other rule holds for tests.
// Default-deny: a specifier it cannot resolve to a file or to a declared package (or a
// non-literal `import(x)`) is a violation, never skipped. Test helpers outside src/ are not read.
// Run: `bun scripts/check-imports.ts` (exit 1 on a violation). `checkImportGraph` is the pure
// part its test drives.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, posix, relative, resolve, sep } from "node:path";
import ts from "typescript";

/** One import as written in a file. `target` is the repo-relative file it resolves to, or the
 *  package name for a package; `unresolved` says why neither was found. */
export interface ImportEdge {
  from: string;
  specifier: string;
  line: number;
  typeOnly: boolean;
  target?: { kind: "file"; path: string } | { kind: "package"; name: string } | { kind: "builtin" };
  unresolved?: string;
}

/** Repo-relative POSIX paths of the files read, and every import they make. */
export interface ImportGraph {
  files: string[];
  edges: ImportEdge[];
}

export interface Violation {
  rule: "cycle" | "direction" | "dockerode" | "unresolved";
  message: string;
}

/** Layers that must not import the listed layers (top-level folders under src/); `testsExempt`: the rule binds only non-test files. */
const FORBIDDEN_DIRECTIONS: { from: string[]; to: string[]; testsExempt?: boolean }[] = [
  { from: ["providers", "db", "lib"], to: ["modules", "http", "cdp", "scheduler"] },
  { from: ["scheduler"], to: ["modules", "http", "cdp", "security", "storage", "cli"], testsExempt: true },
  { from: ["security"], to: ["modules"] },
  { from: ["cdp"], to: ["modules"] },
];
const ENGINE_CLIENT = "dockerode";
const ENGINE_LAYER = "providers";

/** The layer of a repo-relative path: the top-level folder under src/ ("src" for src/*.ts),
 *  or the first folder for files outside src/ (views, test, migrations, …). */
export function layerOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] !== "src") return parts.length > 1 ? parts[0]! : ".";
  return parts.length > 2 ? parts[1]! : "src";
}

/** The pure check: graph in, violations out (empty when the tree is clean). */
export function checkImportGraph(graph: ImportGraph): Violation[] {
  const violations: Violation[] = [];
  for (const edge of graph.edges) {
    const at = `${edge.from}:${edge.line}`;
    if (edge.unresolved || !edge.target) {
      violations.push({ rule: "unresolved", message: `${at} imports "${edge.specifier}": ${edge.unresolved ?? "not resolved"}` });
      continue;
    }
    const fromLayer = layerOf(edge.from);
    if (edge.target.kind === "package" && edge.target.name === ENGINE_CLIENT && fromLayer !== ENGINE_LAYER && !edge.from.endsWith(".test.ts")) {
      violations.push({ rule: "dockerode", message: `${at} imports ${ENGINE_CLIENT}; only src/${ENGINE_LAYER}/ may reach the engine` });
    }
    if (edge.target.kind !== "file" || !edge.target.path.startsWith("src/")) continue;
    const toLayer = layerOf(edge.target.path);
    for (const rule of FORBIDDEN_DIRECTIONS) {
      if (rule.testsExempt && edge.from.endsWith(".test.ts")) continue;
      if (rule.from.includes(fromLayer) && rule.to.includes(toLayer)) {
        violations.push({ rule: "direction", message: `${at} imports ${edge.target.path}: src/${fromLayer}/ must not import src/${toLayer}/` });
      }
    }
  }
  for (const { circle, group } of findCycles(graph)) {
    const tied = group.length > circle.length ? ` (one of the circles tying ${group.length} files: ${group.join(", ")})` : "";
    violations.push({ rule: "cycle", message: `import circle: ${[...circle, circle[0]].join(" → ")}${tied}` });
  }
  return violations;
}

/** Every strongly connected group of files (Tarjan) with one concrete circle in it, shortest
 *  from the group's first file, so each message names files that import each other in order. */
export function findCycles(graph: ImportGraph): { group: string[]; circle: string[] }[] {
  const next = new Map<string, Set<string>>();
  for (const file of graph.files) next.set(file, new Set());
  for (const edge of graph.edges) {
    if (edge.target?.kind === "file" && next.has(edge.target.path)) next.get(edge.from)?.add(edge.target.path);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let counter = 0;
  const visit = (file: string): void => {
    index.set(file, counter);
    low.set(file, counter++);
    stack.push(file);
    onStack.add(file);
    for (const to of next.get(file) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(file, Math.min(low.get(file)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(file, Math.min(low.get(file)!, index.get(to)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== file);
    if (group.length > 1 || next.get(file)!.has(file)) groups.push(group.sort());
  };
  for (const file of [...next.keys()].sort()) if (!index.has(file)) visit(file);
  return groups.map((group) => ({ group, circle: shortestCircle(group[0]!, new Set(group), next) }));
}

function shortestCircle(start: string, group: Set<string>, next: Map<string, Set<string>>): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const to of [...(next.get(file) ?? [])].sort()) {
      if (!group.has(to)) continue;
      if (to === start) {
        const path = [file];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0]!)!);
        return path;
      }
      if (!cameFrom.has(to)) {
        cameFrom.set(to, file);
        queue.push(to);
      }
    }
  }
  return [start];
}

/** "layer → layer (count)" lines: what the check looked at, for the log. */
export function describeLayers(graph: ImportGraph): string[] {
  const counts = new Map<string, Map<string, number>>();
  for (const edge of graph.edges) {
    if (!edge.target) continue;
    const to = edge.target.kind === "file" ? layerOf(edge.target.path) : edge.target.kind === "package" ? `pkg:${edge.target.name}` : null;
    const from = layerOf(edge.from);
    if (to === null || to === from) continue;
    const row = counts.get(from) ?? new Map<string, number>();
    row.set(to, (row.get(to) ?? 0) + 1);
    counts.set(from, row);
  }
  return [...counts.keys()].sort().map((from) => {
    const targets = [...counts.get(from)!].sort(([a], [b]) => a.localeCompare(b)).map(([to, n]) => `${to} (${n})`);
    return `${from} → ${targets.join(", ")}`;
  });
}

/** Every import a file's text makes, in source order. Parsed with the TypeScript parser, so
 *  imports inside comments or strings are not counted and none written in code is missed. A
 *  non-literal module name comes back as `<expression>`, which no resolver accepts. */
export function readImports(file: string, text: string): Omit<ImportEdge, "target" | "unresolved">[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: (Omit<ImportEdge, "target" | "unresolved"> & { literal: boolean })[] = [];
  const lineOf = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const add = (node: ts.Node, spec: ts.Expression | undefined, typeOnly: boolean) => {
    const literal = spec !== undefined && ts.isStringLiteralLike(spec);
    found.push({ from: file, specifier: literal ? spec.text : (spec?.getText(source) ?? ""), line: lineOf(node), typeOnly, literal });
  };
  const walk = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node, node.moduleSpecifier, node.importClause?.isTypeOnly ?? false);
    else if (ts.isExportDeclaration(node) && node.moduleSpecifier) add(node, node.moduleSpecifier, node.isTypeOnly);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node, node.moduleReference.expression, node.isTypeOnly);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal as ts.Expression, true);
    else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === "require"))) {
      add(node, node.arguments[0], false);
    }
    ts.forEachChild(node, walk);
  };
  walk(source);
  return found.map(({ literal, ...edge }) => (literal ? edge : { ...edge, specifier: `<${edge.specifier}>` }));
}

const SOURCE_EXTENSIONS = ["", ".ts", ".tsx", "/index.ts", "/index.tsx"];

/** Resolves one specifier written in `from` (repo-relative) under `root`. */
export function resolveImport(root: string, from: string, specifier: string, packages: Set<string>): Pick<ImportEdge, "target" | "unresolved"> {
  if (specifier.startsWith("<")) return { unresolved: "a non-literal module name cannot be checked" };
  if (specifier.startsWith(".") || specifier.startsWith("/")) {
    const base = resolve(root, posix.dirname(from), specifier);
    for (const extension of SOURCE_EXTENSIONS) {
      const candidate = base + extension;
      if (existsSync(candidate) && statSync(candidate).isFile()) {
        const path = relative(root, candidate).split(sep).join("/");
        if (path.startsWith("..")) return { unresolved: "resolves outside the repository" };
        return { target: { kind: "file", path } };
      }
    }
    return { unresolved: "no such file" };
  }
  if (specifier === "bun" || specifier.startsWith("bun:") || specifier.startsWith("node:") || builtinModules.includes(specifier)) {
    return { target: { kind: "builtin" } };
  }
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
  if (packages.has(name)) return { target: { kind: "package", name } };
  return { unresolved: "not a file, a built-in module or a package declared in package.json" };
}

function sourceFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...sourceFiles(root, path));
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out.sort();
}

/** The graph of a repository on disk: every `src/**\/*.ts` file and its resolved imports. */
export function buildImportGraph(root: string): ImportGraph {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;
  const packages = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})]);
  const files = sourceFiles(root, "src");
  const edges = files.flatMap((file) =>
    readImports(file, readFileSync(join(root, file), "utf8")).map((edge) => ({ ...edge, ...resolveImport(root, file, edge.specifier, packages) })),
  );
  return { files, edges };
}

if (import.meta.main) {
  const root = resolve(import.meta.dir, "..");
  const graph = buildImportGraph(root);
  console.log(`import graph: ${graph.files.length} files under src/, ${graph.edges.length} imports; layers (folder → folders it imports):`);
  for (const line of describeLayers(graph)) console.log(`  ${line}`);
  const violations = checkImportGraph(graph);
  for (const violation of violations) console.error(`✗ [${violation.rule}] ${violation.message}`);
  if (violations.length > 0) {
    console.error(`${violations.length} import-rule violation(s)`);
    process.exit(1);
  }
  console.log("import rules: no circle, no forbidden direction (src/scheduler/ only over db/, providers/, lib/; cdp/ and security/ never over modules/), dockerode only in src/providers/");
}
