/**
 * Parity of the register-blocked WGSL kernels (kernels/matmul.ts,
 * kernels/conv2d.ts, kernels/depthwise.ts) with a plain TypeScript
 * reference, on random small shapes: odd sizes, strides 1–3, padding,
 * dilation, groups, and the depthwise kernels' strips.
 *
 * Tolerance: |gpu − ref| ≤ 1e-4 · (1 + Σ|terms|) per element, where Σ|terms|
 * is the sum of the absolute products that make the element (f32 sums in a
 * different order differ by a few ulps of that magnitude).
 *
 * Without a WebGPU adapter these tests fail with NoAdapterError (install
 * Mesa's `mesa-vulkan-drivers libvulkan1`); they never skip.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { matmul } from "../kernels/matmul.ts";
import { conv2d, conv2dGradInput, conv2dGradWeight } from "../kernels/conv2d.ts";
import {
  depthwiseConv2d,
  depthwiseGradInput,
  depthwiseGradWeight,
  depthwiseTiling,
  everyInputTapped,
} from "../kernels/depthwise.ts";
import { type ConvGeometry, convGeometry } from "../lib/graph/mod.ts";
import { requestDevice } from "../lib/runtime/webgpu/device.ts";
import { KernelRunner } from "../lib/runtime/webgpu/run_kernel.ts";

const RUNS = 25;
const REL = 1e-4;

let runner: KernelRunner | undefined;
async function gpu(): Promise<KernelRunner> {
  if (!runner) runner = new KernelRunner((await requestDevice()).device);
  return runner;
}

function seeded(n: number, seed: number): Float32Array<ArrayBuffer> {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** Reference result and magnitude (Σ|terms|) per element. */
interface Ref {
  readonly value: Float64Array;
  readonly mag: Float64Array;
}

function assertClose(what: string, got: Float32Array, ref: Ref): void {
  if (got.length !== ref.value.length) throw new Error(`${what}: length ${got.length}`);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - ref.value[i]);
    if (!(err <= REL * (1 + ref.mag[i]))) {
      throw new Error(`${what}: element ${i} is ${got[i]}, expected ${ref.value[i]} (err ${err})`);
    }
  }
}

function matmulRef(
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  a: Float32Array,
  b: Float32Array,
): Ref {
  const value = new Float64Array(m * n);
  const mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0, t = 0;
      for (let r = 0; r < k; r++) {
        const p = (transA ? a[r * m + i] : a[i * k + r]) * (transB ? b[j * k + r] : b[r * n + j]);
        s += p;
        t += Math.abs(p);
      }
      value[i * n + j] = s;
      mag[i * n + j] = t;
    }
  }
  return { value, mag };
}

/** Visits every (output, input, weight) index triple of a convolution. */
function forEachTap(
  g: ConvGeometry,
  f: (yi: number, xi: number, wi: number) => void,
): void {
  const [n, cin, h, w] = g.x;
  const [cout, cinG, kh, kw] = g.w;
  const [, , ho, wo] = g.y;
  const coutG = cout / g.groups;
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cout; co++) {
      const grp = Math.floor(co / coutG);
      for (let oh = 0; oh < ho; oh++) {
        for (let ow = 0; ow < wo; ow++) {
          const yi = ((b * cout + co) * ho + oh) * wo + ow;
          for (let c = 0; c < cinG; c++) {
            for (let i = 0; i < kh; i++) {
              const ih = oh * g.stride[0] - g.padding[0] + i * g.dilation[0];
              if (ih < 0 || ih >= h) continue;
              for (let j = 0; j < kw; j++) {
                const iw = ow * g.stride[1] - g.padding[1] + j * g.dilation[1];
                if (iw < 0 || iw >= w) continue;
                const xi = ((b * cin + grp * cinG + c) * h + ih) * w + iw;
                f(yi, xi, ((co * cinG + c) * kh + i) * kw + j);
              }
            }
          }
        }
      }
    }
  }
}

function size(s: readonly number[]): number {
  return s.reduce((a, b) => a * b, 1);
}

const convArb = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 2 }),
    cinG: fc.integer({ min: 1, max: 5 }),
    coutG: fc.integer({ min: 1, max: 9 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 11 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    sh: fc.integer({ min: 1, max: 2 }),
    sw: fc.integer({ min: 1, max: 2 }),
    ph: fc.integer({ min: 0, max: 2 }),
    pw: fc.integer({ min: 0, max: 2 }),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.integer({ min: 1, max: 2 }),
    seed: fc.integer({ min: 1, max: 1 << 30 }),
  })
  .map((r) => {
    const g = convGeometry(
      [r.n, r.cinG * r.groups, r.h, r.w],
      [r.coutG * r.groups, r.cinG, r.kh, r.kw],
      {
        stride: [r.sh, r.sw],
        padding: [r.ph, r.pw],
        dilation: [r.dh, r.dw],
        groups: r.groups,
      },
    );
    const [, , ho, wo] = g.y;
    return { g, seed: r.seed, ho, wo };
  })
  .filter(({ ho, wo }) => ho >= 1 && wo >= 1);

