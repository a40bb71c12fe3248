/**
 * Training DA³ adaptors for sparse gates: the penalty costs no activation
 * memory, its bounds are the frozen peaks, its weights are the FLOPs a
 * closed channel saves, and it is rejected for other methods.
 */
import assert from "node:assert/strict";
import { cpuRuntime, graph, initParams } from "../mod.ts";
import { findGatedPairs } from "../lib/gating/structure.ts";
import { methodGraphs } from "../lib/train/domain.ts";
import { channelCost, fitGateBounds, gateBoundName } from "../lib/gating/sparsity.ts";
import { resnet20 } from "../lib/models/mod.ts";
import { da3 } from "../lib/adapt/mod.ts";
import { executeCpu } from "../lib/runtime/cpu/mod.ts";
import { ConfigError, parseTrainConfig } from "../lib/train/config.ts";
import { mulberry32 as rng } from "../lib/rng.ts";

Deno.test("the gate-sparsity penalty adds at most a few bits per gated channel to the saved set", () => {
  const plain = methodGraphs("da3", 10, 4);
  const sparse = methodGraphs("da3", 10, 4, { gateSparsity: 0.5 });
  assert.equal(plain.gated.length, 0);
  assert.equal(sparse.gated.length, 9);
  const channels = sparse.gated.reduce((s, p) => s + p.pair.outChannels, 0);
  const extra = sparse.train.savedBytes - plain.train.savedBytes;
  assert.ok(extra > 0 && extra <= 4 * channels * 4, `extra saved bytes ${extra}`);
  assert.ok(sparse.train.graph.nodes.some((n) => n.op === "param" && n.attrs.trainable === false));
});

Deno.test("a closed channel of a ResNet-20 layer1 pair saves its conv's output and conv2's input", () => {
  const model = resnet20({ adaptor: da3().adaptor, classes: 10, batch: 1 });
  const [first] = findGatedPairs(model, graph(model.logits));
  // 16 input channels × 9 taps × 32² positions, twice (conv1's output, conv2's input).
  assert.equal(channelCost(first), 2 * 16 * 9 * 32 * 32);
});

Deno.test("gate bounds are the largest frozen bn(conv(x)) per channel over the fitting images", async () => {
  const g = methodGraphs("da3", 10, 2, { gateSparsity: 1 });
  const params = initParams(g.train.graph, 5);
  const next = rng(9);
  const images = [0, 1].map(() => Float32Array.from({ length: 2 * 3072 }, () => next() * 2 - 1));
  await fitGateBounds(cpuRuntime, g.gated, images, params);
  const probe = graph(...g.gated.map((p) => p.bn));
  const outs = images.map((x) => executeCpu(probe, { inputs: { x }, params }));
  g.gated.forEach((p, k) => {
    const c = p.pair.outChannels, bound = params.get(gateBoundName(p))!;
    assert.equal(bound.length, c);
    for (let ch = 0; ch < c; ch++) {
      let peak = 0;
      for (const out of outs) {
        const v = out[k] as Float32Array, plane = v.length / (2 * c);
        for (let i = 0; i < v.length; i++) {
          if (Math.floor(i / plane) % c === ch) peak = Math.max(peak, v[i]);
        }
      }
      assert.equal(bound[ch], Math.fround(peak));
    }
  });
});

Deno.test("gate sparsity with a method other than da3 names the field", () => {
  assert.throws(
    () => parseTrainConfig({ method: ["finetune"], gateSparsity: 0.1 }),
    (e: unknown) => e instanceof ConfigError && e.message.includes("gateSparsity"),
  );
  assert.equal(parseTrainConfig({ method: ["da3"], gateSparsity: 0.1 }).gateSparsity, 0.1);
});
