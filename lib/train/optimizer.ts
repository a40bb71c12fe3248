/**
 * Optimizers as pure functions: SGD with momentum and Adam over a
 * {@linkcode ParamStore} and gradient arrays. A step never mutates its
 * arguments; it returns new arrays for the parameters it updates and shares
 * the others, so frozen parameters stay bit-identical.
 * @module
 */
import type { ParamStore } from "../runtime/data.ts";

/** SGD with momentum (PyTorch's form: `v = μv + g + λw`, `w −= lr·v`). */
export interface SgdConfig {
  /** "sgd". */
  readonly kind: "sgd";
  /** Momentum μ (default 0.9). */
  readonly momentum?: number;
  /** L2 weight decay λ added to the gradient (default 0). */
  readonly weightDecay?: number;
}

/** Adam (Kingma & Ba), with optional L2 weight decay added to the gradient. */
export interface AdamConfig {
  /** "adam". */
  readonly kind: "adam";
  /** β₁ (default 0.9). */
  readonly beta1?: number;
  /** β₂ (default 0.999). */
  readonly beta2?: number;
  /** ε (default 1e-8). */
  readonly eps?: number;
  /** L2 weight decay λ added to the gradient (default 0). */
  readonly weightDecay?: number;
}

/** An optimizer configuration. */
export type OptimizerConfig = SgdConfig | AdamConfig;

/** Optimizer state: the step count and per-parameter slots (SGD: velocity; Adam: m, v). */
export interface OptimizerState {
  /** The configuration the state belongs to. */
  readonly config: OptimizerConfig;
  /** Steps taken so far. */
  readonly step: number;
  /** Slots by parameter name. */
  readonly slots: ReadonlyMap<string, readonly Float32Array[]>;
}

/** The result of {@linkcode optimizerStep}: new parameters and new state. */
export interface StepResult {
  /** Every parameter; updated ones are new arrays, the rest shared with the input. */
  readonly params: ParamStore;
  /** The state after this step. */
  readonly state: OptimizerState;
}

/** Thrown when a gradient does not match its parameter. */
export class OptimizerError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "OptimizerError";
  }
}

/** A fresh state for `config` (slots are created on first use). */
export function initOptimizer(config: OptimizerConfig): OptimizerState {
  return { config, step: 0, slots: new Map() };
}

/** Optimizer state bytes per trainable parameter byte: SGD with momentum 1, Adam 2. */
export function stateFactor(config: OptimizerConfig): number {
  return config.kind === "adam" ? 2 : (config.momentum ?? 0.9) === 0 ? 0 : 1;
}

function sgdUpdate(
  c: SgdConfig,
  w: Float32Array,
  g: Float32Array,
  slots: readonly Float32Array[] | undefined,
  lr: number,
): { w: Float32Array; slots: Float32Array[] } {
  const mu = c.momentum ?? 0.9;
  const wd = c.weightDecay ?? 0;
  const v = slots ? slots[0].slice() : new Float32Array(w.length);
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const gi = g[i] + wd * w[i];
    v[i] = slots ? mu * v[i] + gi : gi;
    out[i] = w[i] - lr * v[i];
  }
  return { w: out, slots: [v] };
}

function adamUpdate(
  c: AdamConfig,
  w: Float32Array,
  g: Float32Array,
  slots: readonly Float32Array[] | undefined,
  lr: number,
  t: number,
): { w: Float32Array; slots: Float32Array[] } {
  const b1 = c.beta1 ?? 0.9, b2 = c.beta2 ?? 0.999, eps = c.eps ?? 1e-8;
  const wd = c.weightDecay ?? 0;
  const m = slots ? slots[0].slice() : new Float32Array(w.length);
  const v = slots ? slots[1].slice() : new Float32Array(w.length);
  const c1 = 1 - b1 ** t, c2 = 1 - b2 ** t;
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const gi = g[i] + wd * w[i];
    m[i] = b1 * m[i] + (1 - b1) * gi;
    v[i] = b2 * v[i] + (1 - b2) * gi * gi;
    out[i] = w[i] - (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
  }
  return { w: out, slots: [m, v] };
}

/** A learning rate: one for every parameter, or one per parameter name. */
export type LearningRate = number | ((name: string) => number);

/**
 * One optimizer step: updates exactly the parameters named in `grads` and
 * returns new parameters and state; nothing passed in is mutated. The rate
 * applied is `learningRate · Math.fround(lrFactor)` (a schedule's factor of
 * this step, default 1), as the update ops apply it from their f32 step input.
 */
export function optimizerStep(
  state: OptimizerState,
  params: ParamStore,
  grads: ReadonlyMap<string, Float32Array>,
  learningRate: LearningRate,
  lrFactor = 1,
): StepResult {
  const factor = Math.fround(lrFactor);
  const t = state.step + 1;
  const next = new Map(params);
  const slots = new Map(state.slots);
  for (const [name, g] of grads) {
    const w = params.get(name);
    if (!w) throw new OptimizerError(`gradient for "${name}" but no such parameter`);
    if (w.length !== g.length) {
      throw new OptimizerError(
        `gradient for "${name}" has ${g.length} elements, parameter has ${w.length}`,
      );
    }
    const c = state.config;
    const lr = (typeof learningRate === "number" ? learningRate : learningRate(name)) * factor;
    const r = c.kind === "sgd"
      ? sgdUpdate(c, w, g, state.slots.get(name), lr)
      : adamUpdate(c, w, g, state.slots.get(name), lr, t);
    next.set(name, r.w);
    slots.set(name, r.slots);
  }
  return { params: next, state: { config: state.config, step: t, slots } };
}

/** The optimizer of a `--optimizer` name: SGD with momentum 0.9, or Adam with its defaults. */
export function optimizerNamed(kind: "sgd" | "adam"): OptimizerConfig {
  return kind === "sgd" ? { kind: "sgd", momentum: 0.9 } : { kind: "adam" };
}

/**
 * The state as named arrays for a checkpoint: `step`, and slot `i` of
 * parameter `p` as `p#i` (read back by {@linkcode optimizerStateFromTensors}).
 */
export function optimizerStateTensors(state: OptimizerState): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>([["step", Float32Array.of(state.step)]]);
  for (const [name, slots] of state.slots) slots.forEach((s, i) => out.set(`${name}#${i}`, s));
  return out;
}

/** The state stored by {@linkcode optimizerStateTensors} (other names are ignored). */
export function optimizerStateFromTensors(
  config: OptimizerConfig,
  tensors: ReadonlyMap<string, Float32Array>,
): OptimizerState {
  const slots = new Map<string, Float32Array[]>();
  for (const [k, v] of tensors) {
    const at = k.lastIndexOf("#");
    if (at < 0) continue;
    const name = k.slice(0, at);
    if (!slots.has(name)) slots.set(name, []);
    slots.get(name)![Number(k.slice(at + 1))] = v;
  }
  return { config, step: tensors.get("step")?.[0] ?? 0, slots };
}