Deno.test("matmul kernel matches the reference for all transposes and odd sizes", async () => {
  const r = await gpu();
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 40 }),
      fc.boolean(),
      fc.boolean(),
      fc.integer({ min: 1, max: 1 << 30 }),
      async (m, k, n, transA, transB, seed) => {
        const a = seeded(m * k, seed), b = seeded(k * n, seed + 1);
        const got = await r.run(matmul({ m, k, n, transA, transB }), [a, b], m * n);
        assertClose(
          `matmul ${m}×${k}×${n} ${transA}/${transB}`,
          got,
          matmulRef(m, k, n, transA, transB, a, b),
        );
      },
    ),
    { numRuns: RUNS * 2 },
  );
});

Deno.test("matmul kernel matches at tile-aligned sizes with every tiling", async () => {
  const r = await gpu();
  for (const [tm, tn] of [[32, 8], [16, 16], [8, 8], [4, 4]]) {
    for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
      const m = 64, k = 48, n = 32;
      const a = seeded(m * k, tm + tn), b = seeded(k * n, tm * tn);
      const kern = matmul({ m, k, n, transA, transB }, { tm, tn, wx: 8, wy: 8 });
      const got = await r.run(kern, [a, b], m * n);
      assertClose(
        `matmul ${tm}×${tn} ${transA}/${transB}`,
        got,
        matmulRef(m, k, n, transA, transB, a, b),
      );
    }
  }
});

Deno.test("conv2d forward kernel matches the reference", async () => {
  const r = await gpu();
  await fc.assert(
    fc.asyncProperty(convArb, async ({ g, seed }) => {
      const x = seeded(size(g.x), seed), w = seeded(size(g.w), seed + 7);
      const value = new Float64Array(size(g.y)), mag = new Float64Array(size(g.y));
      forEachTap(g, (yi, xi, wi) => {
        value[yi] += x[xi] * w[wi];
        mag[yi] += Math.abs(x[xi] * w[wi]);
      });
      const got = await r.run(conv2d(g), [x, w], size(g.y));
      assertClose(`conv2d ${JSON.stringify(g)}`, got, { value, mag });
    }),
    { numRuns: RUNS },
  );
});

Deno.test("conv2d input-gradient kernel matches the reference", async () => {
  const r = await gpu();
  await fc.assert(
    fc.asyncProperty(convArb, async ({ g, seed }) => {
      const dy = seeded(size(g.y), seed), w = seeded(size(g.w), seed + 7);
      const value = new Float64Array(size(g.x)), mag = new Float64Array(size(g.x));
      forEachTap(g, (yi, xi, wi) => {
        value[xi] += dy[yi] * w[wi];
        mag[xi] += Math.abs(dy[yi] * w[wi]);
      });
      const got = await r.run(conv2dGradInput(g), [dy, w], size(g.x));
      assertClose(`conv2dGradInput ${JSON.stringify(g)}`, got, { value, mag });
    }),
    { numRuns: RUNS },
  );
});

Deno.test("conv2d weight-gradient kernel matches the reference", async () => {
  const r = await gpu();
  await fc.assert(
    fc.asyncProperty(convArb, async ({ g, seed }) => {
      const x = seeded(size(g.x), seed), dy = seeded(size(g.y), seed + 7);
      const value = new Float64Array(size(g.w)), mag = new Float64Array(size(g.w));
      forEachTap(g, (yi, xi, wi) => {
        value[wi] += dy[yi] * x[xi];
        mag[wi] += Math.abs(dy[yi] * x[xi]);
      });
      const got = await r.run(conv2dGradWeight(g), [x, dy], size(g.w));
      assertClose(`conv2dGradWeight ${JSON.stringify(g)}`, got, { value, mag });
    }),
    { numRuns: RUNS },
  );
});

Deno.test("conv2d kernels match at ResNet-like shapes with larger tiles", async () => {
  const r = await gpu();
  const shapes: [number, number, number, number, number, number, number][] = [
    // n, cin, cout, hw, k, stride, pad
    [2, 16, 32, 16, 3, 2, 1],
    [1, 8, 16, 12, 3, 1, 1],
    [2, 16, 8, 8, 1, 2, 0],
  ];
  for (const [n, cin, cout, hw, k, s, p] of shapes) {
    const g = convGeometry([n, cin, hw, hw], [cout, cin, k, k], { stride: s, padding: p });
    const x = seeded(size(g.x), 3), w = seeded(size(g.w), 5), dy = seeded(size(g.y), 9);
    const ref = (pick: "y" | "x" | "w"): Ref => {
      const len = size(g[pick]);
      const value = new Float64Array(len), mag = new Float64Array(len);
      forEachTap(g, (yi, xi, wi) => {
        const [o, v] = pick === "y"
          ? [yi, x[xi] * w[wi]]
          : pick === "x"
          ? [xi, dy[yi] * w[wi]]
          : [wi, dy[yi] * x[xi]];
        value[o] += v;
        mag[o] += Math.abs(v);
      });
      return { value, mag };
    };
    assertClose("conv2d", await r.run(conv2d(g), [x, w], size(g.y)), ref("y"));
    assertClose("gradInput", await r.run(conv2dGradInput(g), [dy, w], size(g.x)), ref("x"));
    assertClose("gradWeight", await r.run(conv2dGradWeight(g), [x, dy], size(g.w)), ref("w"));
  }
});

