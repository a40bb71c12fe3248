/**
 * Keras layer weights (as read by {@linkcode readTfjsLayersModel}) to da3
 * parameters: names `${layer}.weight|bias|running_mean|running_var` (Keras
 * layer names, da3's suffixes) and da3's layouts. Conv2D `[kh,kw,in,out]`
 * becomes `[out,in,kh,kw]`, DepthwiseConv2D `[kh,kw,C,m]` becomes
 * `[C·m,1,kh,kw]` (a grouped conv with groups = C), Dense `[in,out]`
 * becomes `[out,in]`; BatchNormalization's gamma/beta/moving_mean/
 * moving_variance become weight/bias/running_mean/running_var. The stored
 * uint8/uint16 integers are permuted along with the values, so a quantised
 * weight stays quantised.
 * @module
 */
import type { TfjsLayer, TfjsWeight } from "./tfjs_layers.ts";

/** One converted parameter: da3 shape, values, and the permuted quantised integers if any. */
export interface KerasParam {
  /** da3 shape. */
  readonly shape: readonly number[];
  /** Values in da3 layout. */
  readonly values: Float32Array;
  /** The stored integers in da3 layout and their affine map `q · scale + min`. */
  readonly quantized?: {
    readonly q: Uint8Array | Uint16Array;
    readonly min: number;
    readonly scale: number;
  };
}

const BN_NAMES: Readonly<Record<string, string>> = {
  gamma: "weight",
  beta: "bias",
  moving_mean: "running_mean",
  moving_variance: "running_var",
};

/** Permutes a row-major array of `shape` by `perm` (output axis i is input axis perm[i]). */
export function transpose<T extends Float32Array | Uint8Array | Uint16Array>(
  data: T,
  shape: readonly number[],
  perm: readonly number[],
): T {
  const outShape = perm.map((p) => shape[p]);
  const inStride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const strides = perm.map((p) => inStride[p]);
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < idx.length; d++) src += idx[d] * strides[d];
    out[o] = data[src];
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

function convert(w: TfjsWeight, perm: readonly number[], shape: readonly number[]): KerasParam {
  const q = w.quantized;
  return {
    shape,
    values: transpose(w.values, w.shape, perm),
    ...(q ? { quantized: { ...q, q: transpose(q.q, w.shape, perm) } } : {}),
  };
}

/** The da3 parameters of one Keras layer (empty for weightless layers). */
export function kerasLayerParams(layer: TfjsLayer): Map<string, KerasParam> {
  const out = new Map<string, KerasParam>();
  const w = layer.weights;
  switch (layer.className) {
    case "Conv2D": {
      const [kh, kw, i, o] = w.kernel.shape;
      out.set(`${layer.name}.weight`, convert(w.kernel, [3, 2, 0, 1], [o, i, kh, kw]));
      if (w.bias) out.set(`${layer.name}.bias`, convert(w.bias, [0], w.bias.shape));
      break;
    }
    case "DepthwiseConv2D": {
      const k = w.depthwise_kernel;
      const [kh, kw, c, m] = k.shape;
      out.set(`${layer.name}.weight`, convert(k, [2, 3, 0, 1], [c * m, 1, kh, kw]));
      if (w.bias) out.set(`${layer.name}.bias`, convert(w.bias, [0], w.bias.shape));
      break;
    }
    case "Dense": {
      const [i, o] = w.kernel.shape;
      out.set(`${layer.name}.weight`, convert(w.kernel, [1, 0], [o, i]));
      if (w.bias) out.set(`${layer.name}.bias`, convert(w.bias, [0], w.bias.shape));
      break;
    }
    case "BatchNormalization":
      for (const [k, v] of Object.entries(w)) {
        out.set(`${layer.name}.${BN_NAMES[k]}`, convert(v, [0], v.shape));
      }
      break;
  }
  return out;
}
