/**
 * `deno task infer`: DA³ inference on a domain's test images with dynamic
 * gating, measured against ungated inference in the same run.
 *
 * deno run -A scripts/infer.ts -- --domain fashion --gating exact|exact-l1|off|<τ>
 *   [--backbone models/backbone.safetensors] [--checkpoint results/gating/da3-fashion.safetensors]
 *   [--limit 1000] [--calibration 300] [--json]
 *
 * With `--json` it prints exactly one object:
 * `{ domain, gating, top1, flopsExecuted, flopsUngated, msPerImage, msPerImageUngated }`
 * (FLOPs and milliseconds per image).
 * @module
 */
import { parseArgs } from "node:util";
import {
  calibrateGates,
  formatGatingMode,
  GatingError,
  measureGating,
  parseGatingMode,
  planGating,
  setupDomain,
} from "../lib/gating/mod.ts";

const USAGE = `usage: deno task infer -- --domain <d> --gating exact|exact-l1|off|<tau>
  [--backbone path] [--checkpoint path] [--limit N] [--calibration N] [--json]`;

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv[0] === "--" ? argv.slice(1) : [...argv],
    strict: true,
    options: {
      domain: { type: "string" },
      gating: { type: "string", default: "exact" },
      backbone: { type: "string" },
      checkpoint: { type: "string" },
      limit: { type: "string", default: "1000" },
      calibration: { type: "string", default: "300" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || !values.domain) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const domain = values.domain;
  const mode = parseGatingMode(values.gating!);
  const backbone = values.backbone ?? "models/backbone.safetensors";
  const checkpoint = values.checkpoint ?? `results/gating/da3-${domain}.safetensors`;
  const setup = await setupDomain({
    domain,
    backbone,
    checkpoint,
    testLimit: Number(values.limit),
    calibration: Number(values.calibration),
  });
  const calibration = typeof mode === "object"
    ? calibrateGates(setup.model, setup.params, setup.calibration)
    : undefined;
  const gated = planGating(setup.model, setup.params, mode, calibration ? { calibration } : {});
  const ungated = planGating(setup.model, setup.params, "open");
  const m = measureGating(gated, ungated, setup.params, setup.test);
  if (values.json) {
    console.log(JSON.stringify({
      domain,
      gating: formatGatingMode(mode),
      top1: m.top1,
      flopsExecuted: m.flopsExecuted,
      flopsUngated: m.flopsUngated,
      msPerImage: m.msPerImage,
      msPerImageUngated: m.msPerImageUngated,
    }));
    return 0;
  }
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  console.log(`domain ${domain}, gating ${formatGatingMode(mode)}, ${m.images} test images`);
  console.log(`top-1 ${pct(m.top1)} (ungated ${pct(m.top1Ungated ?? NaN)})`);
  console.log(
    `MFLOPs/image ${(m.flopsExecuted / 1e6).toFixed(2)} of ${(m.flopsUngated / 1e6).toFixed(2)}` +
      ` ungated; backbone FLOPs skipped ${pct(m.skippedBackbone)}`,
  );
  console.log(
    `ms/image ${m.msPerImage.toFixed(2)} vs ${m.msPerImageUngated.toFixed(2)} ungated` +
      ` (speed-up ×${(m.msPerImageUngated / m.msPerImage).toFixed(2)})`,
  );
  console.log(`open channels per gated conv: ${m.openFraction.map((f) => pct(f)).join(" ")}`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    if (e instanceof GatingError || (e as Error).name?.endsWith("Error")) {
      console.error(`infer: ${(e as Error).message}`);
      Deno.exit(1);
    }
    throw e;
  }
}
