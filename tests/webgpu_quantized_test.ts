/**
 * Frozen u8/f16 weights on WebGPU: the packed conv2d, conv2dGradInput and
 * matmul kernels against the CPU's f32 kernels on the dequantised values
 * (random shapes), and the weight buffers hold the packed bytes. Tolerance:
 * |gpu − cpu| ≤ 1e-4·(1 + |cpu|).
 *
 * These tests need a WebGPU adapter and fail with NoAdapterError without one
 * (Mesa's `mesa-vulkan-drivers` provides a CPU adapter).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { graph, type Tensor } from "../lib/graph/mod.ts";
import { executeCpu } from "../lib/runtime/cpu/mod.ts";
import type { TensorData } from "../lib/runtime/data.ts";
import { dequantize, type QuantizedTensor } from "../lib/runtime/quantized.ts";
import { createWebGpuRuntime, type WebGpuRuntime } from "../lib/runtime/webgpu/runtime.ts";
import { runGraph } from "../lib/runtime/run_graph.ts";
import {
  anyConvCase,
  convGraphs,
  matmulCase,
  matmulGraph,
  quantize,
  random,
  storages,
} from "./quantized_cases.ts";

let shared: Promise<WebGpuRuntime> | null = null;

function runtime(): Promise<WebGpuRuntime> {
  shared ??= createWebGpuRuntime({ maxCachedPlans: 2 });
  return shared;
}

function gpuTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

/** The GPU result of `outputs` with the quantised `w` against the CPU on the dequantised `w`. */
async function same(
  outputs: Tensor[],
  f32Outputs: Tensor[],
  inputs: Record<string, TensorData>,
  w: QuantizedTensor,
): Promise<void> {
  const gpu = await runGraph(await runtime(), graph(...outputs), {
    inputs,
    params: new Map([["w", w]]),
  });
  const cpu = executeCpu(graph(...f32Outputs), {
    inputs,
    params: new Map([["w", dequantize(w)]]),
  });
  cpu.forEach((c, i) => {
    const g = gpu[i] as Float32Array;
    assert.equal(g.length, c.length);
    for (let j = 0; j < c.length; j++) {
      const a = g[j], b = (c as Float32Array)[j];
      assert.ok(Math.abs(a - b) <= 1e-4 * (1 + Math.abs(b)), `output ${i}[${j}]: ${a} vs ${b}`);
    }
  });
}

gpuTest(
  "webgpu conv2d and conv2dGradInput (also depthwise) read packed u8/f16 weights",
  async () => {
    await fc.assert(
      fc.asyncProperty(anyConvCase, storages, async (c, [storage, scales]) => {
        const q = convGraphs(c, storage, scales);
        const w = quantize(random(q.ws.reduce((a, b) => a * b), c.seed ^ 7), q.ws, storage, scales);
        await same(q.outputs, convGraphs(c, "f32", scales).outputs, q.feeds, w);
      }),
      { numRuns: 12 },
    );
  },
);

gpuTest("webgpu matmul reads a packed u8/f16 operand (either side, any transposes)", async () => {
  await fc.assert(
    fc.asyncProperty(matmulCase, storages, async (c, [storage, scales]) => {
      const q = matmulGraph(c, storage, scales);
      const w = quantize(random(q.ws[0] * q.ws[1], c.seed), q.ws, storage, scales);
      await same(q.outputs, matmulGraph(c, "f32", scales).outputs, q.feeds, w);
    }),
    { numRuns: 16 },
  );
});
