/**
 * Sweeps DA³ gating settings (exact bounds and calibrated τ) on target
 * domains and writes `sweep.md` (table), `sweep.svg` (top-1 vs measured
 * speed-up) and `sweep.json` to `--out`.
 *
 * deno run -A scripts/gating_sweep.ts -- --domains fashion,letters
 *   [--taus 0,0.25,0.5,1,2] [--limit 500] [--backbone models/backbone.safetensors]
 *   [--runs results/gating] [--out results/gating]
 *
 * Checkpoints are read from `<runs>/da3-<domain>.safetensors`, as `deno task train
 * --method da3 --gate-sparsity λ --out <runs>` writes them.
 * @module
 */
import { parseArgs } from "node:util";
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

const { values } = parseArgs({
  args: Deno.args[0] === "--" ? Deno.args.slice(1) : [...Deno.args],
  strict: true,
  options: {
    domains: { type: "string", default: "fashion,letters" },
    taus: { type: "string", default: "0,0.25,0.5,1,2" },
    limit: { type: "string", default: "500" },
    calibration: { type: "string", default: "300" },
    backbone: { type: "string", default: "models/backbone.safetensors" },
    runs: { type: "string", default: "results/gating" },
    out: { type: "string", default: "results/gating" },
  },
});

const rows: SweepRow[] = [];
for (const domain of values.domains!.split(",").map((s) => s.trim()).filter(Boolean)) {
  const setup = await setupDomain({
    domain,
    backbone: values.backbone!,
    checkpoint: `${values.runs}/da3-${domain}.safetensors`,
    testLimit: Number(values.limit),
    calibration: Number(values.calibration),
  });
  const calibration = calibrateGates(setup.model, setup.params, setup.calibration);
  const ungated = planGating(setup.model, setup.params, "open");
  const modes: GatingMode[] = [
    "exact",
    "exact-l1",
    ...values.taus!.split(",").map((t) => ({ tau: Number(t) })),
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
await Deno.mkdir(values.out!, { recursive: true });
await Deno.writeTextFile(`${values.out}/sweep.md`, sweepTable(rows));
await Deno.writeTextFile(`${values.out}/sweep.svg`, sweepSvg(rows));
await Deno.writeTextFile(`${values.out}/sweep.json`, JSON.stringify(rows, null, 1));
console.log(`wrote ${values.out}/sweep.{md,svg,json}`);
