/**
 * Reverse-mode autodiff and saved-activation analysis.
 * @module
 */
export * from "./grad.ts";
export * from "./fuse_broadcast.ts";
export * from "./accumulate_grads.ts";
export * from "./with_optimizer.ts";
