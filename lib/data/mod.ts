/**
 * da3's data layer: real image domains (MNIST source; Fashion-MNIST, font
 * letters, scikit-learn digits, MNIST-M-style and emoji-category targets),
 * their loading with checksums, and deterministic normalized batches.
 * @module
 */
export * from "./batch.ts";
export * from "./cache.ts";
export * from "./checksum.ts";
export * from "./dataset.ts";
export * from "./derive.ts";
export * from "./domains.ts";
export * from "./emoji.ts";
export * from "./emoji_family.ts";
export * from "./embedded.ts";
export * from "./errors.ts";
export * from "./idx.ts";
export * from "./image.ts";
export * from "./manifest.ts";
export * from "./split.ts";
export * from "./split_groups.ts";
export * from "../rng.ts";
