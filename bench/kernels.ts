/**
 * Kernel benchmark: GFLOP/s of the WGSL matmul and conv2d kernels (forward,
 * input gradient, weight gradient) at ResNet-20 (CIFAR, batch 32) and
 * representative ResNet-50 (224×224, batch 8) shapes, next to OpenBLAS sgemm
 * (numpy through `/usr/bin/python3`) on the equivalent GEMM shapes, measured
 * in the same run.
 *
 * Usage: `deno run -A bench/kernels.ts [--json] [--quick]` (a leading `--` is
 * accepted). `--json` prints one object `{ adapter, results: [{ name, gflops,
 * openblasGflops }] }`; `openblasGflops` is null when numpy is unavailable.
 * @module
 */
import { z } from "zod";
import { type FlagSpecs, parseFlags } from "../lib/cli/flags.ts";
import { EXIT_CODES_HELP, runCli } from "../lib/cli/run.ts";
import { matmul } from "../kernels/matmul.ts";
import { conv2d, conv2dGradInput, conv2dGradWeight } from "../kernels/conv2d.ts";
import { convGeometry } from "../lib/graph/mod.ts";
import type { Kernel } from "../kernels/wgsl.ts";
import { requestDevice } from "../lib/runtime/webgpu/device.ts";
import { KernelRunner } from "../lib/runtime/webgpu/run_kernel.ts";

/** One benchmark case: a kernel, its buffer sizes (floats) and the equivalent GEMM. */
interface Case {
  readonly name: string;
  readonly kernel: Kernel;
  readonly buffers: readonly number[];
  readonly gemm: readonly [number, number, number];
}

/** One result row. */
interface Row {
  readonly name: string;
  readonly ms: number;
  readonly gflops: number;
  readonly openblasGflops: number | null;
}

function matmulCase(s: number): Case {
  return {
    name: `matmul ${s}³`,
    kernel: matmul({ m: s, k: s, n: s, transA: false, transB: false }),
    buffers: [s * s, s * s, s * s],
    gemm: [s, s, s],
  };
}

function convCases(
  label: string,
  n: number,
  cin: number,
  cout: number,
  hw: number,
  k: number,
  s: number,
): Case[] {
  const p = Math.floor(k / 2);
  const g = convGeometry([n, cin, hw, hw], [cout, cin, k, k], { stride: s, padding: p });
  const [, , ho, wo] = g.y;
  const nx = n * cin * hw * hw, nw = cout * cin * k * k, ny = n * cout * ho * wo;
  const pix = n * ho * wo, red = cin * k * k;
  const tag = `${label} ${cin}→${cout} ${k}×${k}/${s} @${hw}`;
  return [
    { name: `${tag} fwd`, kernel: conv2d(g), buffers: [nx, nw, ny], gemm: [cout, red, pix] },
    {
      name: `${tag} dX`,
      kernel: conv2dGradInput(g),
      buffers: [ny, nw, nx],
      gemm: [red, cout, pix],
    },
    {
      name: `${tag} dW`,
      kernel: conv2dGradWeight(g),
      buffers: [nx, ny, nw],
      gemm: [cout, pix, red],
    },
  ];
}

/** The benchmark cases (`quick`: matmul and two ResNet-20 layers only). */
export function benchCases(quick: boolean): Case[] {
  const r20: [number, number, number, number, number][] = [
    [3, 16, 32, 3, 1],
    [16, 16, 32, 3, 1],
    [16, 32, 32, 3, 2],
    [32, 32, 16, 3, 1],
    [32, 64, 16, 3, 2],
    [64, 64, 8, 3, 1],
  ];
  const r50: [number, number, number, number, number][] = [
    [3, 64, 224, 7, 2],
    [64, 64, 56, 3, 1],
    [256, 64, 56, 1, 1],
    [256, 256, 14, 3, 1],
    [512, 1024, 28, 1, 2],
  ];
  const cases = [matmulCase(512), matmulCase(1024)];
  for (const [cin, cout, hw, k, s] of quick ? r20.slice(1, 3) : r20) {
    cases.push(...convCases("resnet20", 32, cin, cout, hw, k, s));
  }
  if (!quick) {
    for (const [cin, cout, hw, k, s] of r50) {
      cases.push(...convCases("resnet50", 8, cin, cout, hw, k, s));
    }
  }
  return cases;
}

