/**
 * Wrong calls fail at graph build time with a ShapeError naming the op and
 * the shapes involved.
 */
import assert from "node:assert/strict";
import {
  add,
  avgPool2d,
  batchNorm,
  conv2d,
  globalAvgPool,
  input,
  linear,
  maxPool2d,
  mul,
  param,
  reshape,
  ShapeError,
  type Tensor,
} from "../mod.ts";
import { channelMean, matmul, softmaxCrossEntropy, upsampleNearest } from "../lib/graph/mod.ts";

const x = input("x", [2, 3, 8, 8]);
const bn = (c: number) => ({
  gamma: param("g", [c]),
  beta: param("b", [c]),
  mean: param("m", [c]),
  variance: param("v", [c]),
});

// deno-fmt-ignore
/** Each row: a wrong call, the op the error must name, and strings the message must contain. */
const table: [string, () => Tensor, string, string[]][] = [
  ["conv channels", () => conv2d(x, param("w", [4, 2, 3, 3])), "conv2d", ["[2,3,8,8]", "[4,2,3,3]"]],
  ["conv rank", () => conv2d(input("v", [3, 8, 8]), param("w", [4, 3, 3, 3])), "conv2d", ["[3,8,8]"]],
  ["conv kernel too big", () => conv2d(x, param("w", [4, 3, 9, 9])), "conv2d", ["[2,3,8,8]", "[4,3,9,9]"]],
  ["conv groups", () => conv2d(x, param("w", [4, 1, 3, 3]), { groups: 2 }), "conv2d", ["groups 2"]],
  ["conv stride 0", () => conv2d(x, param("w", [4, 3, 3, 3]), { stride: 0 }), "conv2d", ["stride"]],
  ["add broadcast", () => add(x, input("y", [2, 4, 8, 8])), "add", ["[2,3,8,8]", "[2,4,8,8]"]],
  ["mul broadcast", () => mul(x, input("y", [4, 1, 1])), "mul", ["[2,3,8,8]", "[4,1,1]"]],
  ["batchNorm params", () => batchNorm(x, bn(4)), "batchNorm", ["[4]", "[2,3,8,8]"]],
  ["batchNorm rank", () => batchNorm(input("v", [2, 3, 4]), bn(3)), "batchNorm", ["[2,3,4]"]],
  ["linear features", () => linear(input("f", [2, 5]), param("w", [10, 4])), "linear", ["[2,5]", "[10,4]"]],
  ["linear bias", () => linear(input("f", [2, 4]), param("w", [10, 4]), param("b", [9])), "linear", ["[9]"]],
  ["matmul inner", () => matmul(input("a", [2, 3]), input("b", [4, 5])), "matmul", ["[2,3]", "[4,5]"]],
  ["pool too big", () => maxPool2d(x, { kernel: 9 }), "maxPool2d", ["[2,3,8,8]"]],
  ["avg pool padding", () => avgPool2d(x, { kernel: 2, padding: 2 }), "avgPool2d", ["[2,3,8,8]"]],
  ["gap rank", () => globalAvgPool(input("f", [2, 5])), "globalAvgPool", ["[2,5]"]],
  ["channelMean rank", () => channelMean(input("f", [2, 5])), "channelMean", ["[2,5]"]],
  ["upsample factor", () => upsampleNearest(x, 1.5), "upsampleNearest", ["1.5"]],
  ["reshape size", () => reshape(x, [5, -1]), "reshape", ["[2,3,8,8]", "[5,-1]"]],
  [
    "labels",
    () => softmaxCrossEntropy(input("l", [2, 10]), input("y", [3], "i32")),
    "softmaxCrossEntropy",
    ["[3]", "[2,10]"],
  ],
  ["input shape", () => input("bad", [2, 0]), "input", ["[2,0]"]],
  ["param shape", () => param("bad", [2.5]), "param", ["[2.5]"]],
];

for (const [label, call, op, parts] of table) {
  Deno.test(`ShapeError: ${label}`, () => {
    assert.throws(call, (e: unknown) => {
      assert.ok(e instanceof ShapeError, `expected ShapeError, got ${e}`);
      assert.equal(e.op, op);
      assert.ok(e.message.startsWith(`${op}:`), e.message);
      for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" lacks ${p}`);
      return true;
    });
  });
}