/** Depthwise convs (widths often multiples of 4 for the vec4 rows) with a random strip. */
const depthwiseArb = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 5 }),
    h: fc.integer({ min: 1, max: 20 }),
    w: fc.oneof(fc.integer({ min: 1, max: 23 }), fc.constantFrom(4, 8, 12, 16, 24, 32)),
    k: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
    s: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    p: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
    d: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    cols: fc.integer({ min: 1, max: 16 }),
    rows: fc.integer({ min: 1, max: 20 }),
    aligned: fc.boolean(),
    seed: fc.integer({ min: 1, max: 1 << 30 }),
  })
  .map((r) => {
    const g = convGeometry([r.n, r.c, r.h, r.w], [r.c, 1, r.k[0], r.k[1]], {
      stride: r.s,
      padding: r.p,
      dilation: r.d,
      groups: r.c,
    });
    const cols = (pass: "forward" | "gradInput" | "gradWeight") =>
      r.aligned ? depthwiseTiling(g, pass).cols : r.cols;
    const tiling = (pass: "forward" | "gradInput" | "gradWeight") => ({
      cols: cols(pass),
      rows: r.rows,
      wg: 8,
    });
    return { g, seed: r.seed, tiling };
  })
  .filter(({ g }) => g.y[2] >= 1 && g.y[3] >= 1 && everyInputTapped(g));

Deno.test("the depthwise input gradient is chosen only where every input pixel has a tap", () => {
  const geo = (k: number, s: number, d = 1) =>
    convGeometry([1, 2, 7, 7], [2, 1, k, k], { stride: s, padding: 1, dilation: d, groups: 2 });
  assert.equal(everyInputTapped(geo(3, 1)), true);
  assert.equal(everyInputTapped(geo(3, 2)), true);
  assert.equal(everyInputTapped(geo(4, 2)), true);
  assert.equal(everyInputTapped(geo(1, 3)), false);
  assert.equal(everyInputTapped(geo(2, 3)), false);
  assert.equal(everyInputTapped(geo(2, 2, 2)), false);
  // stride 1, a dilated 1×2 filter over a one-pixel row: the taps land at −1 and 1.
  const jump = convGeometry([1, 1, 1, 1], [1, 1, 1, 2], {
    stride: 1,
    padding: [0, 1],
    dilation: [1, 2],
    groups: 1,
  });
  assert.equal(everyInputTapped(jump), false);
});

Deno.test("depthwise kernels match the reference at every strip (forward, input gradient with and without base, weight gradient)", async () => {
  const r = await gpu();
  await fc.assert(
    fc.asyncProperty(depthwiseArb, async ({ g, seed, tiling }) => {
      const x = seeded(size(g.x), seed), w = seeded(size(g.w), seed + 7);
      const dy = seeded(size(g.y), seed + 3), base = seeded(size(g.x), seed + 5);
      const ref = (pick: "y" | "x" | "w", plus?: Float32Array): Ref => {
        const len = size(g[pick]);
        const value = new Float64Array(len), mag = new Float64Array(len);
        if (plus) { for (let i = 0; i < len; i++) value[i] = plus[i]; }
        forEachTap(g, (yi, xi, wi) => {
          const [o, v] = pick === "y"
            ? [yi, x[xi] * w[wi]]
            : pick === "x"
            ? [xi, dy[yi] * w[wi]]
            : [wi, dy[yi] * x[xi]];
          value[o] += v;
          mag[o] += Math.abs(v);
        });
        return { value, mag };
      };
      const what = (pass: string) =>
        `${pass} ${JSON.stringify(g)} ${JSON.stringify(tiling(pass as "forward"))}`;
      const y = await r.run(depthwiseConv2d(g, tiling("forward")), [x, w], size(g.y));
      assertClose(what("forward"), y, ref("y"));
      const gi = tiling("gradInput");
      const dx = await r.run(depthwiseGradInput(g, gi), [dy, w], size(g.x));
      assertClose(what("gradInput"), dx, ref("x"));
      const dxb = await r.run(depthwiseGradInput(g, gi, true), [dy, w, base], size(g.x));
      assertClose(what("gradInput"), dxb, ref("x", base));
      const l = depthwiseGradWeight(g, tiling("gradWeight"));
      const bufs = [r.buffer(x), r.buffer(dy), r.buffer(size(g.w)), r.buffer(l.scratchBytes / 4)];
      try {
        await r.dispatch(l.kernels, bufs);
        assertClose(what("gradWeight"), await r.read(bufs[2], size(g.w)), ref("w"));
      } finally {
        for (const b of bufs) b.destroy();
      }
    }),
    { numRuns: RUNS },
  );
});