/**
 * Time in ms of one dispatch: dispatches are recorded `reps` at a time in
 * one submission (as the runtime batches a step), so that the fixed cost of
 * waiting for the queue (about 10 ms with Deno on Mesa) is spread over at
 * least ~300 ms of work; best of two such batches.
 */
async function timeKernel(r: KernelRunner, c: Case): Promise<number> {
  const bufs = c.buffers.map((n) => r.buffer(n));
  try {
    await r.dispatch(c.kernel, bufs);
    let t = performance.now();
    await r.dispatch(c.kernel, bufs);
    const once = performance.now() - t;
    const reps = Math.max(1, Math.min(50, Math.ceil(300 / once)));
    let best = Infinity;
    for (let i = 0; i < 2; i++) {
      t = performance.now();
      await r.dispatch(c.kernel, bufs, reps);
      best = Math.min(best, (performance.now() - t) / reps);
    }
    return best;
  } finally {
    for (const b of bufs) b.destroy();
  }
}

const NUMPY_SCRIPT = `
import json, sys, time
import numpy as np
out = []
for m, k, n in json.loads(sys.argv[1]):
    a = np.random.rand(m, k).astype(np.float32)
    b = np.random.rand(k, n).astype(np.float32)
    a @ b
    best, spent, runs = 1e9, 0.0, 0
    while runs < 3 or (spent < 0.3 and runs < 20):
        t = time.perf_counter(); a @ b; dt = time.perf_counter() - t
        best, spent, runs = min(best, dt), spent + dt, runs + 1
    out.append(2.0 * m * k * n / best / 1e9)
print(json.dumps(out))
`;

/** OpenBLAS sgemm GFLOP/s per `[m,k,n]` through numpy, or nulls when unavailable. */
async function openblas(shapes: readonly (readonly [number, number, number])[]): Promise<
  (number | null)[]
> {
  try {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", NUMPY_SCRIPT, JSON.stringify(shapes)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) return shapes.map(() => null);
    return JSON.parse(new TextDecoder().decode(out.stdout)) as number[];
  } catch {
    return shapes.map(() => null);
  }
}

const FLAGS = {
  json: { type: "boolean" },
  quick: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies FlagSpecs;

const KernelFlags = z.object({
  json: z.boolean().default(false),
  quick: z.boolean().default(false),
  help: z.boolean().default(false),
});

async function main(args: readonly string[]): Promise<void> {
  const { json, quick, help } = parseFlags(args, FLAGS, KernelFlags);
  if (help) {
    return console.log(`usage: deno task bench:kernels [--json] [--quick]\n${EXIT_CODES_HELP}`);
  }
  const { device, adapterName } = await requestDevice();
  const runner = new KernelRunner(device);
  const cases = benchCases(quick);
  const rows: Row[] = [];
  const blas = await openblas(cases.map((c) => c.gemm));
  for (const [i, c] of cases.entries()) {
    const ms = await timeKernel(runner, c);
    const [m, k, n] = c.gemm;
    const row = { name: c.name, ms, gflops: (2 * m * k * n) / ms / 1e6, openblasGflops: blas[i] };
    rows.push(row);
    if (!json) {
      const ob = row.openblasGflops;
      console.log(
        `${c.name.padEnd(40)} ${ms.toFixed(1).padStart(8)} ms ${
          row.gflops.toFixed(1).padStart(7)
        } GFLOP/s` +
          (ob === null
            ? ""
            : `   OpenBLAS ${ob.toFixed(1).padStart(6)}  ratio ${(row.gflops / ob).toFixed(2)}`),
      );
    }
  }
  if (json) {
    const results = rows.map(({ name, gflops, openblasGflops }) => ({
      name,
      gflops: Number(gflops.toFixed(2)),
      openblasGflops: openblasGflops === null ? null : Number(openblasGflops.toFixed(2)),
    }));
    console.log(JSON.stringify({ adapter: adapterName, results }));
  } else console.log(`adapter: ${adapterName}`);
  device.destroy();
}

if (import.meta.main) await runCli("bench:kernels", main);
