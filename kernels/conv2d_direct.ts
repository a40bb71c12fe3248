/**
 * Direct WGSL convolution and its two gradients, one thread per output
 * element (a workgroup per weight for the weight gradient): the simple,
 * correct fallback for any stride, padding, dilation and groups.
 * @module
 */
import { bindings, type Kernel, perIndex, perSegment, u32, unravel } from "./wgsl.ts";

/** Shapes and attributes of one convolution. */
export interface ConvGeometry {
  /** Input `[N,Cin,H,W]`. */
  readonly x: readonly number[];
  /** Weights `[Cout,Cin/groups,KH,KW]`. */
  readonly w: readonly number[];
  /** Output `[N,Cout,Ho,Wo]`. */
  readonly y: readonly number[];
  /** `[sh, sw]`. */
  readonly stride: readonly [number, number];
  /** `[ph, pw]`. */
  readonly padding: readonly [number, number];
  /** `[dh, dw]`. */
  readonly dilation: readonly [number, number];
  /** Channel groups. */
  readonly groups: number;
}

/** `y[b,co,oh,ow] = Σ w[co,cg,i,j] · x[b, g·Cin/G + cg, oh·sh − ph + i·dh, ow·sw − pw + j·dw]`. */
export function conv2dDirect(g: ConvGeometry): Kernel {
  const [n, cin, h, w] = g.x;
  const [cout, cinG, kh, kw] = g.w;
  const [, , ho, wo] = g.y;
  const coutG = cout / g.groups;
  const decls = bindings([["x", "f32"], ["wt", "f32"], ["y", "f32"]]);
  const body = `${unravel("i", [n, cout, ho, wo], "c")}
  let ci0 = (c1 / ${u32(coutG)}) * ${u32(cinG)};
  var acc = 0.0f;
  for (var cg = 0u; cg < ${u32(cinG)}; cg = cg + 1u) {
    let xPlane = (c0 * ${u32(cin)} + ci0 + cg) * ${u32(h * w)};
    let wBase = (c1 * ${u32(cinG)} + cg) * ${u32(kh * kw)};
    for (var ki = 0; ki < ${kh}; ki = ki + 1) {
      let ih = i32(c2) * ${g.stride[0]} - ${g.padding[0]} + ki * ${g.dilation[0]};
      if (ih < 0 || ih >= ${h}) { continue; }
      for (var kj = 0; kj < ${kw}; kj = kj + 1) {
        let iw = i32(c3) * ${g.stride[1]} - ${g.padding[1]} + kj * ${g.dilation[1]};
        if (iw < 0 || iw >= ${w}) { continue; }
        acc = acc + wt[wBase + u32(ki * ${kw} + kj)] * x[xPlane + u32(ih) * ${u32(w)} + u32(iw)];
      }
    }
  }
  y[i] = acc;`;
  return perIndex("conv2d", decls, n * cout * ho * wo, body);
}

/** The input gradient, gathered per input element over the outputs its taps reach. */
export function conv2dGradInputDirect(g: ConvGeometry): Kernel {
  const [n, cin, h, w] = g.x;
  const [cout, cinG, kh, kw] = g.w;
  const [, , ho, wo] = g.y;
  const coutG = cout / g.groups;
  const [sh, sw] = g.stride;
  const decls = bindings([["dy", "f32"], ["wt", "f32"], ["dx", "f32"]]);
  const body = `${unravel("i", [n, cin, h, w], "c")}
  let grp = c1 / ${u32(cinG)};
  let cg = c1 % ${u32(cinG)};
  var acc = 0.0f;
  for (var co = grp * ${u32(coutG)}; co < (grp + 1u) * ${u32(coutG)}; co = co + 1u) {
    let yPlane = (c0 * ${u32(cout)} + co) * ${u32(ho * wo)};
    let wBase = (co * ${u32(cinG)} + cg) * ${u32(kh * kw)};
    for (var ki = 0; ki < ${kh}; ki = ki + 1) {
      let th = i32(c2) + ${g.padding[0]} - ki * ${g.dilation[0]};
      if (th < 0 || th % ${sh} != 0 || th / ${sh} >= ${ho}) { continue; }
      for (var kj = 0; kj < ${kw}; kj = kj + 1) {
        let tw = i32(c3) + ${g.padding[1]} - kj * ${g.dilation[1]};
        if (tw < 0 || tw % ${sw} != 0 || tw / ${sw} >= ${wo}) { continue; }
        let o = yPlane + u32(th / ${sh}) * ${u32(wo)} + u32(tw / ${sw});
        acc = acc + wt[wBase + u32(ki * ${kw} + kj)] * dy[o];
      }
    }
  }
  dx[i] = acc;`;
  return perIndex("conv2dGradInput", decls, n * cin * h * w, body);
}

