/**
 * `deno task infer`: DA³ inference on a domain's test images with dynamic
 * gating, measured against ungated inference in the same run.
 *
 * deno task infer --domain fashion --gating exact|exact-l1|off|<τ>
 *   [--backbone models/backbone.safetensors] [--checkpoint results/gating/da3-fashion.safetensors]
 *   [--limit 1000] [--calibration 300] [--json]
 *
 * Exit codes: 0 success, 1 bad input (a missing or corrupt backbone, checkpoint or data
 * file, named), 2 usage (a flag is unknown or out of range).
 *
 * With `--json` it prints exactly one object:
 * `{ domain, gating, top1, flopsExecuted, flopsUngated, msPerImage, msPerImageUngated }`
 * (FLOPs and milliseconds per image).
 * @module
 */
import { z } from "zod";
import { type FlagSpecs, parseFlags, UsageError } from "../lib/cli/flags.ts";
import { EXIT_CODES_HELP, InputError, requireFile, runCli } from "../lib/cli/run.ts";
import { readSafetensorsFile } from "../lib/io/safetensors.ts";
import { DOMAINS } from "../lib/data/domains.ts";
import {
  calibrateGates,
  formatGatingMode,
  type GatingMode,
  measureGating,
  parseGatingMode,
  planGating,
  setupDomain,
} from "../lib/gating/mod.ts";

const USAGE = `usage: deno task infer --domain <d> [--gating exact|exact-l1|off|<tau>]
  [--backbone models/backbone.safetensors] [--checkpoint results/gating/da3-<d>.safetensors]
  [--limit 1000] [--calibration 300] [--json]
${EXIT_CODES_HELP}`;

const FLAGS = {
  domain: { type: "string" },
  gating: { type: "string" },
  backbone: { type: "string" },
  checkpoint: { type: "string" },
  limit: { type: "string" },
  calibration: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies FlagSpecs;

/** A `--gating` value: off, open, exact, exact-l1 or a number τ. */
const gatingFlag = z.string().transform((text, ctx): GatingMode => {
  try {
    return parseGatingMode(text);
  } catch {
    ctx.addIssue({ code: "custom", message: `must be off, open, exact, exact-l1 or a number τ` });
    return z.NEVER;
  }
});

const InferFlags = z.object({
  domain: z.enum(DOMAINS.map((d) => d.name) as [string, ...string[]]).optional(),
  gating: gatingFlag.default("exact"),
  backbone: z.string().min(1).default("models/backbone.safetensors"),
  checkpoint: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).default(1000),
  calibration: z.coerce.number().int().min(1).default(300),
  json: z.boolean().default(false),
  help: z.boolean().default(false),
});

/** Fails with an InputError when the checkpoint was trained on another domain than `domain`. */
async function requireDomain(checkpoint: string, domain: string): Promise<void> {
  const trained = (await readSafetensorsFile(checkpoint)).metadata.domain;
  if (trained !== undefined && trained !== domain) {
    throw new InputError(
      checkpoint,
      `checkpoint of domain ${trained}, not of --domain ${domain}`,
      `pass --domain ${trained}, or the checkpoint of ${domain} with --checkpoint PATH`,
    );
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv, FLAGS, InferFlags);
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if (!flags.domain) throw new UsageError("--domain is required", "--domain");
  const { domain, gating: mode, backbone } = flags;
  const checkpoint = flags.checkpoint ?? `results/gating/da3-${domain}.safetensors`;
  await requireFile(
    backbone,
    "backbone",
    "create it with `deno task pretrain`, or pass --backbone PATH",
  );
  await requireFile(
    checkpoint,
    "checkpoint",
    `train it with \`deno task train --method da3 --domains ${domain} --gate-sparsity 1 ` +
      "--backbone resnet20-mnist " +
      "--out results/gating`, or pass --checkpoint PATH",
  );
  await requireDomain(checkpoint, domain);
  const setup = await setupDomain({
    domain,
    backbone,
    checkpoint,
    testLimit: flags.limit,
    calibration: flags.calibration,
  });
  const calibration = typeof mode === "object"
    ? calibrateGates(setup.model, setup.params, setup.calibration)
    : undefined;
  const gated = planGating(setup.model, setup.params, mode, calibration ? { calibration } : {});
  const ungated = planGating(setup.model, setup.params, "open");
  const m = measureGating(gated, ungated, setup.params, setup.test);
  if (flags.json) {
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

if (import.meta.main) await runCli("infer", main);
