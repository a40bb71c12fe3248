/**
 * da3's files: the strict safetensors reader and atomic writer, checkpoints
 * (real tensor shapes, run configuration, atomic, never non-finite), the one
 * backbone loader, the torchvision ResNet import and the finite check every
 * reader applies.
 * @module
 */
export * from "./safetensors.ts";
export * from "./checkpoint.ts";
export * from "./backbone.ts";
export * from "./torchvision.ts";
export * from "./finite.ts";
export * from "./tfjs_layers.ts";
export * from "./affine_u8.ts";
