/**
 * FLOP accounting of training graphs: autodiff adds a weight gradient only
 * for trainable convs and an input gradient only where something trainable
 * lies upstream, and the step's conv FLOPs say so exactly.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { conv2d, grad, graph, input, mean, param, relu } from "../mod.ts";
import { graphFlops, nodeFlops } from "../lib/graph/mod.ts";
import { methodGraphs } from "../lib/train/domain.ts";

Deno.test("a step costs F₁+F₂ forward, one gradient per trainable weight, one input gradient per conv with trainable upstream", () => {
  fc.assert(
    fc.property(
      fc.record({
        n: fc.integer({ min: 1, max: 3 }),
        c: fc.integer({ min: 1, max: 4 }),
        hidden: fc.integer({ min: 1, max: 4 }),
        out: fc.integer({ min: 1, max: 4 }),
        size: fc.integer({ min: 3, max: 7 }),
        k: fc.constantFrom(1, 3),
        stride: fc.constantFrom(1, 2),
        secondTrainable: fc.boolean(),
      }),
      (p) => {
        const x = input("x", [p.n, p.c, p.size, p.size]);
        const w1 = param("w1", [p.hidden, p.c, p.k, p.k]);
        const w2 = param("w2", [p.out, p.hidden, 3, 3], { trainable: p.secondTrainable });
        const h = conv2d(x, w1, { padding: (p.k - 1) / 2 });
        const y = conv2d(relu(h), w2, { stride: p.stride, padding: 1 });
        const f1 = nodeFlops(h), f2 = nodeFlops(y);
        assert.equal(graphFlops(graph(y)), f1 + f2);
        // conv1: forward + weight grad (x needs none); conv2: forward + input grad (+ weight grad).
        const expected = 2 * f1 + 2 * f2 + (p.secondTrainable ? f2 : 0);
        assert.equal(graphFlops(grad(mean(y)).graph), expected);
      },
    ),
    { numRuns: 200 },
  );
});

/** Forward FLOPs of the frozen-backbone convs of a method's training graph, and the stem's. */
function backboneForward(method: "finetune" | "da3") {
  const nodes = methodGraphs(method, 10, 8).train.graph.nodes;
  const convs = nodes.filter((n) =>
    (n.op === "conv2d" || n.op === "conv2dBn") && !String(n.inputs[1].attrs.name).includes(".da3.")
  );
  const stem = convs.find((n) => n.inputs[0].op === "input");
  assert.ok(stem, "the stem conv reads the input");
  return { nodes, forward: convs.reduce((s, n) => s + nodeFlops(n), 0), stem: nodeFlops(stem) };
}

Deno.test("ResNet-20: fine-tuning costs 3× the forward convs less the stem's input gradient; DA³ under 2×", () => {
  const ft = backboneForward("finetune");
  const ftConvs = ft.nodes.filter((n) => n.op.startsWith("conv2d")).reduce(
    (s, n) => s + nodeFlops(n),
    0,
  );
  assert.equal(ftConvs, 3 * ft.forward - ft.stem);
  const da3 = backboneForward("da3");
  assert.equal(da3.forward, ft.forward);
  const gradWeights = da3.nodes.filter((n) => n.op === "conv2dGradWeight");
  assert.equal(gradWeights.length, 0, "DA³ computes no conv weight gradient");
  const da3Convs = da3.nodes.filter((n) => n.op.startsWith("conv2d")).reduce(
    (s, n) => s + nodeFlops(n),
    0,
  );
  assert.ok(da3Convs < 2 * da3.forward - da3.stem, `${da3Convs} vs ${2 * da3.forward}`);
  assert.ok(
    da3Convs / ftConvs > 0.5,
    "every block's adaptor needs input gradients through the blocks after it",
  );
});

Deno.test("DA³ on the last stage only: no input gradient reaches layer2, and the step is under half fine-tuning's FLOPs", () => {
  const g = methodGraphs("da3", 10, 8, { da3: { stages: [3] } }).train.graph;
  const gradInputs = g.nodes.filter((n) => n.op === "conv2dGradInput");
  assert.ok(gradInputs.length > 0);
  for (const n of gradInputs) {
    const w = String(n.inputs[1].attrs.name);
    assert.ok(w.startsWith("layer3.") && !w.startsWith("layer3.0.conv1"), w);
    assert.ok(!w.includes("downsample"), w);
  }
  const ft = graphFlops(methodGraphs("finetune", 10, 8).train.graph);
  const every = graphFlops(methodGraphs("da3", 10, 8).train.graph);
  assert.ok(graphFlops(g) < 0.5 * ft && every > 0.6 * ft, `${graphFlops(g)} ${every} ${ft}`);
});
