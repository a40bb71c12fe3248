/**
 * The files a training run writes in its output folder, and removing the
 * temporaries a killed write left there (only of those names, never another
 * file).
 * @module
 */
import { basename, dirname, join } from "node:path";
import { temporaryTarget } from "../io/atomic.ts";

/** The checkpoint paths of one (method, domain) run in `out`. */
export function checkpointPaths(
  out: string,
  method: string,
  domain: string,
): { readonly epoch: string; readonly final: string } {
  const stem = join(out, `${method}-${domain}`);
  return { epoch: `${stem}.epoch.safetensors`, final: `${stem}.safetensors` };
}

/** The names of the results files a run writes. */
export const RESULT_FILES: readonly string[] = ["results.json", "results.md", "results.svg"];

/** True for a file name a training run writes: a checkpoint `<method>-<domain>[.epoch].safetensors` or a results file. */
export function isRunFileName(name: string): boolean {
  return RESULT_FILES.includes(name) ||
    /^[A-Za-z0-9_][A-Za-z0-9_.]*-[A-Za-z0-9_.-]+\.safetensors$/.test(name);
}

/**
 * Removes the temporaries of atomic writes of run files in `dir`
 * (`.<run file>.<uuid>.tmp`), which only a killed write leaves; returns
 * their names. Nothing else is touched; a missing `dir` has none.
 */
export async function removeStaleTemporaries(dir: string): Promise<string[]> {
  const removed: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const target = temporaryTarget(e.name);
      if (!e.isFile || target === undefined || !isRunFileName(target)) continue;
      await Deno.remove(join(dir, e.name));
      removed.push(e.name);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return removed.sort();
}

/**
 * Removes the temporaries that killed atomic writes of `paths` left
 * (`.<name>.<uuid>.tmp` beside each); returns their names.
 */
export async function removeStaleTemporariesOf(paths: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of new Set(paths.map(dirname))) {
    const names = new Set(paths.filter((p) => dirname(p) === dir).map((p) => basename(p)));
    try {
      for await (const e of Deno.readDir(dir)) {
        const target = temporaryTarget(e.name);
        if (!e.isFile || target === undefined || !names.has(target)) continue;
        await Deno.remove(join(dir, e.name));
        removed.push(e.name);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return removed.sort();
}
