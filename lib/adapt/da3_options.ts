/**
 * DA³'s design options: the type, its zod schema (flags, config files and
 * checkpoints are validated with it) and reading them from JSON.
 * @module
 */
import { z } from "zod";

/** Options of `da3()`. */
export interface Da3Options {
  /** Channel reduction r of the hidden layer, `C_in / r` units, at least 1 (default 16). */
  readonly reduction?: number;
  /** Add the spatial term from the channel mean (default false). */
  readonly spatial?: boolean;
  /** `every` main-path pair of each block, or only the `last` one (default `every`). */
  readonly placement?: "every" | "last";
  /** Compute `a(x)` from the `pair`'s own input or from the `block`'s input (default `pair`). */
  readonly source?: "pair" | "block";
  /** Cells per side of the pooled attention input: 1 is `gap(x)` (default 1). */
  readonly grid?: number;
  /**
   * The stages (1-based, `layer1`… in torchvision names) whose blocks get
   * adaptors (default every stage). Backward stops at the first adapted
   * stage's input, so later stages cost fewer input gradients.
   */
  readonly stages?: readonly number[];
  /** Learning-rate multiplier of the `.da3.` parameters (attention, stem term); the head keeps the run's (default 1). */
  readonly lrScale?: number;
  /**
   * Also adapt the stem: add a zero-initialised conv of the image with the
   * stem's geometry before its activation (default false). Its weight
   * gradient reads only the input batch, which training holds anyway.
   */
  readonly stem?: boolean;
}

/** The schema of {@linkcode Da3Options} (validated from flags, config files and checkpoints). */
export const Da3OptionsSchema: z.ZodType<Da3Options> = z.object({
  reduction: z.number().int().min(1).max(1024).optional(),
  spatial: z.boolean().optional(),
  placement: z.enum(["every", "last"]).optional(),
  source: z.enum(["pair", "block"]).optional(),
  grid: z.number().int().min(1).max(64).optional(),
  stages: z.array(z.number().int().min(1).max(16)).min(1).optional(),
  lrScale: z.number().positive().max(1000).optional(),
  stem: z.boolean().optional(),
}).strict();

/** Thrown for DA³ options that do not fit {@linkcode Da3OptionsSchema}; names each bad field. */
export class Da3OptionsError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "Da3OptionsError";
  }
}

/** Reads DA³ options stored as JSON (e.g. in a checkpoint); throws Da3OptionsError naming the field. */
export function parseDa3Options(json: string): Da3Options {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new Da3OptionsError(`DA³ options: ${(e as Error).message}`);
  }
  const r = Da3OptionsSchema.safeParse(raw);
  if (r.success) return r.data;
  const fields = r.error.issues.map((i) => `${i.path.join(".") || "(options)"}: ${i.message}`);
  throw new Da3OptionsError(`DA³ options: ${fields.join("; ")}`);
}
