/**
 * WGSL for depthwise convolution (groups = Cin = Cout, one `KH×KW` filter
 * per channel), forward and both gradients, shapes and attributes baked in.
 * Depthwise convs do `KH·KW` multiply-adds per element they read, so they
 * are memory-bound: one invocation per output (or input) element reads its
 * taps directly, and the weight gradient gives each (channel, tap) one
 * workgroup that reduces over the batch and positions.
 *
 * Bindings: {@linkcode depthwiseConv2d} 0 `x`, 1 `wt`, 2 `y`;
 * {@linkcode depthwiseConv2dGradInput} 0 `dy`, 1 `wt`, 2 `dx`;
 * {@linkcode depthwiseConv2dGradWeight} 0 `x`, 1 `dy`, 2 `dw`.
 * @module
 */
import type { ConvGeometry } from "../lib/graph/mod.ts";
import { bindings, type Kernel, perIndex, perSegment, u32, unravel } from "./wgsl.ts";

/** `y[b,c,oh,ow] = Σ_{i,j} w[c,i,j] · x[b,c,oh·sh−ph+i·dh, ow·sw−pw+j·dw]`. */
export function depthwiseConv2d(g: ConvGeometry): Kernel {
  const [n, c, h, w] = g.x, [, , ho, wo] = g.y, [, , kh, kw] = g.w;
  const [sh, sw] = g.stride, [ph, pw] = g.padding, [dh, dw] = g.dilation;
  const taps: string[] = [];
  for (let i = 0; i < kh; i++) {
    taps.push(`  { let ih = i32(c1 * ${u32(sh)}) + ${i * dh - ph}i;`);
    taps.push(`    if (ih >= 0i && ih < ${h}i) {`);
    taps.push(`      let row = (c0 * ${u32(h)} + u32(ih)) * ${u32(w)};`);
    for (let j = 0; j < kw; j++) {
      taps.push(`      { let iw = i32(c2 * ${u32(sw)}) + ${j * dw - pw}i;`);
      taps.push(
        `        if (iw >= 0i && iw < ${w}i) { acc = fma(wt[wb + ${
          u32(i * kw + j)
        }], x[row + u32(iw)], acc); } }`,
      );
    }
    taps.push(`    } }`);
  }
  const body = `${unravel("i", [n * c, ho, wo], "c")}
  let wb = (c0 % ${u32(c)}) * ${u32(kh * kw)};
  var acc = 0.0f;
${taps.join("\n")}
  y[i] = acc;`;
  const decls = bindings([["x", "f32"], ["wt", "f32"], ["y", "f32"]]);
  return perIndex("depthwiseConv2d", decls, n * c * ho * wo, body);
}

/** `dx[b,c,ih,iw] = Σ w[c,i,j] · dy[b,c,oh,ow]` over the taps with `oh·sh − ph + i·dh = ih` (likewise w). */
export function depthwiseConv2dGradInput(g: ConvGeometry): Kernel {
  const [n, c, h, w] = g.x, [, , ho, wo] = g.y, [, , kh, kw] = g.w;
  const [sh, sw] = g.stride, [ph, pw] = g.padding, [dh, dw] = g.dilation;
  const taps: string[] = [];
  for (let i = 0; i < kh; i++) {
    taps.push(`  { let nh = i32(c1) + ${ph - i * dh}i;`);
    taps.push(`    if (nh >= 0i && nh % ${sh}i == 0i && nh / ${sh}i < ${ho}i) {`);
    taps.push(`      let row = (c0 * ${u32(ho)} + u32(nh / ${sh}i)) * ${u32(wo)};`);
    for (let j = 0; j < kw; j++) {
      taps.push(`      { let nw = i32(c2) + ${pw - j * dw}i;`);
      taps.push(
        `        if (nw >= 0i && nw % ${sw}i == 0i && nw / ${sw}i < ${wo}i) { acc = fma(wt[wb + ${
          u32(i * kw + j)
        }], dy[row + u32(nw / ${sw}i)], acc); } }`,
      );
    }
    taps.push(`    } }`);
  }
  const body = `${unravel("i", [n * c, h, w], "c")}
  let wb = (c0 % ${u32(c)}) * ${u32(kh * kw)};
  var acc = 0.0f;
${taps.join("\n")}
  dx[i] = acc;`;
  const decls = bindings([["dy", "f32"], ["wt", "f32"], ["dx", "f32"]]);
  return perIndex("depthwiseConv2dGradInput", decls, n * c * h * w, body);
}

/** `dw[c,i,j] = Σ_{b,oh,ow} dy[b,c,oh,ow] · x[b,c,oh·sh−ph+i·dh, ow·sw−pw+j·dw]`: one workgroup per (c, i, j). */
export function depthwiseConv2dGradWeight(g: ConvGeometry): Kernel {
  const [n, c, h, w] = g.x, [, , ho, wo] = g.y, [, , kh, kw] = g.w;
  const [sh, sw] = g.stride, [ph, pw] = g.padding, [dh, dw] = g.dilation;
  const length = n * ho * wo;
  const body = `  let ch = seg / ${u32(kh * kw)};
  let tap = seg % ${u32(kh * kw)};
  let di = i32(tap / ${u32(kw)}) * ${dh}i - ${ph}i;
  let dj = i32(tap % ${u32(kw)}) * ${dw}i - ${pw}i;
  var acc = 0.0f;
  for (var j = lid; j < ${u32(length)}; j = j + SIZE) {
${unravel("j", [n, ho, wo], "p")}
    let ih = i32(p1 * ${u32(sh)}) + di;
    let iw = i32(p2 * ${u32(sw)}) + dj;
    if (ih >= 0i && ih < ${h}i && iw >= 0i && iw < ${w}i) {
      let plane = p0 * ${u32(c)} + ch;
      acc = fma(dy[(plane * ${u32(ho)} + p1) * ${u32(wo)} + p2],
        x[(plane * ${u32(h)} + u32(ih)) * ${u32(w)} + u32(iw)], acc);
    }
  }
  let total = wgSum(acc, lid);
  if (lid == 0u) { dw[seg] = total; }`;
  const decls = bindings([["x", "f32"], ["dy", "f32"], ["dw", "f32"]]);
  return perSegment("depthwiseConv2dGradWeight", decls, c * kh * kw, length, body);
}
