/**
 * Depthwise-conv benchmark at MobileNetV2's depthwise shapes (224², batch 8):
 * the WGSL register-blocked conv kernels (what the WebGPU runtime lowers a
 * depthwise conv to) and the CPU runtime's direct depthwise loops, forward
 * and both gradients. Depthwise convs do 9 multiply-adds per element read,
 * so they are memory-bound: each row gives ms, GFLOP/s (2 per multiply-add)
 * and GB/s (the bytes each pass must read and write once: input, weights and
 * output), measured in the same run. (Naive one-invocation-per-element WGSL
 * depthwise kernels measured 1.3–35× slower than these on Mesa llvmpipe, so
 * the runtime keeps the general kernels.)
 *
 * Usage: `XDG_RUNTIME_DIR=/tmp deno run -A bench/depthwise.ts [--quick] [--json]`.
 * @module
 */
import { conv2d, conv2dGradInput, conv2dGradWeight } from "../kernels/conv2d.ts";
import { type ConvGeometry, convGeometry } from "../lib/graph/mod.ts";
import type { Kernel } from "../kernels/wgsl.ts";
import { requestDevice } from "../lib/runtime/webgpu/device.ts";
import { KernelRunner } from "../lib/runtime/webgpu/run_kernel.ts";
import {
  depthwiseForward,
  depthwiseGradInput,
  depthwiseGradWeight,
} from "../lib/runtime/cpu/kernels/depthwise.ts";

/** One measured pass. */
interface Row {
  readonly shape: string;
  readonly pass: string;
  readonly impl: string;
  readonly ms: number;
  readonly gflops: number;
  readonly gbps: number;
}

const SHAPES: readonly (readonly [number, number, number, number])[] = [
  [8, 96, 112, 2],
  [8, 144, 56, 1],
  [8, 384, 14, 1],
  [8, 960, 7, 1],
];

type Pass = "fwd" | "gradInput" | "gradWeight";

function sizes(g: ConvGeometry) {
  const n = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  return { x: n(g.x), w: n(g.w), y: n(g.y) };
}

/** Buffer sizes (floats) of a pass in binding order, and the bytes it moves. */
function io(g: ConvGeometry, pass: Pass): { buffers: number[]; bytes: number } {
  const { x, w, y } = sizes(g);
  const buffers = pass === "fwd" ? [x, w, y] : pass === "gradInput" ? [y, w, x] : [x, y, w];
  return { buffers, bytes: 4 * (x + w + y) };
}

async function timeGpu(r: KernelRunner, k: Kernel, buffers: number[]): Promise<number> {
  const bufs = buffers.map((n) => r.buffer(n));
  try {
    await r.dispatch(k, bufs);
    let t = performance.now();
    await r.dispatch(k, bufs);
    const once = performance.now() - t;
    const reps = Math.max(1, Math.min(50, Math.ceil(300 / once)));
    let best = Infinity;
    for (let i = 0; i < 2; i++) {
      t = performance.now();
      await r.dispatch(k, bufs, reps);
      best = Math.min(best, (performance.now() - t) / reps);
    }
    return best;
  } finally {
    for (const b of bufs) b.destroy();
  }
}

function timeCpu(g: ConvGeometry, pass: Pass): number {
  const { x, w, y } = sizes(g);
  const a = new Float32Array(x).fill(0.5), wt = new Float32Array(w).fill(0.1);
  const b = new Float32Array(y).fill(0.25);
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    if (pass === "fwd") depthwiseForward(g, a, wt, b.fill(0));
    else if (pass === "gradInput") depthwiseGradInput(g, b, wt, a.fill(0));
    else depthwiseGradWeight(g, a, b, wt.fill(0));
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

async function main(args: readonly string[]) {
  const quick = args.includes("--quick");
  const json = args.includes("--json");
  const { device, adapterName } = await requestDevice();
  const runner = new KernelRunner(device);
  const rows: Row[] = [];
  const wgsl: Record<Pass, (g: ConvGeometry) => Kernel> = {
    fwd: conv2d,
    gradInput: conv2dGradInput,
    gradWeight: conv2dGradWeight,
  };
  for (const [n, c, hw, s] of quick ? SHAPES.slice(0, 1) : SHAPES) {
    const g = convGeometry([n, c, hw, hw], [c, 1, 3, 3], { stride: s, padding: 1, groups: c });
    const shape = `[${n},${c},${hw},${hw}] s${s}`;
    const flops = 2 * sizes(g).y * 9;
    for (const pass of ["fwd", "gradInput", "gradWeight"] as const) {
      const { buffers, bytes } = io(g, pass);
      const add = (impl: string, ms: number) =>
        rows.push({ shape, pass, impl, ms, gflops: flops / ms / 1e6, gbps: bytes / ms / 1e6 });
      add("wgsl", await timeGpu(runner, wgsl[pass](g), buffers));
      add("cpu depthwise", timeCpu(g, pass));
    }
  }
  if (json) console.log(JSON.stringify({ adapter: adapterName, rows }));
  else {
    console.log(`adapter: ${adapterName}`);
    for (const r of rows) {
      console.log(
        `${r.shape.padEnd(20)} ${r.pass.padEnd(10)} ${r.impl.padEnd(18)} ${
          r.ms.toFixed(2).padStart(8)
        } ms ${r.gflops.toFixed(2).padStart(7)} GFLOP/s ${r.gbps.toFixed(2).padStart(7)} GB/s`,
      );
    }
  }
  device.destroy();
}

if (import.meta.main) await main(Deno.args.filter((a) => a !== "--"));
