/**
 * Sweeps DA³ gating settings (exact bounds and calibrated τ) on target
 * domains and writes `sweep.md` (table), `sweep.svg` (top-1 vs measured
 * speed-up) and `sweep.json` to `--out`.
 *
 * deno task gating-sweep --domains fashion,letters
 *   [--taus 0,0.25,0.5,1,2] [--limit 500] [--backbone models/backbone.safetensors]
 *   [--runs results/gating] [--out results/gating]
 *
 * Checkpoints are read from `<runs>/da3-<domain>.safetensors`, as `deno task train
 * --method da3 --gate-sparsity λ --out <runs>` writes them.
 * @module
 */
import { z } from "zod";
import { type FlagSpecs, parseFlags } from "../lib/cli/flags.ts";
import { EXIT_CODES_HELP, requireFile, runCli } from "../lib/cli/run.ts";
import { DOMAINS } from "../lib/data/domains.ts";
import {
  calibrateGates,
  formatGatingMode,
  type GatingMode,
  measureGating,
  planGating,
  setupDomain,
  type SweepRow,
  sweepSvg,
  sweepTable,
} from "../lib/gating/mod.ts";

const USAGE = `usage: deno task gating-sweep [--domains fashion,letters] [--taus 0,0.25,0.5,1,2]
  [--limit 500] [--calibration 300] [--backbone models/backbone.safetensors]
  [--runs results/gating] [--out results/gating]
${EXIT_CODES_HELP}`;

const FLAGS = {
  domains: { type: "string" },
  taus: { type: "string" },
  limit: { type: "string" },
  calibration: { type: "string" },
  backbone: { type: "string" },
  runs: { type: "string" },
  out: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies FlagSpecs;

const csv = (v: string) => v.split(",").map((s) => s.trim()).filter(Boolean);

const SweepFlags = z.object({
  domains: z.string().default("fashion,letters").transform(csv).pipe(
    z.array(z.enum(DOMAINS.map((d) => d.name) as [string, ...string[]])).min(1),
  ),
  taus: z.string().default("0,0.25,0.5,1,2").transform(csv).pipe(
    z.array(z.string().transform(Number).pipe(z.number().min(0))),
  ),
  limit: z.coerce.number().int().min(1).default(500),
  calibration: z.coerce.number().int().min(1).default(300),
  backbone: z.string().min(1).default("models/backbone.safetensors"),
  runs: z.string().min(1).default("results/gating"),
  out: z.string().min(1).default("results/gating"),
  help: z.boolean().default(false),
});

async function main(argv: readonly string[]): Promise<void> {
  const values = parseFlags(argv, FLAGS, SweepFlags);
  if (values.help) return console.log(USAGE);
  const checkpointOf = (domain: string) => `${values.runs}/da3-${domain}.safetensors`;
  await requireFile(values.backbone, "backbone", "create it with `deno task pretrain`");
  for (const domain of values.domains) {
    await requireFile(
      checkpointOf(domain),
      "checkpoint",
      `train it with \`deno task train --method da3 --domains ${domain} --gate-sparsity 1 ` +
        "--backbone resnet20-mnist " +
        `--out ${values.runs}\`, or pass --runs DIR`,
    );
  }
  await sweep(values, checkpointOf);
}

async function sweep(
  values: z.output<typeof SweepFlags>,
  checkpointOf: (domain: string) => string,
): Promise<void> {
  const rows: SweepRow[] = [];
  for (const domain of values.domains) {
    const setup = await setupDomain({
      domain,
      backbone: values.backbone,
      checkpoint: checkpointOf(domain),
      testLimit: values.limit,
      calibration: values.calibration,
    });
    const calibration = calibrateGates(setup.model, setup.params, setup.calibration);
    const ungated = planGating(setup.model, setup.params, "open");
    const modes: GatingMode[] = [
      "exact",
      "exact-l1",
      ...values.taus.map((tau) => ({ tau })),
    ];
    let reference = NaN;
    for (const [i, mode] of modes.entries()) {
      const plan = planGating(setup.model, setup.params, mode, { calibration });
      // The first setting times ungated inference on every chunk and gives the reference top-1.
      const m = measureGating(plan, ungated, setup.params, setup.test, {
        ungatedEvery: i === 0 ? 1 : 3,
      });
      if (i === 0) reference = m.top1Ungated!;
      const row = { ...m, domain, gating: formatGatingMode(mode), top1Reference: reference };
      rows.push(row);
      console.log(sweepTable([row]).split("\n")[2]);
    }
  }
  await Deno.mkdir(values.out, { recursive: true });
  await Deno.writeTextFile(`${values.out}/sweep.md`, sweepTable(rows));
  await Deno.writeTextFile(`${values.out}/sweep.svg`, sweepSvg(rows));
  await Deno.writeTextFile(`${values.out}/sweep.json`, JSON.stringify(rows, null, 1));
  console.log(`wrote ${values.out}/sweep.{md,svg,json}`);
}

if (import.meta.main) await runCli("gating-sweep", main);
