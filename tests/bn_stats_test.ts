/** Running statistics recalibration for batch-statistics batch norms. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { batchNorm, executeCpu, graph, initParams, input, param, type Tensor } from "../mod.ts";
import { conv2d, relu, withBatchNorms } from "../lib/graph/mod.ts";
import { bnProbe, domainBnProbe, setRunningStats } from "../lib/train/bn_stats.ts";

function net(mode: "eval" | "batch"): Tensor {
  const x = input("x", [4, 3, 5, 5]);
  return batchNorm(x, {
    gamma: param("g", [3], { init: { uniform: [0.5, 2] } }),
    beta: param("b", [3], { init: { normal: 1 } }),
    mean: param("m", [3], { trainable: false, init: { constant: 9 } }),
    variance: param("v", [3], { trainable: false, init: { constant: 9 } }),
  }, { mode });
}

Deno.test("eval mode with recalibrated stats reproduces batch mode on that batch", () => {
  const train = net("batch");
  const params = initParams(graph(train), 3);
  const x = Float32Array.from({ length: 300 }, (_, i) => Math.sin(i) * 3 + (i % 7));
  const feeds = { inputs: { x }, params };
  const probe = bnProbe([train]);
  assert.equal(probe.norms.length, 1);
  setRunningStats(probe, [executeCpu(probe.probe, feeds)], params);
  assert.notDeepEqual([...params.get("m")!], [9, 9, 9]);
  const [batch] = executeCpu(graph(train), feeds);
  const [evalOut] = executeCpu(graph(net("eval")), feeds);
  batch.forEach((v, i) =>
    assert.ok(Math.abs(v - evalOut[i]) < 1e-4, `${i}: ${v} vs ${evalOut[i]}`)
  );
});

/** Two frozen eval-mode BNs with a ReLU and a conv between them (stats far from the data's). */
function stack(x: Tensor): Tensor {
  const stats = (name: string, c: number) => ({
    mean: param(`${name}.m`, [c], { trainable: false, init: { constant: 5 } }),
    variance: param(`${name}.v`, [c], { trainable: false, init: { constant: 0.1 } }),
  });
  const bn = (t: Tensor, name: string) =>
    batchNorm(t, {
      gamma: param(`${name}.g`, [t.shape[1]], { init: { uniform: [0.5, 2] } }),
      beta: param(`${name}.b`, [t.shape[1]], { init: { normal: 1 } }),
      ...stats(name, t.shape[1]),
    });
  const w = param("conv.w", [4, 3, 3, 3], { init: "he" });
  return bn(conv2d(relu(bn(x, "bn1")), w, { padding: 1 }), "bn2");
}

Deno.test("per-domain statistics from a training-mode pass make eval mode reproduce it, layer after layer", () => {
  fc.assert(
    fc.property(
      fc.float32Array({ minLength: 324, maxLength: 324, noNaN: true, min: -4, max: 4 }),
      fc.float({ min: -3, max: 3, noNaN: true }),
      (raw, shift) => {
        const x = input("x", [3, 3, 6, 6]);
        const out = stack(x);
        const params = initParams(graph(out), 7);
        const data = Float32Array.from(raw, (v, i) => v + shift + (i % 5));
        const feeds = { inputs: { x: data }, params };
        const probe = domainBnProbe([out]);
        assert.equal(probe.norms.length, 2);
        setRunningStats(probe, [executeCpu(probe.probe, feeds)], params);
        const [training] = executeCpu(graph(...withBatchNorms([out])), feeds);
        const [evaluated] = executeCpu(graph(out), feeds);
        training.forEach((v, i) =>
          assert.ok(
            Math.abs(v - evaluated[i]) < 2e-3 * (1 + Math.abs(v)),
            `${i}: ${v} vs ${evaluated[i]}`,
          )
        );
      },
    ),
    { numRuns: 25 },
  );
});
