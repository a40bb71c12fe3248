/**
 * The public surface: `mod.ts` is a curated facade of at most 60 run-time
 * names (plus the types their signatures use), each documented; every subpath
 * export of `deno.json` resolves to a module.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const ROOT = new URL("../", import.meta.url);

/** The symbols `deno doc --json` lists for a module, with their doc text. */
async function documentedSymbols(path: string): Promise<{ name: string; doc: string }[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", path],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const json = JSON.parse(new TextDecoder().decode(out.stdout));
  const [module] = Object.values(json.nodes) as {
    symbols: { name: string; declarations: { jsDoc?: { doc?: string } }[] }[];
  }[];
  return module.symbols.map((s) => ({
    name: s.name,
    doc: s.declarations.map((d) => d.jsDoc?.doc ?? "").join(" ").trim(),
  }));
}

Deno.test("mod.ts exports at most 60 run-time names, each documented, with the types they use", async () => {
  const values = Object.keys(await import("../mod.ts"));
  assert.ok(values.length >= 30, `only ${values.length} names: the facade lost its API`);
  assert.ok(values.length <= 60, `${values.length} run-time names: ${values}`);
  const symbols = await documentedSymbols("mod.ts");
  for (const v of values) assert.ok(symbols.some((s) => s.name === v), `${v} undocumented`);
  assert.deepEqual(symbols.filter((s) => s.doc === "").map((s) => s.name), []);
  for (const name of ["grad", "planGraph", "train", "cpuRuntime", "da3", "resnet20"]) {
    assert.ok(symbols.some((s) => s.name === name), `mod.ts lacks ${name}`);
  }
});

Deno.test("every subpath export of deno.json is a module with exports", async () => {
  const config = JSON.parse(readFileSync(new URL("deno.json", ROOT), "utf8"));
  const exports = Object.entries(config.exports as Record<string, string>);
  assert.ok(exports.length >= 10);
  for (const [subpath, file] of exports) {
    const module = await import(new URL(file, ROOT).href);
    assert.ok(Object.keys(module).length > 0, `${subpath} (${file}) exports nothing`);
  }
});
