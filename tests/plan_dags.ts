/**
 * Random graphs for planner tests: a recipe of small integers (what
 * fast-check generates and shrinks) interpreted into a graph of element-wise
 * ops, reshapes, means and inputs, optionally with trainable parameters and a
 * loss for a training graph.
 */
import fc from "fast-check";
import {
  add,
  type Graph,
  graph,
  input,
  inputs,
  mean,
  mul,
  numel,
  param,
  relu,
  reshape,
  scale,
  sigmoid,
  type Tensor,
} from "../lib/graph/mod.ts";
import { grad, type GradOptions, type GradResult } from "../lib/autodiff/mod.ts";
import type { Feeds, TensorData } from "../lib/runtime/data.ts";
import { initParams, rng } from "../lib/runtime/params.ts";

/** One step of a recipe: an op code and two operand picks. */
export interface Step {
  readonly op: number;
  readonly a: number;
  readonly b: number;
}

/** A recipe: element counts to draw shapes from, steps, and which values to keep. */
export interface Recipe {
  readonly sizes: readonly number[];
  readonly steps: readonly Step[];
  readonly keep: readonly number[];
}

/** Recipes with up to `maxSteps` steps and element counts up to `maxElements`. */
export function recipe(maxSteps = 24, maxElements = 20000): fc.Arbitrary<Recipe> {
  return fc.record({
    sizes: fc.array(fc.integer({ min: 1, max: maxElements }), { minLength: 1, maxLength: 4 }),
    steps: fc.array(
      fc.record({ op: fc.nat(9), a: fc.nat(1000), b: fc.nat(1000) }),
      { minLength: 1, maxLength: maxSteps },
    ),
    keep: fc.array(fc.nat(1000), { maxLength: 3 }),
  });
}

function same(x: Tensor, y: Tensor): Tensor | undefined {
  if (numel(x.shape) !== numel(y.shape)) return undefined;
  return x.shape.length === y.shape.length && x.shape.every((d, i) => d === y.shape[i])
    ? y
    : reshape(y, x.shape);
}

/** Interprets a recipe; `trainable` mixes in trainable parameters. */
function build(r: Recipe, trainable: boolean): { values: Tensor[]; last: Tensor } {
  const values: Tensor[] = [input("in0", [1, r.sizes[0]])];
  let inputs = 1, params = 0;
  for (const s of r.steps) {
    const x = values[s.a % values.length];
    const y = values[s.b % values.length];
    const n = numel(x.shape);
    let out: Tensor;
    switch (s.op) {
      case 0:
        out = input(`in${inputs++}`, [1, r.sizes[s.b % r.sizes.length]]);
        break;
      case 1:
        out = relu(x);
        break;
      case 2:
        out = scale(x, 0.5);
        break;
      case 3:
        out = add(x, same(x, y) ?? (numel(y.shape) === 1 ? reshape(y, []) : x));
        break;
      case 4:
        out = reshape(x, x.shape.length === 1 ? [1, n] : [n]);
        break;
      case 5:
        out = mul(x, same(x, y) ?? x);
        break;
      case 6:
        out = sigmoid(x);
        break;
      case 7:
        out = mean(x);
        break;
      default:
        out = trainable
          ? (s.op === 8
            ? mul(x, param(`p${params++}`, x.shape, { init: { uniform: [-1, 1] } }))
            : add(x, param(`p${params++}`, [1], { init: { normal: 1 } })))
          : relu(x);
    }
    values.push(out);
  }
  return { values, last: values[values.length - 1] };
}

/** An inference graph: the last value and the kept ones are outputs. */
export function inferenceGraph(r: Recipe): Graph {
  const { values, last } = build(r, false);
  return graph(last, ...r.keep.map((k) => values[k % values.length]));
}

/** A training graph: loss = mean of the last value plus means of the kept ones. */
export function trainingGraph(r: Recipe, options: GradOptions = {}): GradResult {
  const { values, last } = build(r, true);
  let loss = mean(last);
  for (const k of r.keep) loss = add(loss, mean(values[k % values.length]));
  return grad(loss, options);
}

/** Seeded feeds for `g`: inputs uniform in [-1, 1) (labels in 0..2) and seeded parameters. */
export function randomFeeds(g: Graph, seed: number): Feeds {
  const next = rng(seed);
  const data: Record<string, TensorData> = {};
  for (const x of inputs(g)) {
    const n = x.shape.reduce((a, b) => a * b, 1);
    data[String(x.attrs.name)] = x.dtype === "i32"
      ? Int32Array.from({ length: n }, () => Math.floor(next() * 3))
      : Float32Array.from({ length: n }, () => 2 * next() - 1);
  }
  return { inputs: data, params: initParams(g, seed) };
}
