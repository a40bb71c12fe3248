/**
 * Reduced-precision weights from f32 sources, once: a runtime wrapper that
 * feeds each reduced-precision parameter of a plan the quantised form of
 * its f32 value, quantised the first time that array is seen and cached by
 * the array's identity (frozen weights never change), so the wrapped
 * runtime (the CPU arena, the GPU buffers) holds only the packed bytes.
 * @module
 */
import { type ScaleGranularity, storageOf } from "../graph/mod.ts";
import type { Plan } from "../plan/types.ts";
import type { Feeds, ParamValue, Runtime, TensorData } from "./data.ts";
import { isQuantizedTensor, type QuantizedTensor, quantizeF16, quantizeU8 } from "./quantized.ts";

const cache = new WeakMap<Float32Array, Map<string, QuantizedTensor>>();

/**
 * `value` stored as the param node's storage (u8 with its scale granularity,
 * or f16), from a cache keyed by the array; an already quantised value or
 * an f32 param's value is returned as it is.
 */
export function quantizedFeed(
  p: Plan["tensors"][number],
  value: ParamValue | undefined,
): ParamValue | undefined {
  const storage = storageOf(p);
  if (storage === "f32" || value === undefined || isQuantizedTensor(value)) return value;
  const scales = (p.attrs.scales as ScaleGranularity | undefined) ?? "channel";
  const key = `${storage}/${scales}/${p.shape.join("x")}`;
  let byKey = cache.get(value);
  if (!byKey) cache.set(value, byKey = new Map());
  let q = byKey.get(key);
  if (!q) {
    q = storage === "u8" ? quantizeU8(value, p.shape, scales) : quantizeF16(value, p.shape);
    byKey.set(key, q);
  }
  return q;
}

/** The feeds of `plan` with every reduced-precision parameter's f32 value replaced by its quantised form. */
export function quantizeFeeds(plan: Plan, feeds: Feeds): Feeds {
  let params: Map<string, ParamValue> | null = null;
  for (const v of plan.values) {
    if (v.category !== "weight") continue;
    const p = plan.tensors[v.index];
    const name = String(p.attrs.name);
    const value = feeds.params.get(name);
    const q = quantizedFeed(p, value);
    if (q === value) continue;
    params ??= new Map(feeds.params);
    params.set(name, q!);
  }
  return params ? { inputs: feeds.inputs, params } : feeds;
}

/**
 * `runtime` fed through {@linkcode quantizeFeeds}: plans whose frozen
 * weights are stored as f16 or u8 (`withFrozenStorage`) run on f32 parameter
 * stores (a loaded backbone), each weight quantised once.
 */
export function quantizingRuntime(runtime: Runtime): Runtime {
  return {
    name: runtime.name,
    target: runtime.target,
    prepare: (plan) => runtime.prepare(plan),
    execute: (plan, feeds): Promise<TensorData[]> => {
      try {
        return runtime.execute(plan, quantizeFeeds(plan, feeds));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    release: (plan) => runtime.release(plan),
    readParams: (names, params) => runtime.readParams(names, params),
  };
}
