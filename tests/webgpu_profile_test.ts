/** Per-op GPU profiles: accumulation is exact, and a profiled runtime times every op it runs. */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  addExecution,
  createWebGpuRuntime,
  type OpProfile,
  totalsByOp,
} from "../lib/runtime/webgpu/mod.ts";
import { graph, input, relu, runGraph } from "../mod.ts";
import { scale } from "../lib/graph/mod.ts";

Deno.test("addExecution sums each op's end − start ticks and counts its calls", () => {
  const x = input("x", [2, 3]);
  const nodes = [relu(x), scale(x, 2), relu(x)];
  fc.assert(
    fc.property(
      fc.array(
        fc.array(
          fc.tuple(fc.bigInt({ min: 0n, max: 1n << 40n }), fc.bigInt({ min: 0n, max: 1n << 30n })),
          {
            minLength: 3,
            maxLength: 3,
          },
        ),
        { minLength: 1, maxLength: 4 },
      ),
      (executions) => {
        const into = new Map<string, OpProfile>();
        for (const ticks of executions) {
          addExecution(into, nodes, BigUint64Array.from(ticks.flatMap(([s, d]) => [s, s + d])));
        }
        const expected = (k: number[]) =>
          executions.reduce((sum, t) => sum + k.reduce((a, i) => a + Number(t[i][1]) / 1e6, 0), 0);
        const byOp = new Map(totalsByOp(into.values()).map((o) => [o.op, o.ms]));
        assert.ok(Math.abs(byOp.get("relu")! - expected([0, 2])) <= 1e-6 * (1 + expected([0, 2])));
        assert.ok(Math.abs(byOp.get("scale")! - expected([1])) <= 1e-6 * (1 + expected([1])));
        const reluEntry = [...into.values()].find((p) => p.op === "relu")!;
        assert.equal(reluEntry.calls, 2 * executions.length);
        assert.deepEqual(reluEntry.inputs, [[2, 3]]);
      },
    ),
  );
});

Deno.test({
  name: "a profiled WebGPU runtime times every op of each execution; reset clears it",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const rt = await createWebGpuRuntime({ profile: true });
    const x = input("x", [4, 8]);
    const g = graph(scale(relu(x), 3));
    const feeds = {
      inputs: { x: Float32Array.from({ length: 32 }, (_, i) => i - 16) },
      params: new Map(),
    };
    const [y] = await runGraph(rt, g, feeds);
    await runGraph(rt, g, feeds);
    assert.equal(y[20], 12);
    const profile = rt.profile();
    assert.deepEqual(profile.map((p) => p.op).sort(), ["relu", "scale"]);
    for (const p of profile) {
      assert.equal(p.calls, 2);
      assert.ok(p.ms >= 0 && Number.isFinite(p.ms));
    }
    rt.resetProfile();
    assert.deepEqual(rt.profile(), []);
    rt.destroy();
  },
});
