/**
 * Depthwise-conv benchmark at MobileNetV2's depthwise shapes (224², batch 8;
 * stride 2 both as a plain 3×3 pad-1 conv and as the model reaches the conv,
 * TF 'same': the 3×3 filter zero-padded to 4×4 at the top and left, pad 1):
 * the WGSL depthwise kernels (`kernels/depthwise.ts`, what the WebGPU
 * runtime lowers a depthwise conv to), the general register-blocked conv
 * kernels (`kernels/conv2d.ts`, one channel per tile) and the CPU runtime's
 * direct depthwise loops, forward and both gradients. Depthwise convs do
 * `KH·KW` multiply-adds per output, so they are memory-bound: each row gives
 * ms, GFLOP/s (2 per multiply-add of the filter as bound, zero taps
 * included) and GB/s (the bytes each pass must read and write once: input,
 * weights and output), measured in the same run.
 *
 * Usage: `XDG_RUNTIME_DIR=/tmp deno run -A bench/depthwise.ts [--quick] [--json]`.
 * @module
 */
import { conv2d, conv2dGradInput, conv2dGradWeight } from "../kernels/conv2d.ts";
import {
  depthwiseConv2d,
  depthwiseGradInput as wgslGradInput,
  depthwiseGradWeight as wgslGradWeight,
} from "../kernels/depthwise.ts";
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

/** `[batch, channels, side, stride, kernel, padding]`. */
const SHAPES: readonly (readonly [number, number, number, number, number, number])[] = [
  [8, 96, 112, 2, 3, 1],
  [8, 96, 112, 2, 4, 1],
  [8, 144, 56, 1, 3, 1],
  [8, 384, 14, 1, 3, 1],
  [8, 960, 7, 1, 3, 1],
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

async function timeGpu(
  r: KernelRunner,
  k: Kernel | readonly Kernel[],
  buffers: number[],
): Promise<number> {
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
  const general: Record<Pass, (g: ConvGeometry) => Kernel> = {
    fwd: conv2d,
    gradInput: conv2dGradInput,
    gradWeight: conv2dGradWeight,
  };
  for (const [n, c, hw, s, k, pad] of quick ? SHAPES.slice(0, 2) : SHAPES) {
    const g = convGeometry([n, c, hw, hw], [c, 1, k, k], { stride: s, padding: pad, groups: c });
    const shape = `[${n},${c},${hw},${hw}] ${k}x${k} s${s}`;
    const flops = 2 * sizes(g).y * k * k;
    for (const pass of ["fwd", "gradInput", "gradWeight"] as const) {
      const { buffers, bytes } = io(g, pass);
      const add = (impl: string, ms: number) =>
        rows.push({ shape, pass, impl, ms, gflops: flops / ms / 1e6, gbps: bytes / ms / 1e6 });
      const dw = pass === "fwd"
        ? depthwiseConv2d(g)
        : pass === "gradInput"
        ? wgslGradInput(g)
        : wgslGradWeight(g);
      const scratch = "kernels" in dw ? [dw.scratchBytes / 4] : [];
      add(
        "wgsl depthwise",
        await timeGpu(runner, "kernels" in dw ? dw.kernels : dw, [
          ...buffers,
          ...scratch,
        ]),
      );
      add("wgsl general conv", await timeGpu(runner, general[pass](g), buffers));
      add("cpu depthwise", timeCpu(g, pass));
    }
  }
  if (json) console.log(JSON.stringify({ adapter: adapterName, rows }));
  else {
    console.log(`adapter: ${adapterName}`);
    for (const r of rows) {
      console.log(
        `${r.shape.padEnd(26)} ${r.pass.padEnd(10)} ${r.impl.padEnd(18)} ${
          r.ms.toFixed(2).padStart(8)
        } ms ${r.gflops.toFixed(2).padStart(7)} GFLOP/s ${r.gbps.toFixed(2).padStart(7)} GB/s`,
      );
    }
  }
  device.destroy();
}

if (import.meta.main) await main(Deno.args.filter((a) => a !== "--"));
