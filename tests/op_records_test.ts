/**
 * The op records: one per op name, and every per-op table complete by type.
 * The `@ts-expect-error` cases are checked by `deno check`/`deno test`: if
 * omitting an op's entry ever stopped being a type error, the unused
 * directive would fail the type check.
 */
import assert from "node:assert/strict";
import {
  batchNorm,
  conv2d,
  inPlaceArgs,
  input,
  isPerSample,
  node,
  OP_NAMES,
  type OpName,
  OPS,
  param,
  reshape,
} from "../lib/graph/mod.ts";
import { CPU_KERNELS } from "../lib/runtime/cpu/mod.ts";
import type { CpuKernel } from "../lib/runtime/cpu/kernels/kernel.ts";
import { LOWERINGS } from "../lib/runtime/webgpu/lower.ts";

Deno.test("a per-op table that omits an op is a type error", () => {
  const { binarize: _cpu, ...cpuWithoutBinarize } = CPU_KERNELS;
  // @ts-expect-error: "binarize" is missing.
  const cpu: { readonly [K in OpName]: CpuKernel | null } = cpuWithoutBinarize;
  const { relu: _def, ...opsWithoutRelu } = OPS;
  // @ts-expect-error: "relu" is missing.
  const ops: typeof OPS = opsWithoutRelu;
  assert.equal(Object.keys(cpu).length, OP_NAMES.length - 1);
  assert.equal(Object.keys(ops).length, OP_NAMES.length - 1);
});

Deno.test("a node of an unknown op is a type error", () => {
  const x = input("x", [4]);
  // @ts-expect-error: "relu7" is not an op name.
  const y = node("relu7", [x], [4]);
  assert.equal(y.op, "relu7");
});

Deno.test("OPS has exactly one record per op name", () => {
  assert.deepEqual(Object.keys(OPS).sort(), [...OP_NAMES].sort());
  assert.equal(new Set(OP_NAMES).size, OP_NAMES.length);
});

Deno.test("the runtimes' tables cover every op; only the fed sources have no kernel", () => {
  for (const table of [CPU_KERNELS, LOWERINGS]) {
    assert.deepEqual(Object.keys(table).sort(), [...OP_NAMES].sort());
    const none = OP_NAMES.filter((op) => table[op] === null);
    assert.deepEqual(none, ["input", "param"]);
  }
});

Deno.test("records that depend on attributes: eval batch norm is in place and per sample, batch mode is neither", () => {
  const x = input("x", [4, 3, 2, 2]);
  const p = (k: string) => param(k, [3]);
  const stats = { gamma: p("g"), beta: p("b"), mean: p("m"), variance: p("v") };
  const evalBn = batchNorm(x, stats, { mode: "eval" });
  const batchBn = batchNorm(x, stats, { mode: "batch" });
  assert.deepEqual(inPlaceArgs(evalBn), [0]);
  assert.equal(isPerSample(evalBn), true);
  assert.deepEqual(inPlaceArgs(batchBn), []);
  assert.equal(isPerSample(batchBn), false);
  assert.equal(isPerSample(reshape(x, [4, 12])), true);
  assert.equal(isPerSample(reshape(x, [2, 24])), false);
});

Deno.test("only conv, its gradients, the fused conv and matmul count FLOPs; a conv counts 2 per multiply-add", () => {
  const y = conv2d(input("x", [2, 3, 8, 8]), param("w", [4, 3, 3, 3]), { padding: 1 });
  const counted = OP_NAMES.filter((op) => OPS[op].flops !== null);
  assert.deepEqual(counted, [
    "conv2d",
    "conv2dGradInput",
    "conv2dGradWeight",
    "conv2dBn",
    "matmul",
  ]);
  assert.equal(OPS.conv2d.flops!(y), 2 * 2 * 4 * 3 * 9 * 8 * 8);
});
