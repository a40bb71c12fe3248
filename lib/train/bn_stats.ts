/**
 * Running statistics for batch norms trained with batch statistics: the
 * mean and biased variance of each BN input over a set of batches, written
 * into the running-mean and running-variance parameters that eval mode uses.
 * @module
 */
import {
  type Graph,
  graph,
  sourceName,
  type Tensor,
  topoSort,
  withBatchNorms,
} from "../graph/mod.ts";
import type { ParamStore, Runtime, TensorData } from "../runtime/data.ts";
import { runGraph } from "../runtime/run_graph.ts";

/** The batch-statistics BN nodes of a graph and a graph that outputs their inputs. */
export interface BnProbe {
  /** Batch-mode batchNorm nodes. */
  readonly norms: readonly Tensor[];
  /** Outputs the input of each of `norms`, in order. */
  readonly probe: Graph;
}

/** Finds the batch-mode batch norms reachable from `outputs`. */
export function bnProbe(outputs: readonly Tensor[]): BnProbe {
  const norms = topoSort(outputs).filter((n) => n.op === "batchNorm" && n.attrs.mode === "batch");
  return { norms, probe: graph(...norms.map((n) => n.inputs[0])) };
}

/**
 * Probes every batch norm reachable from `outputs` as a training-mode forward
 * pass sees it (each normalised with its batch's statistics), so statistics
 * re-estimated on a new domain are consistent from layer to layer.
 */
export function domainBnProbe(outputs: readonly Tensor[]): BnProbe {
  return bnProbe(withBatchNorms(outputs));
}

/** Accumulates per-channel sums of x and x² for one probe output. */
function addMoments(
  x: Float32Array,
  shape: readonly number[],
  sum: Float64Array,
  sq: Float64Array,
) {
  const [n, c] = shape;
  const s = x.length / (n * c);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const base = (b * c + ch) * s;
      for (let k = 0; k < s; k++) {
        const v = x[base + k];
        sum[ch] += v;
        sq[ch] += v * v;
      }
    }
  }
}

/**
 * Sets each batch norm's running mean and variance to the statistics of its
 * input over `batches` (probe outputs from executing `probe.probe`).
 */
export function setRunningStats(
  probe: BnProbe,
  batches: readonly (readonly TensorData[])[],
  params: ParamStore,
): void {
  probe.norms.forEach((bn, i) => {
    const shape = bn.inputs[0].shape;
    const c = shape[1];
    const sum = new Float64Array(c), sq = new Float64Array(c);
    for (const values of batches) addMoments(values[i] as Float32Array, shape, sum, sq);
    const count = (batches.length * bn.inputs[0].shape.reduce((a, b) => a * b)) / c;
    const mean = Float32Array.from(sum, (v) => v / count);
    const variance = Float32Array.from(sq, (v, ch) => Math.max(v / count - mean[ch] ** 2, 0));
    params.set(sourceName(bn.inputs[3]), mean);
    params.set(sourceName(bn.inputs[4]), variance);
  });
}

/**
 * Re-estimates the running statistics of `probe`'s batch norms in `params`
 * from the images of `batches` (each executed through `probe.probe`).
 */
export async function recalibrateRunningStats(
  runtime: Runtime,
  probe: BnProbe,
  batches: Iterable<Float32Array>,
  params: ParamStore,
): Promise<void> {
  if (probe.norms.length === 0) return;
  const outs: TensorData[][] = [];
  for (const x of batches) {
    outs.push(await runGraph(runtime, probe.probe, { inputs: { x }, params }));
  }
  setRunningStats(probe, outs, params);
}
