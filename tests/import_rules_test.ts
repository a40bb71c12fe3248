/**
 * The package layering of da3, checked on the real import graph: every static
 * import of every module under `lib/` and `kernels/`, resolved to a file.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = normalize(join(dirname(new URL(import.meta.url).pathname), ".."));

/** Every `.ts` file under `dir`, relative to the repository root. */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .sort();
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^"'`;]*?\bfrom\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** The repository-relative files `file` imports (npm:, node: and URLs are left out). */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec.startsWith(".")) continue;
    out.push(relative(ROOT, normalize(join(ROOT, dirname(file), spec))));
  }
  return out;
}

/** The import graph of `lib/` and `kernels/`: file → files it imports. */
function importGraph(): Map<string, string[]> {
  const files = [...sourceFiles("lib"), ...sourceFiles("kernels")];
  return new Map(files.map((f) => [f, importsOf(f, readFileSync(join(ROOT, f), "utf8"))]));
}

const GRAPH = importGraph();

/**
 * A file's package: `lib/x/...` → `lib/x`, `lib/runtime/cpu/...` →
 * `lib/runtime/cpu`, `kernels/...` → `kernels`; files directly in `lib/` or
 * `lib/runtime/` (shared types, the runtime selector) are packages of their own.
 */
function packageOf(file: string): string {
  const parts = file.split("/");
  if (parts[0] === "kernels") return "kernels";
  if (parts[0] !== "lib" || parts.length <= 2) return file;
  if (parts[1] !== "runtime") return `lib/${parts[1]}`;
  return parts.length > 3 ? `lib/runtime/${parts[2]}` : file;
}

/** The edges `from → to` whose packages are `fromPkg` and a package `forbidden` rejects. */
function forbiddenEdges(fromPkg: (p: string) => boolean, forbidden: (p: string) => boolean) {
  const bad: string[] = [];
  for (const [from, tos] of GRAPH) {
    if (!fromPkg(packageOf(from))) continue;
    for (const to of tos) if (forbidden(packageOf(to))) bad.push(`${from} → ${to}`);
  }
  return bad;
}

const own = (pkg: string) => (p: string) => p === pkg;
const isRuntime = (p: string) => p.startsWith("lib/runtime");

Deno.test("every relative import resolves to a file of the repository", () => {
  const missing: string[] = [];
  for (const [from, tos] of GRAPH) {
    for (const to of tos) {
      try {
        readFileSync(join(ROOT, to));
      } catch {
        missing.push(`${from} → ${to}`);
      }
    }
  }
  assertEquals(missing, []);
  // The scanner itself sees imports: lib/autodiff reads lib/graph.
  assertEquals(
    [...GRAPH].some(([f, tos]) =>
      f.startsWith("lib/autodiff/") && tos.some((t) => t.startsWith("lib/graph/"))
    ),
    true,
  );
});

Deno.test("lib/graph imports no other da3 folder", () => {
  assertEquals(forbiddenEdges(own("lib/graph"), (p) => p !== "lib/graph"), []);
});

Deno.test("lib/autodiff imports only lib/graph", () => {
  assertEquals(
    forbiddenEdges(own("lib/autodiff"), (p) => p !== "lib/autodiff" && p !== "lib/graph"),
    [],
  );
});

Deno.test("lib/plan never imports a runtime or kernels", () => {
  assertEquals(forbiddenEdges(own("lib/plan"), (p) => isRuntime(p) || p === "kernels"), []);
});

Deno.test("lib/gating never imports lib/train", () => {
  assertEquals(forbiddenEdges(own("lib/gating"), own("lib/train")), []);
});

Deno.test("kernels/ is imported only by the WebGPU runtime", () => {
  assertEquals(
    forbiddenEdges((p) => p !== "kernels" && p !== "lib/runtime/webgpu", own("kernels")),
    [],
  );
});

Deno.test("lib/models and lib/adapt build graphs without runtimes, plans or training", () => {
  const low = (p: string) => p === "lib/models" || p === "lib/adapt";
  assertEquals(
    forbiddenEdges(
      low,
      (p) => isRuntime(p) || p === "lib/plan" || p === "lib/train" || p === "kernels",
    ),
    [],
  );
});

/** The import cycles of the file graph, each as the files of one strongly connected component. */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

Deno.test("the cycle finder finds a planted cycle", () => {
  const g = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
  assertEquals(cycles(g), [["a", "b", "c"]]);
});

Deno.test("no import cycles among da3's files", () => {
  assertEquals(cycles(GRAPH), []);
});

Deno.test("no import cycles among da3's packages", () => {
  const pkgGraph = new Map<string, string[]>();
  for (const [from, tos] of GRAPH) {
    const p = packageOf(from);
    const targets = pkgGraph.get(p) ?? [];
    for (const to of tos) {
      const q = packageOf(to);
      if (q !== p && !targets.includes(q)) targets.push(q);
    }
    pkgGraph.set(p, targets);
  }
  assertEquals(cycles(pkgGraph), []);
});
