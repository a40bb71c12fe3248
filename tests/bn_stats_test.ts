/** Running statistics recalibration for batch-statistics batch norms. */
import assert from "node:assert/strict";
import { batchNorm, executeCpu, graph, initParams, input, param, type Tensor } from "../mod.ts";
import { bnProbe, setRunningStats } from "../lib/train/bn_stats.ts";

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
