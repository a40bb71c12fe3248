/**
 * DA³ gating benchmarks, gated against ungated on the same CPU backend:
 *
 * - `gated-conv`: one 3×3 conv (64→64 channels, 8×8, and 16→16, 32×32)
 *   with ~40% of input and output channels closed: full reference conv vs
 *   compacted channel lists vs masks;
 * - `gated-resnet20`: one image through DA³ ResNet-20, ungated vs exact vs
 *   calibrated gating (every conv that skips nothing uses the same
 *   channel-list kernel; the reference conv kernel is timed too), with the
 *   committed fashion adaptor in `results/gating` when present, else seeded weights whose
 *   attention closes about half of the channels. The skipped-FLOP fraction
 *   is printed once per run.
 *
 * deno bench -A tests/gating_bench.ts
 */
import { conv2d, convGeometryOf, graph, input, param } from "../lib/graph/mod.ts";
import { evalNode } from "../lib/runtime/cpu/mod.ts";
import { initParams, rng } from "../lib/runtime/params.ts";
import type { ParamStore } from "../lib/runtime/data.ts";
import {
  backboneFlops,
  calibrateGates,
  convChannels,
  convMasked,
  da3Resnet20,
  loadAdapted,
  planGating,
  runGated,
} from "../lib/gating/mod.ts";

for (const [c, side] of [[64, 8], [16, 32]] as const) {
  const next = rng(c);
  const x = Float32Array.from({ length: c * side * side }, () => next() - 0.5);
  const w = Float32Array.from({ length: c * c * 9 }, () => next() - 0.5);
  const inOpen = Uint8Array.from({ length: c }, (_, i) => (i % 5 < 3 ? 1 : 0));
  const outOpen = Uint8Array.from({ length: c }, (_, i) => (i % 5 !== 1 && i % 5 !== 3 ? 1 : 0));
  x.forEach((_, i) => {
    if (!inOpen[Math.floor(i / (side * side))]) x[i] = 0;
  });
  const ins = Int32Array.from([...inOpen.keys()].filter((i) => inOpen[i]));
  const outs = Int32Array.from([...outOpen.keys()].filter((o) => outOpen[o]));
  const node = conv2d(input("x", [1, c, side, side]), param("w", [c, c, 3, 3]), { padding: 1 });
  const g = convGeometryOf(node);
  const group = `gated-conv ${c}x${side}x${side}`;
  Deno.bench(`full conv ${c}→${c} ${side}²`, { group, baseline: true }, () => {
    evalNode(node, [x, w]);
  });
  Deno.bench(`compacted lists ${ins.length}→${outs.length} open`, { group }, () => {
    convChannels(g, x, w, ins, outs);
  });
  Deno.bench(`masks ${ins.length}→${outs.length} open`, { group }, () => {
    convMasked(g, x, w, inOpen, outOpen);
  });
}

const model = da3Resnet20(10);
let params: ParamStore;
let source: string;
try {
  ({ params } = await loadAdapted(
    "models/backbone.safetensors",
    "results/gating/da3-fashion.safetensors",
  ));
  source = "trained (results/gating, fashion)";
} catch {
  params = initParams(graph(model.logits), 0);
  const next = rng(1);
  for (const [name, v] of params) {
    if (name.endsWith("fc2.bias")) v.forEach((_, i) => (v[i] = next() < 0.5 ? -200 : 0));
  }
  source = "seeded (half of the attention biases at −200)";
}
const next = rng(2);
const images = Array.from(
  { length: 8 },
  () => Float32Array.from({ length: 3072 }, () => next() * 2 - 1),
);
const calibration = calibrateGates(model, params, Float32Array.from(images.flatMap((i) => [...i])));
const plans = {
  ungated: planGating(model, params, "off"),
  exact: planGating(model, params, "exact"),
  "tau=0.5": planGating(model, params, { tau: 0.5 }, { calibration }),
};
const backbone = backboneFlops(plans.ungated.graph).backbone;
const total = backboneFlops(plans.ungated.graph).total;
let r = 0;
Deno.bench("ResNet-20 DA³ ungated, reference conv kernel", { group: "gated-resnet20" }, () => {
  runGated(plans.ungated, params, images[r++ % images.length]);
});
for (const [name, plan] of Object.entries(plans)) {
  const f = images.reduce((s, x) => s + runGated(plan, params, x).flops, 0) / images.length;
  console.log(
    `${name} (${source}): backbone FLOPs skipped ${(100 * (total - f) / backbone).toFixed(1)}%`,
  );
  let k = 0;
  Deno.bench(
    `ResNet-20 DA³ ${name}`,
    { group: "gated-resnet20", baseline: name === "ungated" },
    () => {
      runGated(plan, params, images[k++ % images.length]);
    },
  );
}
