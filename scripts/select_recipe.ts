/**
 * Picks, per method, the recipe with the best mean validation top-1 among
 * the `results.json` of runs with different recipes (e.g. one `deno task
 * train` run continued with `--resume --epochs N`, or another knob; the
 * earlier-listed wins a tie), and writes the chosen runs as
 * `results.{json,md,svg}` plus `selection.md` (the validation figure of
 * every candidate) to `--out`. Test accuracy plays no part in the choice.
 *
 * deno task select --from "5 epochs=runs/a/results.e5.json,10 epochs=runs/a/results.e10.json" --out results/x
 * @module
 */
import { z } from "zod";
import { type FlagSpecs, parseFlags } from "../lib/cli/flags.ts";
import { EXIT_CODES_HELP, runCli } from "../lib/cli/run.ts";
import { readResults } from "../lib/train/results_file.ts";
import { resultsTable, validationTable } from "../lib/train/results.ts";
import { writeResults } from "../lib/train/run.ts";
import { selectByValidation, selectionTable } from "../lib/train/select.ts";

const USAGE =
  `usage: deno task select --from [label=]results.json,[label=]results.json,... --out DIR
  (a label names the candidate's recipe in selection.md; default its path)
${EXIT_CODES_HELP}`;

const FLAGS = {
  from: { type: "string" },
  out: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies FlagSpecs;

const SelectFlags = z.object({
  from: z.string().transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean)).pipe(
    z.array(z.string()).min(1),
  ).optional(),
  out: z.string().min(1).optional(),
  help: z.boolean().default(false),
});

async function main(argv: readonly string[]): Promise<void> {
  const values = parseFlags(argv, FLAGS, SelectFlags);
  if (values.help || !values.from || !values.out) return console.log(USAGE);
  const candidates = [];
  for (const entry of values.from) {
    const at = entry.indexOf("=");
    const [label, file] = at > 0 ? [entry.slice(0, at), entry.slice(at + 1)] : [entry, entry];
    candidates.push({ label, results: await readResults(file) });
  }
  const selection = selectByValidation(candidates);
  await Deno.mkdir(values.out, { recursive: true });
  await writeResults(values.out, selection.results);
  const table = selectionTable(selection);
  await Deno.writeTextFile(`${values.out}/selection.md`, table + "\n");
  console.log(
    `${table}\n\n${resultsTable(selection.results)}\n\n${validationTable(selection.results)}\n\n` +
      `written: ${values.out}/results.{json,md,svg}, ${values.out}/selection.md`,
  );
}

if (import.meta.main) await runCli("select", main);
