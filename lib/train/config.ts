/**
 * The training configuration, validated with zod: every invalid field is
 * reported by name with what it allows.
 * @module
 */
import { z } from "zod";
import { Da3OptionsSchema } from "../adapt/da3_options.ts";
import { type MethodName, METHODS } from "../adapt/mod.ts";
import { PARAM_STORAGES } from "../graph/mod.ts";
import { MOBILENET_V2_CUTS, type MobilenetV2Cut } from "../models/mod.ts";
import { BACKBONE_NAMES, backboneIssue, BACKBONES } from "./backbones.ts";

/** A method `deno task train` runs: a built-in adaptation method, or `probe` (the linear-probe floor). */
export type TrainMethod = MethodName | "probe";

/** The methods `deno task train` knows: every built-in method, then the linear probe. */
export const METHOD_NAMES = [
  ...Object.keys(METHODS),
  "probe",
] as unknown as [TrainMethod, ...TrainMethod[]];

/**
 * The schema of a training run's configuration. The backbone's defaults are
 * filled in where the config does not set them: `size` (and `cut`),
 * `frozenWeights` (u8 for MobileNetV2, whose source is u8; f32 for
 * ResNet-20), and the run settings of its `defaults` (epochs, lr, head
 * initialisation, examples).
 */
export const TrainConfigSchema = z.object({
  backbone: z.enum(BACKBONE_NAMES).default(BACKBONE_NAMES[0]),
  size: z.number().int().min(8).max(1024).optional(),
  cut: z.enum(MOBILENET_V2_CUTS as unknown as [MobilenetV2Cut, ...MobilenetV2Cut[]]).optional(),
  method: z.array(z.enum(METHOD_NAMES)).min(1).default(["da3"]),
  domains: z.array(z.string().min(1)).min(1).optional(),
  epochs: z.number().int().min(1).max(1000).optional(),
  batch: z.number().int().min(1).max(4096).default(32),
  lr: z.number().positive().max(10).optional(),
  schedule: z.enum(["constant", "cosine"]).default("constant"),
  warmup: z.number().int().min(0).default(0),
  optimizer: z.enum(["sgd", "adam"]).default("adam"),
  backend: z.enum(["auto", "webgpu", "cpu"]).default("auto"),
  budgetMb: z.number().positive().optional(),
  out: z.string().min(1).default("runs/latest"),
  seed: z.number().int().min(0).default(0),
  resume: z.boolean().default(false),
  limit: z.number().int().min(1).optional(),
  testLimit: z.number().int().min(1).optional(),
  validation: z.number().min(0).refine((v) => v < 1 || Number.isInteger(v), {
    message: "a fraction in [0, 1) or a whole count ≥ 1 of training examples",
  }).default(0.2),
  validationSeed: z.number().int().min(0).default(0),
  headInit: z.enum(["normal", "zeros", "probe"]).optional(),
  weightDecay: z.number().min(0).max(1).default(0),
  data: z.enum(["embedded", "cache"]).default("embedded"),
  bnStats: z.enum(["source", "domain"]).optional(),
  augment: z.enum(["domain", "none"]).default("domain"),
  gateSparsity: z.number().min(0).max(100).default(0),
  frozenWeights: z.enum(PARAM_STORAGES).optional(),
  da3: Da3OptionsSchema.default({}),
}).strict().refine(
  (c) => (c.headInit ?? "normal") === "normal" || c.method.some((m) => m !== "probe"),
  {
    path: ["headInit"],
    message: "does not apply to --method probe alone (its head is the fit; with other methods " +
      "it sets theirs)",
  },
).refine((c) => c.gateSparsity === 0 || c.method.every((m) => m === "da3"), {
  path: ["gateSparsity"],
  message: "applies to --method da3 only",
}).refine((c) => Object.keys(c.da3).length === 0 || c.method.includes("da3"), {
  path: ["da3"],
  message: "DA³ options need --method da3",
}).superRefine((c, ctx) => {
  const bad = backboneIssue(c);
  if (bad) ctx.addIssue({ code: "custom", path: [bad.field], message: bad.message });
}).transform((c) => {
  const entry = BACKBONES[c.backbone], d = entry.defaults;
  const cut = c.cut ?? entry.cut, limit = c.limit ?? d.limit;
  const onlyProbe = c.method.every((m) => m === "probe");
  return {
    ...c,
    size: c.size ?? entry.size,
    ...(cut ? { cut } : {}),
    frozenWeights: c.frozenWeights ?? entry.frozenWeights,
    epochs: c.epochs ?? d.epochs,
    lr: c.lr ?? d.lr,
    headInit: c.headInit ?? (onlyProbe ? "normal" : d.headInit),
    bnStats: c.bnStats ?? (onlyProbe ? "source" : d.bnStats),
    ...(limit !== undefined ? { limit } : {}),
  };
});

/** A validated training configuration. */
export type TrainConfig = z.infer<typeof TrainConfigSchema>;

/** Thrown for an invalid configuration; the message names each bad field. */
export class ConfigError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Validates raw configuration data (from flags and/or a config file). */
export function parseTrainConfig(raw: unknown): TrainConfig {
  const r = TrainConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  const lines = r.error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join(".") : "(config)";
    const allowed = "values" in issue && Array.isArray(issue.values)
      ? ` (allowed: ${issue.values.join(", ")})`
      : "";
    const keys = issue.code === "unrecognized_keys" ? `: ${issue.keys.join(", ")}` : "";
    return `${field}: ${issue.message}${keys}${allowed}`;
  });
  throw new ConfigError(`invalid training config:\n  ${lines.join("\n  ")}`);
}
