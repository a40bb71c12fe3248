/**
 * Reading a `results.json` back (as `deno task train` writes it), validated
 * with zod: a missing file, bad JSON or a bad field is an InputError naming
 * the file and the field.
 * @module
 */
import { z } from "zod";
import { InputError, parseInputJson, readInputText } from "../cli/run.ts";
import type { Results } from "./results.ts";

const fraction = z.number().min(0).max(1);
const count = z.number().int().min(0);

/** The schema of `results.json`. */
export const ResultsSchema: z.ZodType<Results> = z.object({
  backbone: z.string().min(1),
  runs: z.array(
    z.object({
      method: z.string().min(1),
      domain: z.string().min(1),
      top1: fraction,
      valTop1: fraction.optional(),
      paramsPerDomain: count,
      trainingBytes: count,
      msPerStep: z.number().min(0),
      flopsPerStep: z.number().min(0),
      epochs: count.optional(),
    }).passthrough(),
  ).min(1),
});

/** Parses the text of `file` as results; throws InputError naming the file and the first bad field. */
export function parseResults(text: string, file: string): Results {
  const r = ResultsSchema.safeParse(parseInputJson(text, file, "results"));
  if (r.success) return r.data;
  const i = r.error.issues[0];
  throw new InputError(file, `results file: ${i.path.join(".") || "(root)"}: ${i.message}`);
}

/** Reads `file` (a `results.json`); throws InputError naming it when it is missing or invalid. */
export async function readResults(file: string): Promise<Results> {
  const text = await readInputText(file, "results", "write it with `deno task train --out DIR`");
  return parseResults(text, file);
}