/** The weight gradient: one workgroup per weight, its threads splitting `N·Ho·Wo`. */
export function conv2dGradWeightDirect(g: ConvGeometry): Kernel {
  const [n, cin, h, w] = g.x;
  const [cout, cinG, kh, kw] = g.w;
  const [, , ho, wo] = g.y;
  const coutG = cout / g.groups;
  const decls = bindings([["x", "f32"], ["dy", "f32"], ["dw", "f32"]]);
  const body = `${unravel("seg", [cout, cinG, kh, kw], "c")}
  let ci = (c0 / ${u32(coutG)}) * ${u32(cinG)} + c1;
  let dh = i32(c2) * ${g.dilation[0]} - ${g.padding[0]};
  let dwo = i32(c3) * ${g.dilation[1]} - ${g.padding[1]};
  var acc = 0.0f;
  for (var j = lid; j < ${u32(n * ho * wo)}; j = j + SIZE) {
    let ow = j % ${u32(wo)};
    let oh = (j / ${u32(wo)}) % ${u32(ho)};
    let b = j / ${u32(ho * wo)};
    let ih = i32(oh) * ${g.stride[0]} + dh;
    let iw = i32(ow) * ${g.stride[1]} + dwo;
    if (ih >= 0 && ih < ${h} && iw >= 0 && iw < ${w}) {
      let xv = x[((b * ${u32(cin)} + ci) * ${u32(h)} + u32(ih)) * ${u32(w)} + u32(iw)];
      acc = acc + xv * dy[((b * ${u32(cout)} + c0) * ${u32(ho)} + oh) * ${u32(wo)} + ow];
    }
  }
  let total = wgSum(acc, lid);
  if (lid == 0u) { dw[seg] = total; }`;
  return perSegment("conv2dGradWeight", decls, cout * cinG * kh * kw, n * ho * wo, body);
}

/**
 * Forward convolution with a 4×4 register block per thread: 4 output
 * channels (one `vec4`) × 4 adjacent output columns, so each weight and
 * input load feeds four multiply-adds. Needs `Cout/groups` divisible by 4.
 */
export function conv2dBlocked(g: ConvGeometry): Kernel {
  const [n, cin, h, w] = g.x;
  const [cout, cinG, kh, kw] = g.w;
  const [, , ho, wo] = g.y;
  const coutG = cout / g.groups;
  if (coutG % 4 !== 0) return conv2dDirect(g);
  const wob = Math.ceil(wo / 4);
  const taps = kh * kw;
  const decls = bindings([["x", "f32"], ["wt", "f32"], ["y", "f32"]]);
  const cols = [0, 1, 2, 3];
  const body = `${unravel("i", [n, cout / 4, ho, wob], "c")}
  let co0 = c1 * 4u;
  let ci0 = (co0 / ${u32(coutG)}) * ${u32(cinG)};
  let ow0 = i32(c3) * 4;
${cols.map((t) => `  var acc${t} = vec4<f32>(0.0f);`).join("\n")}
  for (var cg = 0u; cg < ${u32(cinG)}; cg = cg + 1u) {
    let xPlane = (c0 * ${u32(cin)} + ci0 + cg) * ${u32(h * w)};
    let wBase = (co0 * ${u32(cinG)} + cg) * ${u32(taps)};
    for (var ki = 0; ki < ${kh}; ki = ki + 1) {
      let ih = i32(c2) * ${g.stride[0]} - ${g.padding[0]} + ki * ${g.dilation[0]};
      if (ih < 0 || ih >= ${h}) { continue; }
      let xRow = xPlane + u32(ih) * ${u32(w)};
      for (var kj = 0; kj < ${kw}; kj = kj + 1) {
        let tap = wBase + u32(ki * ${kw} + kj);
        let wv = vec4<f32>(wt[tap], wt[tap + ${u32(cinG * taps)}], wt[tap + ${
    u32(2 * cinG * taps)
  }], wt[tap + ${u32(3 * cinG * taps)}]);
${
    cols.map((t) =>
      `        {
          let iw = (ow0 + ${t}) * ${g.stride[1]} - ${g.padding[1]} + kj * ${g.dilation[1]};
          let inside = iw >= 0 && iw < ${w};
          let xv = x[xRow + u32(clamp(iw, 0, ${w - 1}))];
          acc${t} = acc${t} + select(0.0f, xv, inside) * wv;
        }`
    ).join("\n")
  }
      }
    }
  }
  let yBase = ((c0 * ${u32(cout)} + co0) * ${u32(ho)} + c2) * ${u32(wo)};
${
    cols.map((t) =>
      `  if (ow0 + ${t} < ${wo}) {
    let o = yBase + u32(ow0 + ${t});
    y[o] = acc${t}.x;
    y[o + ${u32(ho * wo)}] = acc${t}.y;
    y[o + ${u32(2 * ho * wo)}] = acc${t}.z;
    y[o + ${u32(3 * ho * wo)}] = acc${t}.w;
  }`
    ).join("\n")
  }`;
  return perIndex("conv2dBlocked", decls, n * (cout / 4) * ho * wob, body);
}
