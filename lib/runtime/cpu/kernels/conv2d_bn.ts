/**
 * The fused convolutions on the CPU, one sample at a time through the plain
 * conv kernels: `conv2dBn` (the conv of a sample into a buffer of one
 * sample, then the batch norm and the addends as the separate kernels
 * compute them, written where the output may alias a full-size addend) and
 * the input gradient that reads `dy` scaled by a batch norm (one sample of
 * `dy · γ/√(σ²+ε)` at a time, the very products the batch norm's input
 * gradient stores).
 * @module
 */
import {
  CONV_BN_FIXED_INPUTS,
  convAttrs,
  epilogueAddends,
  gradInputParts,
  input,
  node,
  numel,
  type Tensor,
} from "../../../graph/mod.ts";
import * as conv from "./conv2d.ts";
import { type CpuKernel, f32 } from "./kernel.ts";

const perSample = new WeakMap<Tensor, Tensor>();

function one(shape: readonly number[]): number[] {
  return [1, ...shape.slice(1)];
}

/** The plain conv (or unscaled input gradient, with its base) of one sample of `n`. */
function sampleNode(n: Tensor): Tensor {
  let s = perSample.get(n);
  if (s) return s;
  const { stride, padding, dilation, groups } = convAttrs(n);
  const a = { stride, padding, dilation, groups };
  if (n.op === "conv2dBn") {
    const [x, w] = n.inputs;
    s = node("conv2d", [input("x", one(x.shape)), w], one(n.shape), a);
  } else {
    const { dy, w, base } = gradInputParts(n);
    const ins = [input("dy", one(dy.shape)), w, ...(base ? [input("base", one(n.shape))] : [])];
    s = node("conv2dGradInput", ins, one(n.shape), a);
  }
  perSample.set(n, s);
  return s;
}

function invStd(variance: Float32Array, eps: number): Float64Array {
  return Float64Array.from(variance, (v) => 1 / Math.sqrt(v + eps));
}

/** `bn(conv2d(x, w)) + a₁ + … + a_k`, each step rounded to f32 as the separate kernels store it. */
export const conv2dBn: CpuKernel = (n, inputs, out) => {
  const [xa, wa, ga, ba, ma, va] = inputs;
  const x = f32(xa), gamma = f32(ga), beta = f32(ba), mean = f32(ma);
  const inv = invStd(f32(va), n.attrs.eps as number);
  const addends = inputs.slice(CONV_BN_FIXED_INPUTS).map(f32);
  const full = epilogueAddends(n).map((a) => numel(a.shape) === numel(n.shape));
  const [batch, c, ho, wo] = n.shape;
  const s = ho * wo, sample = c * s, xs = x.length / batch;
  const single = sampleNode(n);
  const tmp = new Float32Array(sample);
  const y = f32(out);
  for (let b = 0; b < batch; b++) {
    conv.conv2d(single, [x.subarray(b * xs, (b + 1) * xs), wa], tmp);
    for (let ch = 0; ch < c; ch++) {
      const nc = b * c + ch;
      for (let k = 0; k < s; k++) {
        const i = nc * s + k;
        let v = Math.fround((tmp[ch * s + k] - mean[ch]) * inv[ch] * gamma[ch] + beta[ch]);
        for (let a = 0; a < addends.length; a++) {
          v = Math.fround(v + addends[a][full[a] ? i : nc]);
        }
        y[i] = v;
      }
    }
  }
};

/**
 * conv2dGradInput: with a batch norm scale (`bnEps`), the plain kernel on
 * each sample of `dy · γ · 1/√(σ²+ε)`; without, the plain kernel.
 */
export const conv2dGradInput: CpuKernel = (n, inputs, out) => {
  const { scale, base } = gradInputParts(n);
  if (!scale) {
    conv.conv2dGradInput(n, inputs, out);
    return;
  }
  const dy = f32(inputs[0]), gamma = f32(inputs[2]);
  const inv = invStd(f32(inputs[3]), scale.eps);
  const b0 = base ? f32(inputs[4]) : undefined;
  const [batch, c, ho, wo] = n.inputs[0].shape;
  const s = ho * wo, ds = c * s, xs = numel(n.shape) / batch;
  const single = sampleNode(n);
  const scaled = new Float32Array(ds);
  const dx = f32(out);
  for (let b = 0; b < batch; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let k = 0; k < s; k++) {
        scaled[ch * s + k] = dy[(b * c + ch) * s + k] * gamma[ch] * inv[ch];
      }
    }
    const part = dx.subarray(b * xs, (b + 1) * xs);
    const ins = [scaled, inputs[1], ...(b0 ? [b0.subarray(b * xs, (b + 1) * xs)] : [])];
    conv.conv2dGradInput(single, ins, part);
  }
};
