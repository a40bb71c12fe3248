/**
 * The adaptation methods as adaptors for the backbone builders, and the
 * registry of them by name.
 * @module
 */
import { bnAndHead } from "./bn_head.ts";
import { da3 } from "./da3.ts";
import { fineTune } from "./finetune.ts";
import { lastLayer } from "./last_layer.ts";
import type { Method } from "./method.ts";
import { parallelResAdapter } from "./parallel.ts";
import { piggyback } from "./piggyback.ts";
import { seriesResAdapter } from "./series.ts";
import { tinyTL } from "./tinytl.ts";

export * from "./method.ts";
export * from "./finetune.ts";
export * from "./last_layer.ts";
export * from "./bn_head.ts";
export * from "./piggyback.ts";
export * from "./parallel.ts";
export * from "./series.ts";
export * from "./tinytl.ts";
export * from "./da3.ts";
export { Da3OptionsError, parseDa3Options } from "./da3_options.ts";

/** The name of a built-in method. */
export type MethodName =
  | "finetune"
  | "lastlayer"
  | "bnhead"
  | "piggyback"
  | "parallel"
  | "series"
  | "tinytl"
  | "da3";

/** Every built-in method, by name, with its default options. */
export const METHODS: Readonly<Record<MethodName, () => Method>> = {
  finetune: () => fineTune(),
  lastlayer: () => lastLayer(),
  bnhead: () => bnAndHead(),
  piggyback: () => piggyback(),
  parallel: () => parallelResAdapter(),
  series: () => seriesResAdapter(),
  tinytl: () => tinyTL(),
  da3: () => da3(),
};
