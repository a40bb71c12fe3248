/**
 * Benchmarks of the register-blocked WGSL kernels (one dispatch each,
 * including the wait for completion). For GFLOP/s tables next to OpenBLAS
 * run `deno run -A bench/kernels.ts`.
 */
import { matmul } from "../kernels/matmul.ts";
import { conv2d, conv2dGradInput, conv2dGradWeight } from "../kernels/conv2d.ts";
import type { Kernel } from "../kernels/wgsl.ts";
import { requestDevice } from "../lib/runtime/webgpu/device.ts";
import { KernelRunner } from "../lib/runtime/webgpu/run_kernel.ts";

const runner = new KernelRunner((await requestDevice()).device);

function bench(name: string, kernel: Kernel, sizes: readonly number[]): void {
  const bufs = sizes.map((n) => runner.buffer(n));
  Deno.bench(name, async () => {
    await runner.dispatch(kernel, bufs);
  });
}

bench("matmul 256³", matmul({ m: 256, k: 256, n: 256, transA: false, transB: false }), [
  65536,
  65536,
  65536,
]);

const g = {
  x: [8, 16, 32, 32],
  w: [16, 16, 3, 3],
  y: [8, 16, 32, 32],
  stride: [1, 1] as [number, number],
  padding: [1, 1] as [number, number],
  dilation: [1, 1] as [number, number],
  groups: 1,
};
const nx = 8 * 16 * 32 * 32, nw = 16 * 16 * 9;
bench("conv2d 16→16 3×3 @32, batch 8", conv2d(g), [nx, nw, nx]);
bench("conv2d grad-input 16→16 3×3 @32, batch 8", conv2dGradInput(g), [nx, nw, nx]);
bench("conv2d grad-weight 16→16 3×3 @32, batch 8", conv2dGradWeight(g), [nx, nx, nw]);
