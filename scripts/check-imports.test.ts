// The import-rules check on small repositories written to a temp dir (a clean one, and one
// broken fixture per rule), and on the real tree: that last test is the gate that keeps
// src/ free of import circles and of imports against the layer order.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { buildImportGraph, checkImportGraph, describeLayers, type Violation } from "./check-imports";

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A repository with a package.json declaring dockerode and elysia, and the given files. */
function fixture(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "bg-imports-"));
  made.push(root);
  writeFileSync(join(root, "package.json"), JSON.stringify({ dependencies: { dockerode: "5.0.1", elysia: "1.4.30" } }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const GOOD: Record<string, string> = {
  "src/boot.ts": `import { startProvider } from "./providers/docker";\nimport { sessionRoutes } from "./modules/sessions/sessions.routes";\nexport const parts = [startProvider, sessionRoutes];\n`,
  "src/modules/sessions/sessions.routes.ts": `import { Elysia } from "elysia";\nimport { createSession } from "./sessions.service";\nexport const sessionRoutes = new Elysia().post("/", () => createSession());\n`,
  "src/modules/sessions/sessions.service.ts": `import type { Provider } from "../../providers/provider";\nimport { newId } from "../../lib/ids";\nimport { readFileSync } from "node:fs";\nexport function createSession(p?: Provider) { return { id: newId(), p, readFileSync }; }\n`,
  "src/providers/provider.ts": `export interface Provider { start(): Promise<void> }\n`,
  "src/providers/docker.ts": `import Docker from "dockerode";\nimport type { Provider } from "./provider";\nexport const startProvider = (): Provider => ({ start: async () => void new Docker() });\n`,
  "src/lib/ids.ts": `// import { x } from "../modules/sessions/sessions.service"; (a comment, not an import)\nexport const newId = () => crypto.randomUUID();\n`,
  "src/security/tokens.ts": `import { newId } from "../lib/ids";\nexport const token = () => newId();\nexport const later = () => import("../lib/ids");\n`,
};

const violationsOf = (files: Record<string, string>): Violation[] => checkImportGraph(buildImportGraph(fixture(files)));

describe("check-imports on fixtures", () => {
  test("a clean tree has no violation and its layer graph is printed", () => {
    const graph = buildImportGraph(fixture(GOOD));
    expect(checkImportGraph(graph)).toEqual([]);
    expect(graph.files).toHaveLength(7);
    const layers = describeLayers(graph);
    expect(layers).toContain("modules → lib (1), pkg:elysia (1), providers (1)");
    expect(layers).toContain("src → modules (1), providers (1)");
  });

  test("a run-time circle is named file by file", () => {
    const found = violationsOf({
      ...GOOD,
      "src/lib/ids.ts": `import { token } from "../security/tokens";\nexport const newId = () => String(token);\n`,
    });
    expect(found).toEqual([{ rule: "cycle", message: "import circle: src/lib/ids.ts → src/security/tokens.ts → src/lib/ids.ts" }]);
  });

  test("a circle made only of type imports (and a type re-export) is still a circle", () => {
    const found = violationsOf({
      ...GOOD,
      "src/http/context.ts": `import type { SessionService } from "../modules/sessions/sessions.service";\nexport interface Actor { id: string; s?: SessionService }\n`,
      "src/modules/sessions/sessions.service.ts": `export type { Actor } from "../../http/context";\nexport interface SessionService { n: number }\nexport function createSession() { return 1; }\n`,
    });
    expect(found.map((v) => v.rule)).toEqual(["cycle"]);
    expect(found[0]!.message).toContain("src/http/context.ts → src/modules/sessions/sessions.service.ts → src/http/context.ts");
  });

  test("a lower layer importing a higher one is refused, a dynamic import included", () => {
    const found = violationsOf({
      ...GOOD,
      "src/db/client.ts": `export const load = () => import("../cdp/gateway");\n`,
      "src/cdp/gateway.ts": `export const gateway = 1;\n`,
      "src/cdp/session-links.ts": `import type { SessionService } from "../modules/sessions/sessions.service";\nexport type L = SessionService;\n`,
      "src/security/egress.ts": `import { createSession } from "../modules/sessions/sessions.service";\nexport const e = createSession;\n`,
    });
    expect(found).toEqual([
      { rule: "direction", message: "src/cdp/session-links.ts:1 imports src/modules/sessions/sessions.service.ts: src/cdp/ must not import src/modules/" },
      { rule: "direction", message: "src/db/client.ts:1 imports src/cdp/gateway.ts: src/db/ must not import src/cdp/" },
      { rule: "direction", message: "src/security/egress.ts:1 imports src/modules/sessions/sessions.service.ts: src/security/ must not import src/modules/" },
    ]);
  });

  test("dockerode outside src/providers/ is refused, a type-only import too; a test may use it to check what is left", () => {
    const found = violationsOf({
      ...GOOD,
      "src/security/egress.test.ts": `import Docker from "dockerode";\nexport const witness = new Docker();\n`,
      "src/security/egress.ts": `import type Docker from "dockerode";\nexport type E = Docker;\n`,
      "src/modules/sessions/sessions.service.ts": `export const docker = () => import("dockerode");\nexport function createSession() { return 1; }\n`,
    });
    expect(found).toEqual([
      { rule: "dockerode", message: "src/modules/sessions/sessions.service.ts:1 imports dockerode; only src/providers/ may reach the engine" },
      { rule: "dockerode", message: "src/security/egress.ts:1 imports dockerode; only src/providers/ may reach the engine" },
    ]);
  });

  test("the scheduler reads only db/, providers/ and lib/; nothing below it imports it; its tests may build the modules that feed it", () => {
    const found = violationsOf({
      ...GOOD,
      "src/scheduler/scheduler.ts": `import type { Provider } from "../providers/provider";\nimport { newId } from "../lib/ids";\nimport { createSession } from "../modules/sessions/sessions.service";\nexport const acquire = (p?: Provider) => [newId(), p, createSession];\n`,
      "src/scheduler/scheduler.test.ts": `import { acquire } from "./scheduler";\nimport { createSession } from "../modules/sessions/sessions.service";\nexport const t = [acquire, createSession];\n`,
      "src/providers/local.ts": `import type { acquire } from "../scheduler/scheduler";\nexport type A = typeof acquire;\n`,
    });
    expect(found).toEqual([
      { rule: "direction", message: "src/providers/local.ts:1 imports src/scheduler/scheduler.ts: src/providers/ must not import src/scheduler/" },
      { rule: "direction", message: "src/scheduler/scheduler.ts:3 imports src/modules/sessions/sessions.service.ts: src/scheduler/ must not import src/modules/" },
    ]);
  });

  test("what cannot be resolved is a violation, never skipped", () => {
    const found = violationsOf({
      ...GOOD,
      "src/lib/ids.ts": [
        `import { gone } from "./missing";`,
        `import { x } from "left-pad";`,
        `const name = "./ids";`,
        `export const load = () => import(name);`,
        `export const newId = () => String(gone ?? x);`,
      ].join("\n"),
    });
    expect(found).toEqual([
      { rule: "unresolved", message: `src/lib/ids.ts:1 imports "./missing": no such file` },
      { rule: "unresolved", message: `src/lib/ids.ts:2 imports "left-pad": not a file, a built-in module or a package declared in package.json` },
      { rule: "unresolved", message: `src/lib/ids.ts:4 imports "<name>": a non-literal module name cannot be checked` },
    ]);
  });
});

test("the real tree: no import circle, no forbidden direction, dockerode only in src/providers/", () => {
  const graph = buildImportGraph(resolve(import.meta.dir, ".."));
  expect(graph.files.length).toBeGreaterThan(100);
  expect(checkImportGraph(graph).map((v) => `[${v.rule}] ${v.message}`)).toEqual([]);
});
