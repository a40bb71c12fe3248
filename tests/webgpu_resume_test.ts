/**
 * Resuming on WebGPU with the optimizer on the device (the step's plan ends
 * in update ops that write parameters and optimizer state in place): a DA³
 * run of 2 epochs stopped after its first epoch's checkpoint, resumed by a
 * new runtime from that checkpoint and continued, equals the uninterrupted
 * run bit for bit (parameters and accuracy; an optimizer state or step
 * count restored wrong would show in the parameters the resumed steps
 * write), under Adam with a warm-up-then-cosine rate and under SGD.
 * Needs a WebGPU adapter (Mesa llvmpipe in CI).
 */
import assert from "node:assert/strict";
import type { Runtime } from "../lib/runtime/data.ts";
import { createWebGpuRuntime } from "../lib/runtime/webgpu/runtime.ts";
import { trainDomain } from "../lib/train/domain.ts";
import type { DomainJob } from "../lib/train/domain.ts";
import { job } from "./train_fixture.ts";

/** A progress callback that stops the run at the end of epoch `at`'s steps, before its checkpoint. */
function stopAt(at: number): (line: string, final: boolean) => void {
  return (line, final) => {
    if (final && line.includes(`epoch ${at}/`)) throw new Error(`stopped in epoch ${at}`);
  };
}

/** `rt` counting the steps whose plan applies the optimizer's updates on the device. */
function counting(rt: Runtime, steps: { n: number }): Runtime {
  return {
    name: rt.name,
    target: rt.target,
    prepare: (plan) => rt.prepare(plan),
    release: (plan) => rt.release(plan),
    execute(plan, feeds) {
      if (plan.values.some((v) => v.category === "update")) steps.n++;
      return rt.execute(plan, feeds);
    },
    readParams: (names, params) => rt.readParams(names, params),
  };
}

/** Runs `over` on a fresh WebGPU runtime; returns the result (or the error) and its device steps. */
async function onGpu(out: string, over: Partial<DomainJob>) {
  const gpu = await createWebGpuRuntime();
  const steps = { n: 0 };
  try {
    const r = await trainDomain(job(out, { ...over, runtime: counting(gpu, steps) }));
    return { r, steps: steps.n };
  } finally {
    gpu.destroy();
  }
}

const CASES: readonly Partial<DomainJob>[] = [
  { optimizer: "adam", schedule: { kind: "cosine", warmup: 1 } },
  { optimizer: "sgd", lr: 0.05 },
];

for (const over of CASES) {
  Deno.test({
    name:
      `WebGPU, ${over.optimizer} on the device: stopped after epoch 1, resumed, equals the straight run bit for bit`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const [a, b] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
      try {
        const straight = await onGpu(a, { ...over, epochs: 2 });
        // 8 examples, batch 4: 2 steps per epoch, every one on the device.
        assert.equal(straight.steps, 4);
        await assert.rejects(
          () => onGpu(b, { ...over, epochs: 2, progress: stopAt(2) }),
          /stopped in epoch 2/,
        );
        const resumed = await onGpu(b, { ...over, epochs: 2, resume: true });
        assert.equal(resumed.steps, 2, "the resumed run runs epoch 2 from epoch 1's checkpoint");
        assert.deepEqual([...resumed.r.params.keys()], [...straight.r.params.keys()]);
        for (const [k, v] of straight.r.params) {
          const w = resumed.r.params.get(k)!;
          assert.ok(w.length === v.length && w.every((x, i) => Object.is(x, v[i])), k);
        }
        assert.equal(resumed.r.top1, straight.r.top1);
        const head = straight.r.params.get("fc.weight")!;
        assert.ok(head.some((x) => x !== 0), "the head trained");
      } finally {
        await Deno.remove(a, { recursive: true });
        await Deno.remove(b, { recursive: true });
      }
    },
  });
}
