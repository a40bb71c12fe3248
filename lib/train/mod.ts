/**
 * Training: `train({ model, method, data, ... })` and its steps (setup,
 * resume point, epoch, evaluation, saving), optimizers and their state,
 * one-step helpers, results (and choosing among them on validation), the
 * linear-probe fit.
 * @module
 */
export * from "./train.ts";
export * from "./optimizer.ts";
export * from "./step.ts";
export * from "./errors.ts";
export * from "./results.ts";
export * from "./results_file.ts";
export * from "./select.ts";
export { checkResumable, RESUME_SAFE_FIELDS, ResumeError, type RunDifference } from "./resume.ts";
export { type MethodGraphs, modelGraphs } from "./graphs.ts";
export * from "./probe_fit.ts";
export * from "./probe_cv.ts";
export * from "./probe.ts";
export * from "./schedule.ts";
export * from "./step_plan.ts";
